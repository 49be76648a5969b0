// One asyncoded process and the JSON-RPC connection over its stdio. Knows nothing of
// VS Code, so the tests run it under plain node against the real daemon.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CancellationToken,
  createMessageConnection,
  Emitter,
  Message,
  StreamMessageReader,
  StreamMessageWriter,
  Trace,
  type Event,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import * as m from '../protocol/methods';
import type {
  InitializeResult,
  InputParams,
  InputResult,
  LogParams,
  PositionEncoding,
  RequestId,
} from '../protocol/wire';

export type TraceLevel = 'off' | 'messages' | 'verbose';

export interface DaemonOptions {
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  clientName?: string;
  clientVersion?: string;
  /** Lines for the user's log: the daemon's stderr, its `log` notifications, traces. */
  log?: (line: string) => void;
  trace?: TraceLevel;
  /** Answers `input` requests; without it the daemon makes input() raise EOFError. */
  onInput?: (params: InputParams, token: CancellationToken) => Promise<InputResult>;
}

/** An exec request as it leaves for the daemon: its JSON-RPC id and the client's tag. */
export interface SentExec {
  id: RequestId;
  tag?: string;
  session?: string;
}

class WatchingWriter extends StreamMessageWriter {
  constructor(
    stream: NodeJS.WritableStream,
    private readonly onExec: (sent: SentExec) => void,
  ) {
    super(stream);
  }
  override write(msg: Message): Promise<void> {
    if (Message.isRequest(msg) && msg.method === m.exec.method) {
      const params = msg.params as { tag?: string; session?: string } | undefined;
      this.onExec({ id: msg.id!, tag: params?.tag, session: params?.session });
    }
    return super.write(msg);
  }
}

export class Daemon {
  readonly connection: MessageConnection;
  info!: InitializeResult;
  /** The protocol revision the daemon speaks (0 when it does not say). */
  revision = 0;
  positionEncoding: PositionEncoding = 'utf-32';
  private readonly exitEmitter = new Emitter<{ code: number | null; signal: string | null }>();
  readonly onExit: Event<{ code: number | null; signal: string | null }> = this.exitEmitter.event;
  private readonly execEmitter = new Emitter<SentExec>();
  /** Fires for each exec request just before it is written, with its id. */
  readonly onExecSent: Event<SentExec> = this.execEmitter.event;
  exited = false;
  private stopping?: Promise<void>;

  private constructor(
    readonly process: ChildProcess,
    options: DaemonOptions,
  ) {
    const log = options.log ?? (() => {});
    const reader = new StreamMessageReader(process.stdout!);
    const writer = new WatchingWriter(process.stdin!, (sent) => this.execEmitter.fire(sent));
    this.connection = createMessageConnection(reader, writer, {
      error: (s) => log(`[error] ${s}`),
      warn: (s) => log(`[warn] ${s}`),
      info: (s) => log(`[info] ${s}`),
      log: (s) => log(s),
    });
    process.stderr?.setEncoding('utf8');
    let partial = '';
    process.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) log(`[asyncoded] ${line}`);
    });
    process.on('exit', (code, signal) => {
      this.exited = true;
      // vscode-jsonrpc does not reject pending requests when the stream closes.
      this.connection.dispose();
      this.exitEmitter.fire({ code, signal });
    });
    this.connection.onNotification(m.log, (p: LogParams) => log(`[daemon ${p.level}] ${p.message}`));
    if (options.onInput) {
      const onInput = options.onInput;
      this.connection.onRequest(m.input, (params, token) => onInput(params, token));
    }
    this.connection.listen();
  }

  /** Starts the daemon and says `initialize`. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const child = spawn(options.command, options.args ?? [], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e) => reject(new Error(`cannot start ${options.command}: ${e.message}`)));
    });
    await spawned;
    const daemon = new Daemon(child, options);
    if (options.trace && options.trace !== 'off') {
      const log = options.log ?? (() => {});
      await daemon.connection.trace(
        options.trace === 'verbose' ? Trace.Verbose : Trace.Messages,
        { log: (message: string, data?: string) => log(data ? `${message}\n${data}` : message) },
      );
    }
    const died = new Promise<never>((_, reject) =>
      daemon.onExit(({ code, signal }) =>
        reject(new Error(`asyncoded exited before it answered initialize (${signal ?? `code ${code}`})`)),
      ),
    );
    daemon.info = await Promise.race([
      daemon.connection.sendRequest(m.initialize, {
        clientInfo: { name: options.clientName ?? 'asyncode-vscode', version: options.clientVersion },
        capabilities: { input: !!options.onInput, positionEncodings: ['utf-16'] },
      }),
      died,
    ]);
    daemon.revision = daemon.info.protocolRevision ?? 0;
    daemon.positionEncoding = daemon.info.positionEncoding ?? 'utf-32';
    return daemon;
  }

  request<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R> {
    if (this.exited) return Promise.reject(new Error('asyncoded is not running'));
    return this.connection.sendRequest(type, params, token);
  }

  /** shutdown + exit, then SIGTERM and SIGKILL if the process is still there. */
  stop(timeoutMs = 2000): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (this.exited) return;
      const gone = new Promise<void>((resolve) => this.onExit(() => resolve()));
      const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
      try {
        await Promise.race([this.connection.sendRequest(m.shutdown, null), later(timeoutMs)]);
        await this.connection.sendNotification(m.exit, null);
      } catch {
        // the daemon is gone already or its pipe is broken: signals below
      }
      await Promise.race([gone, later(timeoutMs)]);
      if (!this.exited) this.process.kill('SIGTERM');
      await Promise.race([gone, later(timeoutMs)]);
      if (!this.exited) this.process.kill('SIGKILL');
      await gone;
    })();
    return this.stopping;
  }
}
