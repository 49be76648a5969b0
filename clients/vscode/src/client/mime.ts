// A MimeBundle as notebook output items: what VS Code's renderers take, richest first.
import type { MimeBundle } from '../protocol/wire';

export interface OutputItemData {
  mime: string;
  data: Uint8Array;
}

const BINARY = /^image\/(png|jpeg|gif|webp|bmp)$/;
const JSON_TYPE = /^application\/(.+\+)?json$/;
// The richest first; what is not listed keeps the bundle's order, text/plain comes last.
const ORDER = [
  'application/vnd.jupyter.widget-view+json',
  'application/javascript',
  'text/html',
  'image/svg+xml',
  'image/png',
  'image/jpeg',
  'image/gif',
  'text/markdown',
  'text/latex',
  'application/json',
];

function rank(mime: string): number {
  const i = ORDER.indexOf(mime);
  if (mime === 'text/plain') return ORDER.length + 2;
  return i < 0 ? ORDER.length + 1 : i;
}

const encoder = new TextEncoder();

/** The items of one bundle. text/latex gets a text/markdown twin (math in `$$`) when the
 *  bundle has no Markdown, since VS Code renders math in Markdown but has no LaTeX renderer. */
export function bundleItems(bundle: MimeBundle): OutputItemData[] {
  const items: OutputItemData[] = [];
  for (const [mime, value] of Object.entries(bundle)) {
    if (value === undefined) continue;
    if (BINARY.test(mime) && typeof value === 'string') {
      items.push({ mime, data: Buffer.from(value, 'base64') });
    } else if (JSON_TYPE.test(mime)) {
      items.push({ mime, data: encoder.encode(JSON.stringify(value)) });
    } else {
      items.push({ mime, data: encoder.encode(typeof value === 'string' ? value : JSON.stringify(value)) });
    }
  }
  const latex = bundle['text/latex'];
  if (typeof latex === 'string' && !('text/markdown' in bundle)) {
    const math = /^\s*\$/.test(latex) ? latex : `$$${latex}$$`;
    items.push({ mime: 'text/markdown', data: encoder.encode(math) });
  }
  return items.sort((a, b) => rank(a.mime) - rank(b.mime));
}

/** The first line of a bundle's text/plain, cut to `max` characters. */
export function oneLine(bundle: MimeBundle | undefined, max = 80): string | undefined {
  const text = bundle?.['text/plain'];
  if (typeof text !== 'string') return undefined;
  const lines = text.split('\n');
  let line = lines[0];
  if (lines.length > 1) line += ' …';
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}
