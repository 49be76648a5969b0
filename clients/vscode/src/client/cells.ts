// `# %%` cells of a Python file, as Jupyter, Spyder and VS Code's Python tools mark them.

export interface CodeCell {
  /** 0-based line of the `# %%` marker, or -1 for the code before the first marker. */
  markerLine: number;
  /** 0-based first and last line of the cell's body (last < first for an empty body). */
  firstLine: number;
  lastLine: number;
  title: string;
}

const MARKER = /^#\s*%%(.*)$/;

export function isCellMarker(line: string): boolean {
  return MARKER.test(line.trimEnd());
}

/** The cells of a file; the lines before the first marker are a cell only if it has code. */
export function parseCells(lines: readonly string[]): CodeCell[] {
  const cells: CodeCell[] = [];
  let marker = -1;
  let title = '';
  const close = (end: number) => {
    const cell = { markerLine: marker, firstLine: marker + 1, lastLine: end, title };
    if (marker >= 0 || lines.slice(0, end + 1).some((l) => l.trim() !== '')) cells.push(cell);
  };
  for (let i = 0; i < lines.length; i++) {
    const match = MARKER.exec(lines[i].trimEnd());
    if (!match) continue;
    close(i - 1);
    marker = i;
    title = match[1].trim();
  }
  close(lines.length - 1);
  return cells;
}

/** The cell holding `line` (a marker line belongs to the cell it opens). */
export function cellAt(cells: readonly CodeCell[], line: number): CodeCell | undefined {
  for (let i = cells.length - 1; i >= 0; i--) {
    const c = cells[i];
    if (line >= Math.max(c.markerLine, 0) && line <= Math.max(c.lastLine, c.markerLine)) return c;
  }
  return undefined;
}

/** The body of a cell without trailing blank lines: code and its 0-based first line. */
export function cellCode(lines: readonly string[], cell: CodeCell): { code: string; firstLine: number } {
  let last = cell.lastLine;
  while (last >= cell.firstLine && lines[last].trim() === '') last--;
  return { code: lines.slice(cell.firstLine, last + 1).join('\n'), firstLine: cell.firstLine };
}
