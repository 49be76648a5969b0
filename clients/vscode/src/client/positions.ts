// Offsets into code in the daemon's unit (revision 1 lets the client choose UTF-16, VS
// Code's unit; revision 0 counts code points) and back.
import type { PositionEncoding } from '../protocol/wire';

const encoder = new TextEncoder();

/** A UTF-16 offset of `text` in `encoding`'s unit. */
export function toDaemonOffset(text: string, utf16: number, encoding: PositionEncoding): number {
  if (encoding === 'utf-16') return utf16;
  const head = text.slice(0, utf16);
  if (encoding === 'utf-8') return encoder.encode(head).length;
  let n = 0;
  for (const _ of head) n++;
  return n;
}

/** An offset of `text` in `encoding`'s unit as a UTF-16 offset. */
export function fromDaemonOffset(text: string, offset: number, encoding: PositionEncoding): number {
  if (encoding === 'utf-16') return offset;
  let units = 0;
  let count = 0;
  for (const ch of text) {
    if (count >= offset) break;
    count += encoding === 'utf-8' ? encoder.encode(ch).length : 1;
    units += ch.length;
  }
  return units;
}
