// Run bookkeeping: every exec the extension sends is a Run with a tag of its own; the
// daemon's notifications (output, display, clearOutput, taskError, execStart) find their
// run by that tag (protocol revision 1), or by the exec's JSON-RPC id, which the daemon
// echoes as requestId in every revision and which the connection's writer reports as
// each exec leaves. Output that no run owns goes to the orphan sink.
import { CancellationToken, Emitter } from 'vscode-jsonrpc/node';
import type { Daemon } from './daemon';
import * as m from '../protocol/methods';
import type {
  ClearOutputParams,
  DisplayParams,
  ErrorInfo,
  ExecParams,
  ExecResult,
  ExecStartParams,
  OutputParams,
  RequestId,
  Stream,
  TaskErrorParams,
} from '../protocol/wire';

export interface RunSink {
  /** The exec left the queue and runs (execStart, or the first sign of it on revision 0). */
  started?(run: Run): void;
  output(stream: Stream, text: string, run: Run | undefined): void;
  display?(params: DisplayParams, run: Run | undefined): void;
  clearOutput?(wait: boolean, run: Run | undefined): void;
  taskError?(error: ErrorInfo, run: Run | undefined): void;
  /** The exec answered (or failed to: `transportError`). */
  finished?(run: Run): void;
}

export type RunState = 'queued' | 'running' | 'done';

export interface RunRequest {
  code: string;
  session?: string;
  mode?: ExecParams['mode'];
  filename?: string;
  /** The line of `filename` on which `code` starts (1-based). */
  firstLine?: number;
  silent?: boolean;
  timeoutMs?: number;
}

export class Run {
  requestId?: RequestId;
  execCount?: number | null;
  state: RunState = 'queued';
  result?: ExecResult;
  transportError?: Error;
  readonly done: Promise<ExecResult>;
  readonly queuedAt = Date.now();
  startedAt?: number;
  endedAt?: number;
  /** performance.now() when the exec was written, its first output or display came, its answer came. */
  sentClock?: number;
  firstOutputClock?: number;
  answerClock?: number;
  constructor(
    readonly tag: string,
    readonly request: RunRequest,
    public sink: RunSink,
    done: (run: Run) => Promise<ExecResult>,
  ) {
    this.done = done(this);
  }
  get session(): string {
    return this.request.session ?? 'default';
  }
}

export class Runs {
  private readonly byTag = new Map<string, Run>();
  private readonly byId = new Map<string, Run>();
  /** Runs not answered yet, per session, in the order sent (the daemon's queue order). */
  private readonly pending = new Map<string, Run[]>();
  private counter = 0;
  private readonly startedEmitter = new Emitter<Run>();
  readonly onStarted = this.startedEmitter.event;
  private readonly finishedEmitter = new Emitter<Run>();
  readonly onFinished = this.finishedEmitter.event;
  /** How many finished runs stay routable for their tasks' later output. */
  retain = 5000;
  private readonly finishedOrder: Run[] = [];

  constructor(
    private readonly daemon: Daemon,
    public orphan: RunSink,
    private readonly tagPrefix = `r${process.pid}`,
  ) {
    daemon.onExecSent((sent) => {
      const run = sent.tag !== undefined ? this.byTag.get(sent.tag) : undefined;
      if (run) {
        run.sentClock = performance.now();
        run.requestId = sent.id;
        this.byId.set(String(sent.id), run);
      }
    });
    const c = daemon.connection;
    c.onNotification(m.output, (p: OutputParams) => {
      const run = this.route(p);
      (run?.sink ?? this.orphan).output(p.stream, p.text, run);
    });
    c.onNotification(m.display, (p: DisplayParams) => {
      const run = this.route(p);
      (run?.sink ?? this.orphan).display?.(p, run);
    });
    c.onNotification(m.clearOutput, (p: ClearOutputParams) => {
      const run = this.route(p);
      (run?.sink ?? this.orphan).clearOutput?.(p.wait, run);
    });
    c.onNotification(m.taskError, (p: TaskErrorParams) => {
      const run = this.route(p);
      (run?.sink ?? this.orphan).taskError?.(p.error, run);
    });
    c.onNotification(m.execStart, (p: ExecStartParams) => {
      const run = this.route(p);
      if (run) this.markStarted(run, p.execCount);
    });
  }

  /** The run a daemon request (`input`) comes from, if any: it is running. */
  find(p: { tag?: string; requestId: RequestId | null }): Run | undefined {
    return this.route(p);
  }

