// Control of a session: interrupt and restart (commands, the window's toolbar, the status
// bar), the status bar item with the session's state, backend and Python version, and
// input() answered from an input box.
import * as vscode from 'vscode';
import type { Asyncode, SessionInfo } from './context';
import * as m from './protocol/methods';
import type { InputParams, InputResult } from './protocol/wire';

const HOW: Record<string, string> = {
  cancelled: 'its task was cancelled',
  keyboardInterrupt: 'KeyboardInterrupt was raised in it',
  taskInterrupted: 'KeyboardInterrupt was raised in the task that held the session',
  restarted: 'it was stuck, so the session restarted (its namespace is empty)',
};

/** The session of the active editor or window, else the only open one. */
export function currentSession(ctx: Asyncode, name?: string): SessionInfo | undefined {
  if (typeof name === 'string' && ctx.sessions.has(name)) return ctx.sessions.get(name);
  const nb = vscode.window.activeNotebookEditor?.notebook;
  if (nb) {
    for (const s of ctx.sessions.values()) if (s.notebookUri === nb.uri.toString()) return s;
  }
  const doc = vscode.window.activeTextEditor?.document;
  if (doc && doc.languageId === 'python' && doc.uri.scheme !== 'vscode-interactive-input') return ctx.sessionFor(doc.uri);
  const open = [...ctx.sessions.values()].filter((s) => s.state !== 'closed');
  return open.length === 1 ? open[0] : open.find((s) => s.state === 'busy') ?? open[0];
}

export async function interrupt(ctx: Asyncode, name?: string) {
  const session = currentSession(ctx, name);
  const daemon = ctx.running;
  if (!session || !daemon) {
    void vscode.window.showInformationMessage('asyncode: nothing is running.');
    return;
  }
  const r = await daemon.request(m.interrupt, { session: session.name });
  const text = r.interrupted
    ? `asyncode: interrupted the run in "${session.label}": ${HOW[r.how ?? ''] ?? r.how}.`
    : `asyncode: nothing was running in "${session.label}".`;
  ctx.lastInterrupt = r.how ?? 'nothing';
  vscode.window.setStatusBarMessage(text, 8000);
  void vscode.window.showInformationMessage(text);
}

export async function restart(ctx: Asyncode, name?: string) {
  const session = currentSession(ctx, name);
  if (!session) return;
  const daemon = await ctx.open(session);
  await daemon.request(m.sessionRestart, { session: session.name });
  const text = `asyncode: session "${session.label}" restarted: its namespace is empty.`;
  vscode.window.setStatusBarMessage(text, 8000);
  void vscode.window.showInformationMessage(text);
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('asyncode.status', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [this.item];

  constructor(private readonly ctx: Asyncode) {
    this.item.name = 'asyncode';
    this.disposables.push(
      ctx.onDidChange(() => this.update()),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.update()),
    );
    this.update();
  }

  private update() {
    const session = currentSession(this.ctx);
    const daemon = this.ctx.running;
    if (!session || !daemon || session.state === 'closed') {
      this.item.hide();
      void vscode.commands.executeCommand('setContext', 'asyncode.busy', false);
      return;
    }
    const busy = session.state === 'busy';
    const icon = busy ? '$(sync~spin)' : session.state === 'dead' ? '$(error)' : session.state === 'starting' ? '$(loading~spin)' : '$(circle-large-outline)';
    const python = daemon.info.python.version;
    this.item.text = `${icon} asyncode: ${session.state} · ${session.backend ?? ''} · Python ${python}`;
    this.item.tooltip = `asyncode session "${session.label}"${session.pid ? `, worker pid ${session.pid}` : ''}\n${busy ? 'Click to interrupt' : 'Click for session actions'}`;
    this.item.command = busy
      ? { title: 'Interrupt', command: 'asyncode.interrupt', arguments: [session.name] }
      : { title: 'asyncode', command: 'asyncode.sessionMenu', arguments: [session.name] };
    this.item.backgroundColor = busy ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
    void vscode.commands.executeCommand('setContext', 'asyncode.busy', busy);
  }

  dispose() {
    for (const d of this.disposables) d.dispose();
  }
}

export async function sessionMenu(ctx: Asyncode, name?: string) {
  const pick = await vscode.window.showQuickPick(
    [
      { label: '$(debug-stop) Interrupt', command: 'asyncode.interrupt' },
      { label: '$(debug-restart) Restart Session', command: 'asyncode.restart' },
      { label: '$(window) Show Interactive Window', command: 'asyncode.showWindow' },
      { label: '$(output) Show Log', command: 'asyncode.showLog' },
    ],
    { placeHolder: 'asyncode' },
  );
  if (pick) await vscode.commands.executeCommand(pick.command, name);
}

/** input() and getpass() of user code: an input box; Escape makes input() raise EOFError. */
export function inputHandler(ctx: Asyncode) {
  return async (params: InputParams, token: vscode.CancellationToken): Promise<InputResult> => {
    const value = await vscode.window.showInputBox(
      {
        title: `asyncode: input() in "${ctx.sessions.get(params.session)?.label ?? params.session}"`,
        prompt: params.prompt || (params.password ? 'password' : 'input()'),
        password: params.password,
        ignoreFocusOut: true,
        placeHolder: 'Enter answers, Escape raises EOFError',
      },
      token,
    );
    const run = ctx.runs?.find(params);
    if (value === undefined) {
      run?.sink.output('stdout', `${params.prompt}\n`, run);
      throw new Error('input cancelled');
    }
    run?.sink.output('stdout', `${params.prompt}${params.password ? '' : value}\n`, run);
    return { value };
  };
}
