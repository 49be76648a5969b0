// The whole top-level statement under the cursor, found as Python finds it: its start is
// the nearest line above that begins at column 0 (decorators included), and its end the
// first line after which `compile` says the code is complete and the next code line
// starts a new statement.
import type { CompileStatus } from '../protocol/wire';

export type Compile = (code: string) => Promise<CompileStatus>;

export interface StatementRange {
  /** 0-based first and last line of the statement. */
  first: number;
  last: number;
  /** The next line with code after it (where the cursor goes), or lines.length. */
  next: number;
  status: CompileStatus;
}

const CLAUSE = /^(else|elif|except|finally|case)\b|^[)\]}]/;

function isCode(line: string): boolean {
  const t = line.trim();
  return t !== '' && !t.startsWith('#');
}

function startsStatement(line: string): boolean {
  return isCode(line) && !/^\s/.test(line) && !CLAUSE.test(line);
}

export function nextCodeLine(lines: readonly string[], from: number): number {
  let i = from;
  while (i < lines.length && !isCode(lines[i])) i++;
  return i;
}

export async function findStatement(
  lines: readonly string[],
  cursor: number,
  compile: Compile,
): Promise<StatementRange | undefined> {
  const line = nextCodeLine(lines, cursor);
  if (line >= lines.length) return undefined;
  let first = line;
  while (first > 0 && !startsStatement(lines[first])) first--;
  if (!startsStatement(lines[first])) first = line;
  // A line at column 0 may still continue a statement above it (a bracket closed there,
  // a string's lines): when the code from here is invalid, an earlier start may be right.
  let found: StatementRange | undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    const range = await grow(lines, first, line, compile);
    found ??= range;
    if (range.status !== 'invalid') return range;
    do first--;
    while (first >= 0 && !startsStatement(lines[first]));
    if (first < 0) break;
  }
  return found;
}

async function grow(lines: readonly string[], start: number, line: number, compile: Compile): Promise<StatementRange> {
  let first = start;
  while (first > 0 && /^@/.test(lines[first - 1])) first--;
  let status: CompileStatus = 'incomplete';
  for (let last = line; last < lines.length; last++) {
    if (!isCode(lines[last])) continue;
    const next = nextCodeLine(lines, last + 1);
    if (next < lines.length && !startsStatement(lines[next])) continue;
    status = await compile(lines.slice(first, last + 1).join('\n'));
    if (status !== 'incomplete') return { first, last, next, status };
  }
  let last = lines.length - 1;
  while (last > first && !isCode(lines[last])) last--;
  return { first, last, next: lines.length, status };
}
