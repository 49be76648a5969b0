// Writes one run into one notebook cell: streams in batches (last lines shown, the whole
// text kept), displays that update in place, clear_output, errors, the result. Output
// that comes after the run answered (a task it started) is written through a short
// execution of its own, so it lands in the same cell, live.
import * as vscode from 'vscode';
import type { Run, RunSink } from './client/runs';
import { StreamText, Throttle } from './client/outputText';
import { bundleItems } from './client/mime';
import type { DisplayParams, ErrorInfo, MimeBundle, Stream } from './protocol/wire';

interface StreamBlock {
  kind: 'stream';
  stream: Stream;
  text: StreamText;
  output?: vscode.NotebookCellOutput;
  dirty: boolean;
}
interface OutputBlock {
  kind: 'output';
  output: vscode.NotebookCellOutput;
  displayId?: string;
}
type Block = StreamBlock | OutputBlock;

export interface CellWriterOptions {
  controller: vscode.NotebookController;
  /** Lines of a stream a cell shows; the rest is a click away. */
  maxLines: number;
  flushMs: number;
  log: (line: string) => void;
}

export function toItems(bundle: MimeBundle): vscode.NotebookCellOutputItem[] {
  return bundleItems(bundle).map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime));
}

export function errorOutput(error: ErrorInfo): vscode.NotebookCellOutput {
  const stack = error.formatted.replace(/\n$/, '');
  return new vscode.NotebookCellOutput([
    vscode.NotebookCellOutputItem.error({ name: error.type, message: error.message, stack }),
  ]);
}

/** Every writer by cell, for commands on a cell (its whole output). */
const writers = new WeakMap<vscode.NotebookCell, CellWriter>();
export function writerOf(cell: vscode.NotebookCell): CellWriter | undefined {
  return writers.get(cell);
}
const changed = new vscode.EventEmitter<void>();
let lastTruncated: WeakRef<CellWriter> | undefined;
/** The latest writer whose cell shows only the last lines of its output. */
export function lastTruncatedWriter(): CellWriter | undefined {
  return lastTruncated?.deref();
}
/** A cell's hidden line count changed (for its status bar item). */
export const onDidChangeHidden = changed.event;

export class CellWriter implements RunSink {
  private execution?: vscode.NotebookCellExecution;
  /** The run's own execution has ended: later output needs a short one. */
  private ended = false;
  private lateTimer?: ReturnType<typeof setTimeout>;
  private blocks: Block[] = [];
  private readonly throttle: Throttle;
  private queue: Promise<unknown> = Promise.resolve();
  private clearOnNext = false;
  private executionOrder?: number;
  private success?: boolean;
  private startedMain = false;
  hiddenLines = 0;
  readonly whenFinished: Promise<Run>;
  private resolveFinished!: (run: Run) => void;

  constructor(
    readonly cell: vscode.NotebookCell,
    private readonly options: CellWriterOptions,
    execution?: vscode.NotebookCellExecution,
  ) {
    this.execution = execution ?? options.controller.createNotebookCellExecution(cell);
    this.throttle = new Throttle(() => this.flush(), options.flushMs);
    this.whenFinished = new Promise((r) => (this.resolveFinished = r));
    writers.set(cell, this);
  }

  /** Runs `op` after every earlier edit of this cell (the API's edits are async). */
  private enqueue(op: (e: vscode.NotebookCellExecution) => Thenable<unknown> | void, onError?: () => void) {
    const execution = this.ensureExecution();
    this.queue = this.queue
      .then(() => op(execution))
      .then(undefined, (e) => {
        this.options.log(`[cell output] ${e instanceof Error ? e.message : e}`);
        onError?.();
      });
  }

  private ensureExecution(): vscode.NotebookCellExecution {
    if (this.execution) {
      if (this.ended) this.bumpLate();
      else if (!this.startedMain) {
        // whatever writes has started
        this.execution.start(Date.now());
        this.startedMain = true;
      }
      return this.execution;
    }
    // A task of a run that has answered writes: a short execution of the same cell.
    const e = this.options.controller.createNotebookCellExecution(this.cell);
    e.executionOrder = this.executionOrder;
    e.start();
    this.execution = e;
    this.bumpLate();
    return e;
  }

  private bumpLate() {
    if (this.lateTimer) clearTimeout(this.lateTimer);
    this.lateTimer = setTimeout(() => {
      this.lateTimer = undefined;
      this.throttle.now();
      const e = this.execution;
      this.execution = undefined;
      this.queue = this.queue.then(() => e?.end(this.success));
    }, 1000);
  }

  /** The run left the daemon's queue. */
  started(run: Run): void {
    const e = this.execution;
    if (!e || this.ended) return;
    if (run.execCount) e.executionOrder = this.executionOrder = run.execCount;
    if (!this.startedMain) e.start(run.startedAt ?? Date.now());
    this.startedMain = true;
  }

