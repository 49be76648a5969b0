// Output text as a terminal would show it, kept whole, shown by its last lines, and
// flushed to the screen in batches: a run that prints 200,000 lines costs the window a
// few dozen updates, and nothing is lost.

/**
 * The text of one stream of one cell. `\r` returns to the start of the line, so the
 * next text replaces that line (progress bars redraw in place); `\r\n` is a newline.
 * ANSI escape sequences are kept as they are: the renderer colours them.
 */
export class StreamText {
  private readonly lines: string[] = [];
  private current = '';
  /** A `\r` ended the last chunk: a `\n` next makes a newline, anything else a redraw. */
  private pendingCR = false;
  private chars = 0;

  append(text: string): void {
    let i = 0;
    if (this.pendingCR && text.length > 0) {
      this.pendingCR = false;
      if (text[0] === '\n') {
        this.newline();
        i = 1;
      } else {
        this.current = '';
      }
    }
    const n = text.length;
    while (i < n) {
      const nl = text.indexOf('\n', i);
      const cr = text.indexOf('\r', i);
      let stop = nl < 0 ? n : nl;
      if (cr >= 0 && cr < stop) stop = cr;
      if (stop > i) this.current += text.slice(i, stop);
      if (stop >= n) break;
      if (text[stop] === '\n') {
        this.newline();
        i = stop + 1;
      } else if (stop + 1 >= n) {
        this.pendingCR = true;
        i = n;
      } else if (text[stop + 1] === '\n') {
        this.newline();
        i = stop + 2;
      } else {
        this.current = '';
        i = stop + 1;
      }
    }
  }

  private newline() {
    this.chars += this.current.length + 1;
    this.lines.push(this.current);
    this.current = '';
  }

  /** Lines so far, the unfinished last one included when it has text. */
  get lineCount(): number {
    return this.lines.length + (this.current.length > 0 ? 1 : 0);
  }

  get length(): number {
    return this.chars + this.current.length;
  }

  get isEmpty(): boolean {
    return this.lines.length === 0 && this.current.length === 0;
  }

  /** The whole text. */
  text(): string {
    return this.lines.length === 0 ? this.current : this.lines.join('\n') + '\n' + this.current;
  }

  /** The last `maxLines` lines and how many came before them. */
  tail(maxLines: number): { text: string; hidden: number } {
    const total = this.lineCount;
    if (total <= maxLines) return { text: this.text(), hidden: 0 };
    const fromCurrent = this.current.length > 0 ? 1 : 0;
    const fromLines = maxLines - fromCurrent;
    const start = this.lines.length - fromLines;
    const body = this.lines.slice(start).join('\n');
    const text = fromCurrent ? (fromLines > 0 ? body + '\n' : '') + this.current : body + '\n';
    return { text, hidden: total - maxLines };
  }

  clear(): void {
    this.lines.length = 0;
    this.current = '';
    this.pendingCR = false;
    this.chars = 0;
  }
}

/**
 * Calls `flush` soon after `request()`, then at most once per `intervalMs` while requests
 * keep coming: the first output shows at once, a flood becomes a few updates a second.
 */
export class Throttle {
  private timer?: ReturnType<typeof setTimeout>;
  private last = 0;
  private disposed = false;
  constructor(
    private readonly flush: () => void,
    private readonly intervalMs = 100,
  ) {}

  request(): void {
    if (this.timer || this.disposed) return;
    const wait = Math.max(0, this.last + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.run(), wait);
  }

  /** Runs a pending flush now. */
  now(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.run();
    }
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  private run() {
    this.timer = undefined;
    this.last = Date.now();
    this.flush();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
