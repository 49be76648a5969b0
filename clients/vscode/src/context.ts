// The extension's one context object: it owns the daemon (started on first use, started
// again after it exits), the sessions, the log, and hands out runs.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Daemon } from './client/daemon';
import { Runs, type Run, type RunRequest, type RunSink } from './client/runs';
import { daemonCommand, pythonFor, settings } from './config';
import * as m from './protocol/methods';
import type { InputParams, InputResult, SessionState, StatusParams, Stream } from './protocol/wire';

export interface SessionInfo {
  name: string;
  /** What the user sees: the folder or file name. */
  label: string;
  cwd?: string;
  state: SessionState | 'closed';
  backend?: string;
  pid?: number;
  opened?: Promise<void>;
  /** The interactive window showing the session, when it has one. */
  notebookUri?: string;
}

export class Asyncode implements vscode.Disposable {
  readonly log: vscode.OutputChannel;
  /** Output that no run owns (threads of user code). */
  readonly unowned: vscode.OutputChannel;
  private daemon?: Daemon;
  private starting?: Promise<Daemon>;
  runs?: Runs;
  readonly sessions = new Map<string, SessionInfo>();
  private readonly changeEmitter = new vscode.EventEmitter<SessionInfo | undefined>();
  /** A session's state changed, or the daemon started or stopped (undefined). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly runEmitter = new vscode.EventEmitter<Run>();
  readonly onDidFinishRun = this.runEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** Answers input() of user code; set by the input feature. */
  inputHandler?: (params: InputParams, token: vscode.CancellationToken) => Promise<InputResult>;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('asyncode');
    this.unowned = vscode.window.createOutputChannel('asyncode: Background Output');
    this.disposables.push(this.log, this.unowned, this.changeEmitter, this.runEmitter);
  }

  get version(): string {
    return this.extension.extension.packageJSON.version;
  }

  get running(): Daemon | undefined {
    return this.daemon && !this.daemon.exited ? this.daemon : undefined;
  }

  /** The daemon, started when needed. */
  async client(): Promise<{ daemon: Daemon; runs: Runs }> {
    if (this.daemon && !this.daemon.exited && this.runs) return { daemon: this.daemon, runs: this.runs };
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    const daemon = await this.starting;
    return { daemon, runs: this.runs! };
  }

  private async start(): Promise<Daemon> {
    const command = daemonCommand(this.extension.extensionPath);
    const trace = settings().trace;
    this.log.appendLine(`starting ${command}`);
    const daemon = await Daemon.start({
      command,
      clientName: 'asyncode-vscode',
      clientVersion: this.version,
      trace,
      log: (line) => this.log.appendLine(line),
      onInput: (params, token) => {
        if (!this.inputHandler) return Promise.reject(new Error('no input'));
        return this.inputHandler(params, token);
      },
    });
    this.log.appendLine(
      `asyncoded ${daemon.info.serverInfo.version}, protocol revision ${daemon.revision}, Python ${daemon.info.python.version}`,
    );
    this.daemon = daemon;
    this.runs = new Runs(daemon, this.unownedSink());
    daemon.connection.onNotification(m.status, (p) => this.onStatus(p));
    daemon.onExit(({ code, signal }) => {
      if (this.daemon !== daemon) return;
      this.daemon = undefined;
      this.runs = undefined;
      for (const s of this.sessions.values()) {
        s.state = 'closed';
        s.opened = undefined;
      }
      this.changeEmitter.fire(undefined);
      if (!this.disposed) {
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        this.log.appendLine(`asyncoded exited (${how})`);
        void vscode.window.showWarningMessage(`asyncode: the daemon exited (${how}); the next run starts it again.`);
      }
    });
    this.changeEmitter.fire(undefined);
    return daemon;
  }

  private unownedSink(): RunSink {
    return {
      output: (_stream: Stream, text: string) => this.unowned.append(text),
      display: (p) => this.unowned.appendLine(`[display] ${p.data['text/plain']}`),
      taskError: (e) => this.unowned.append(e.formatted),
    };
  }

  private onStatus(p: StatusParams) {
    const s = this.sessions.get(p.session);
    if (!s) return;
    const was = s.state;
    s.state = p.state;
    if (p.pid) s.pid = p.pid;
    if (p.state === 'dead' && was !== 'closed') {
      const how = p.signal ? `signal ${p.signal}` : p.exitCode !== undefined ? `exit code ${p.exitCode}` : p.reason ?? '';
      if (p.reason !== 'interrupt' && p.reason !== 'restart' && p.reason !== 'closed') {
        void vscode.window.showWarningMessage(
          `asyncode: the Python worker of session "${s.label}" died${how ? ` (${how})` : ''}. It restarts with an empty namespace; the next run works.`,
        );
      }
    }
    this.changeEmitter.fire(s);
  }

  /** The session a document's code runs in, by the `asyncode.session` setting. */
  sessionFor(uri: vscode.Uri | undefined): SessionInfo {
    const scope = settings(uri).session;
    const folder = uri ? vscode.workspace.getWorkspaceFolder(uri) : vscode.workspace.workspaceFolders?.[0];
    let name: string;
    let label: string;
    let cwd: string | undefined;
    if (uri && (scope === 'file' || !folder) && uri.scheme === 'file') {
      name = `file:${uri.fsPath}`;
      label = path.basename(uri.fsPath);
      cwd = path.dirname(uri.fsPath);
    } else if (folder) {
      name = `folder:${folder.uri.toString()}`;
      label = folder.name;
      cwd = folder.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
    } else {
      name = 'default';
      label = 'default';
    }
    let s = this.sessions.get(name);
    if (!s) {
      s = { name, label, cwd, state: 'closed' };
      this.sessions.set(name, s);
    }
    return s;
  }

  /** Opens the session in the daemon if it is not open. */
  async open(session: SessionInfo, resource?: vscode.Uri): Promise<Daemon> {
    const { daemon } = await this.client();
    if (!session.opened) {
      session.opened = (async () => {
        const conf = settings(resource);
        const python = await pythonFor(resource);
        session.state = 'starting';
        this.changeEmitter.fire(session);
        try {
          const r = await daemon.request(m.sessionOpen, {
            session: session.name,
            backend: conf.backend,
            ...(session.cwd ? { cwd: session.cwd } : {}),
            ...(python ? { python } : {}),
          });
          session.pid = r.pid;
          session.backend = r.backend;
          if (session.state === 'starting') session.state = 'idle';
          this.changeEmitter.fire(session);
        } catch (e) {
          session.opened = undefined;
          session.state = 'closed';
          this.changeEmitter.fire(session);
          throw e;
        }
      })();
    }
    await session.opened;
    return daemon;
  }

  /** Sends code to a session; the sink gets what it writes. */
  async run(session: SessionInfo, request: RunRequest, sink: RunSink, resource?: vscode.Uri): Promise<Run> {
    await this.open(session, resource);
    const { runs } = await this.client();
    const run = runs.start({ ...request, session: session.name }, sink);
    const finished = () => {
      if (process.env.ASYNCODE_VSCODE_TIMINGS) this.logTimings(run);
      this.runEmitter.fire(run);
    };
    run.done.then(finished, finished);
    return run;
  }

  /** One line per run for the benchmark: what the daemon's side took, seen from here. */
  private logTimings(run: Run) {
    const sent = run.sentClock;
    if (sent === undefined) return;
    const ms = (t?: number) => (t === undefined ? 'none' : (t - sent).toFixed(2));
    this.log.appendLine(
      `[timing] tag=${run.tag} firstOutputMs=${ms(run.firstOutputClock)} answerMs=${ms(run.answerClock)} durationMs=${run.result?.durationMs?.toFixed(2) ?? 'none'}`,
    );
  }

  /** How the last interrupt ended (for tests and the status bar). */
  lastInterrupt?: string;
  disposed = false;
  async dispose(): Promise<void> {
    this.disposed = true;
    const d = this.daemon;
    this.daemon = undefined;
    for (const x of this.disposables) x.dispose();
    await d?.stop();
  }
}