  output(stream: Stream, text: string): void {
    if (this.clearOnNext) this.clearNow();
    let last = this.blocks.at(-1);
    if (!last || last.kind !== 'stream' || last.stream !== stream) {
      last = { kind: 'stream', stream, text: new StreamText(), dirty: true };
      this.blocks.push(last);
    }
    last.text.append(text);
    last.dirty = true;
    this.throttle.request();
  }

  display(p: DisplayParams): void {
    if (this.clearOnNext) this.clearNow();
    const items = toItems(p.data);
    if (p.displayId) {
      const block = this.blocks.find((b) => b.kind === 'output' && b.displayId === p.displayId) as OutputBlock | undefined;
      if (p.update) {
        if (block) {
          this.flushNow();
          this.enqueue((e) => e.replaceOutputItems(items, block.output));
        }
        return; // IPython: updating a display that is not there does nothing
      }
    }
    this.appendOutput(new vscode.NotebookCellOutput(items, { displayId: p.displayId }), p.displayId);
  }

  /** Another cell's display with this id updates here, wherever it is. */
  hasDisplay(displayId: string): boolean {
    return this.blocks.some((b) => b.kind === 'output' && b.displayId === displayId);
  }

  clearOutput(wait: boolean): void {
    if (wait) this.clearOnNext = true;
    else this.clearNow();
  }

  private clearNow() {
    this.clearOnNext = false;
    this.blocks = [];
    this.setHidden(0);
    this.enqueue((e) => e.clearOutput());
  }

  taskError(error: ErrorInfo): void {
    this.appendOutput(errorOutput(error));
  }

  /** Shows a line of the extension's own (input() echo) as stdout. */
  note(text: string): void {
    this.output('stdout', text);
  }

  private appendOutput(output: vscode.NotebookCellOutput, displayId?: string) {
    this.flushNow();
    this.blocks.push({ kind: 'output', output, displayId });
    this.enqueue((e) => e.appendOutput(output));
  }

  finished(run: Run): void {
    if (!this.startedMain && !this.ended) {
      // answered before anything said it started (cancelled in the queue, or failed)
      this.execution?.start(run.startedAt ?? run.queuedAt);
      this.startedMain = true;
    }
    this.flushNow();
    const r = run.result;
    if (r?.result) this.appendOutput(new vscode.NotebookCellOutput(toItems(r.result), { executionCount: r.execCount }));
    if (r?.error) this.appendOutput(errorOutput(r.error));
    if (run.transportError) {
      this.appendOutput(
        new vscode.NotebookCellOutput([
          vscode.NotebookCellOutputItem.error({ name: 'asyncode', message: run.transportError.message }),
        ]),
      );
    }
    const e = this.execution;
    if (r && !run.request.silent) {
      this.executionOrder = r.execCount;
      if (e) e.executionOrder = r.execCount;
    }
    this.success = r ? r.status === 'ok' : false;
    this.ended = true;
    this.execution = undefined;
    this.queue = this.queue.then(() => e?.end(this.success, run.endedAt ?? Date.now())).then(undefined, (err) => this.options.log(`[cell output] ${err}`));
    this.resolveFinished(run);
  }

  /** The run could not be sent (no daemon, the session did not open). */
  failed(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    const execution = this.execution;
    this.execution = undefined;
    this.ended = true;
    if (!execution) return;
    if (!this.startedMain) execution.start(Date.now());
    this.startedMain = true;
    this.queue = this.queue
      .then(() =>
        execution.appendOutput(
          new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error({ name: 'asyncode', message })]),
        ),
      )
      .then(() => execution.end(false, Date.now()));
  }

  /** The whole text of the cell's streams, in order. */
  wholeText(): string {
    return this.blocks
      .filter((b): b is StreamBlock => b.kind === 'stream')
      .map((b) => b.text.text())
      .join('');
  }

  private flushNow() {
    this.throttle.now();
  }

  private setHidden(n: number) {
    if (n !== this.hiddenLines) {
      this.hiddenLines = n;
      if (n > 0) lastTruncated = new WeakRef(this);
      changed.fire();
    }
  }

  private flush() {
    let hidden = 0;
    for (const block of this.blocks) {
      if (block.kind !== 'stream') continue;
      if (!block.dirty) {
        hidden += block.text.tail(this.options.maxLines).hidden;
        continue;
      }
      block.dirty = false;
      const tail = block.text.tail(this.options.maxLines);
      hidden += tail.hidden;
      let text = tail.text;
      if (tail.hidden > 0) {
        text = `[… ${tail.hidden.toLocaleString('en-US')} earlier lines: "asyncode: Open Whole Output" shows them]\n` + text;
      }
      const item =
        block.stream === 'stderr'
          ? vscode.NotebookCellOutputItem.stderr(text)
          : vscode.NotebookCellOutputItem.stdout(text);
      if (block.output) {
        const output = block.output;
        this.enqueue((e) => e.replaceOutputItems(item, output));
      } else {
        const output = new vscode.NotebookCellOutput([item]);
        block.output = output;
        this.enqueue(
          (e) => e.appendOutput(output),
          () => {
            block.output = undefined;
            block.dirty = true;
          },
        );
      }
    }
    this.setHidden(hidden);
  }
}