  /** The run a notification belongs to: by tag, else by requestId; undefined for nobody's. */
  private route(p: { tag?: string; requestId: RequestId | null; execCount?: number | null; stream?: string }): Run | undefined {
    let run = p.tag !== undefined ? this.byTag.get(p.tag) : undefined;
    if (!run && p.requestId !== null && p.requestId !== undefined) run = this.byId.get(String(p.requestId));
    if (run && run.state === 'queued') this.markStarted(run, p.execCount);
    if (run && run.firstOutputClock === undefined && 'stream' in p) run.firstOutputClock = performance.now();
    return run;
  }

  private markStarted(run: Run, execCount: number | null | undefined) {
    if (run.state !== 'queued') return;
    // Revision 0 says nothing when an exec starts: its first output or its answer does;
    // the runs queued before it in its session have then ended or started.
    run.state = 'running';
    run.startedAt = Date.now();
    if (execCount !== undefined) run.execCount = execCount;
    run.sink.started?.(run);
    this.startedEmitter.fire(run);
  }

  get(tag: string): Run | undefined {
    return this.byTag.get(tag);
  }

  /** Runs of a session that have not answered yet, oldest first. */
  queued(session = 'default'): readonly Run[] {
    return this.pending.get(session) ?? [];
  }

  /** Sends an exec; its notifications go to `sink`. */
  start(request: RunRequest, sink: RunSink, token?: CancellationToken): Run {
    const tag = `${this.tagPrefix}:${++this.counter}`;
    return new Run(tag, request, sink, async (run) => {
      this.byTag.set(tag, run);
      const session = run.session;
      const queue = this.pending.get(session) ?? [];
      queue.push(run);
      this.pending.set(session, queue);
      const params: ExecParams = {
        code: request.code,
        session,
        tag,
      };
      if (request.mode) params.mode = request.mode;
      if (request.filename !== undefined) params.filename = request.filename;
      if (request.silent) params.silent = true;
      if (request.timeoutMs !== undefined) params.timeoutMs = request.timeoutMs;
      const firstLine = request.firstLine ?? 1;
      if (firstLine > 1) {
        if (this.daemon.revision >= 1) params.firstLine = firstLine;
        // Revision 0 counts lines from the code's start: blank lines put it in place.
        else params.code = '\n'.repeat(firstLine - 1) + request.code;
      }
      try {
        const result = await this.daemon.request(m.exec, params, token);
        run.answerClock = performance.now();
        run.result = result;
        if (result.execCount !== undefined && !request.silent) run.execCount = result.execCount;
        this.markStarted(run, run.execCount);
        return result;
      } catch (e) {
        run.transportError = e instanceof Error ? e : new Error(String(e));
        throw run.transportError;
      } finally {
        run.state = 'done';
        run.endedAt = Date.now();
        const q = this.pending.get(session);
        if (q) {
          const i = q.indexOf(run);
          if (i >= 0) q.splice(i, 1);
        }
        this.finishedOrder.push(run);
        while (this.finishedOrder.length > this.retain) {
          const old = this.finishedOrder.shift()!;
          this.byTag.delete(old.tag);
          if (old.requestId !== undefined) this.byId.delete(String(old.requestId));
        }
        run.sink.finished?.(run);
        this.finishedEmitter.fire(run);
      }
    });
  }
}

/** A sink that keeps what comes until the real one is there (the run is sent while its
 *  cell is still being made), then hands it over in order. */
export class DeferredSink implements RunSink {
  private target?: RunSink;
  private readonly queue: ((t: RunSink) => void)[] = [];
  private call(f: (t: RunSink) => void) {
    if (this.target) f(this.target);
    else this.queue.push(f);
  }
  attach(target: RunSink): void {
    this.target = target;
    for (const f of this.queue.splice(0)) f(target);
  }
  started(run: Run) {
    this.call((t) => t.started?.(run));
  }
  output(stream: Stream, text: string, run: Run | undefined) {
    this.call((t) => t.output(stream, text, run));
  }
  display(p: DisplayParams, run: Run | undefined) {
    this.call((t) => t.display?.(p, run));
  }
  clearOutput(wait: boolean, run: Run | undefined) {
    this.call((t) => t.clearOutput?.(wait, run));
  }
  taskError(error: ErrorInfo, run: Run | undefined) {
    this.call((t) => t.taskError?.(error, run));
  }
  finished(run: Run) {
    this.call((t) => t.finished?.(run));
  }
}
