// The interactive window: VS Code's interactive editor (a notebook of the `interactive`
// type above an input box) with our controller. Each run is a cell: its code, [count],
// a live timer and state, its output as it comes, its result.
import * as vscode from 'vscode';
import type { Asyncode, SessionInfo } from './context';
import { CellWriter } from './cellOutput';
import { DeferredSink, type Run, type RunRequest } from './client/runs';
import { settings } from './config';
import * as m from './protocol/methods';

export const CONTROLLER_ID = 'asyncode-interactive';

interface Window {
  session: SessionInfo;
  notebookUri: vscode.Uri;
  inputUri?: vscode.Uri;
}

export class InteractiveWindows implements vscode.Disposable {
  readonly controller: vscode.NotebookController;
  private readonly windows = new Map<string, Window>();
  private readonly disposables: vscode.Disposable[] = [];
  private opening = new Map<string, Promise<Window>>();

  constructor(private readonly ctx: Asyncode) {
    const controller = vscode.notebooks.createNotebookController(CONTROLLER_ID, 'interactive', 'asyncode');
    controller.supportedLanguages = ['python'];
    controller.supportsExecutionOrder = true;
    controller.description = 'live async Python';
    controller.executeHandler = (cells, notebook) => this.executeTyped(cells, notebook);
    controller.interruptHandler = (notebook) => this.interruptNotebook(notebook);
    this.controller = controller;
    this.disposables.push(
      controller,
      vscode.workspace.onDidCloseNotebookDocument((nb) => {
        for (const [key, w] of this.windows) if (w.notebookUri.toString() === nb.uri.toString()) this.windows.delete(key);
      }),
      vscode.window.onDidChangeActiveNotebookEditor((e) => this.updateContext(e)),
    );
    this.updateContext(vscode.window.activeNotebookEditor);
  }

  private updateContext(editor: vscode.NotebookEditor | undefined) {
    const ours = !!editor && !!this.sessionOf(editor.notebook);
    void vscode.commands.executeCommand('setContext', 'asyncode.interactiveFocus', ours);
  }

  sessionOf(notebook: vscode.NotebookDocument): SessionInfo | undefined {
    for (const w of this.windows.values()) if (w.notebookUri.toString() === notebook.uri.toString()) return w.session;
    return undefined;
  }

  notebookOf(session: SessionInfo): vscode.NotebookDocument | undefined {
    const w = this.windows.get(session.name);
    return w && vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === w.notebookUri.toString());
  }

  /** Shows the session's window beside the editor, opening it when needed. */
  async show(session: SessionInfo, preserveFocus = true): Promise<vscode.NotebookDocument> {
    let w = this.windows.get(session.name);
    if (w && !this.notebookOf(session)) {
      this.windows.delete(session.name);
      w = undefined;
    }
    if (!w) {
      let opening = this.opening.get(session.name);
      if (!opening) {
        opening = this.openWindow(session, preserveFocus).finally(() => this.opening.delete(session.name));
        this.opening.set(session.name, opening);
      }
      w = await opening;
    } else {
      const visible = vscode.window.visibleNotebookEditors.some((e) => e.notebook.uri.toString() === w!.notebookUri.toString());
      if (!visible) {
        await vscode.commands.executeCommand(
          'interactive.open',
          { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
          w.notebookUri,
          `${this.ctx.extension.extension.id}/${CONTROLLER_ID}`,
          `asyncode: ${session.label}`,
        );
      }
    }
    const nb = this.notebookOf(session);
    if (!nb) throw new Error('the interactive window did not open');
    return nb;
  }

  private async openWindow(session: SessionInfo, preserveFocus: boolean): Promise<Window> {
    const result = (await vscode.commands.executeCommand(
      'interactive.open',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      undefined,
      `${this.ctx.extension.extension.id}/${CONTROLLER_ID}`,
      `asyncode: ${session.label}`,
    )) as { notebookUri: vscode.Uri; inputUri?: vscode.Uri; notebookEditor?: vscode.NotebookEditor };
    const w: Window = { session, notebookUri: result.notebookUri, inputUri: result.inputUri };
    this.windows.set(session.name, w);
    session.notebookUri = w.notebookUri.toString();
    const nb = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === w.notebookUri.toString());
    if (nb) this.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
    this.updateContext(vscode.window.activeNotebookEditor);
    return w;
  }

  writerOptions() {
    const conf = settings();
    return { controller: this.controller, maxLines: conf.outputLines, flushMs: 100, log: (l: string) => this.ctx.log.appendLine(l) };
  }

  /** Runs code from an editor: a new cell at the window's end shows it. The run is sent
   *  at once; what it writes waits for its cell. */
  async run(session: SessionInfo, request: RunRequest, resource?: vscode.Uri): Promise<{ run: Run; writer: CellWriter }> {
    const sink = new DeferredSink();
    const sent = this.ctx.run(session, request, sink, resource);
    sent.catch(() => undefined); // reported below, once the cell is there
    const nb = await this.show(session);
    const cellData = new vscode.NotebookCellData(vscode.NotebookCellKind.Code, request.code, 'python');
    if (request.filename) cellData.metadata = { asyncode: { file: request.filename, line: request.firstLine ?? 1 } };
    const edit = new vscode.WorkspaceEdit();
    const index = nb.cellCount;
    edit.set(nb.uri, [vscode.NotebookEdit.insertCells(index, [cellData])]);
    await vscode.workspace.applyEdit(edit);
    const cell = nb.cellAt(index);
    // the newest run in view, as a terminal scrolls: when it is added and when it ends
    const reveal = () => {
      if (cell.index !== nb.cellCount - 1) return;
      for (const e of vscode.window.visibleNotebookEditors) {
        if (e.notebook === nb) e.revealRange(new vscode.NotebookRange(cell.index, cell.index + 1), vscode.NotebookEditorRevealType.Default);
      }
    };
    reveal();
    const writer = new CellWriter(cell, this.writerOptions());
    try {
      const run = await sent;
      sink.attach(writer);
      void writer.whenFinished.then(() => setTimeout(reveal, 200));
      return { run, writer };
    } catch (e) {
      writer.failed(e);
      throw e;
    }
  }

  /** Cells typed in the window's input box (interactive.execute). */
  private async executeTyped(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument) {
    const session = this.sessionOf(notebook) ?? this.ctx.sessionFor(undefined);
    for (const cell of cells) {
      const writer = new CellWriter(cell, this.writerOptions());
      try {
        await this.ctx.run(session, { code: cell.document.getText() }, writer);
      } catch (e) {
        writer.failed(e);
      }
    }
  }

  private async interruptNotebook(notebook: vscode.NotebookDocument) {
    const session = this.sessionOf(notebook);
    if (session) await vscode.commands.executeCommand('asyncode.interrupt', session.name);
  }

  dispose() {
    for (const d of this.disposables) d.dispose();
  }
}

let entering: Promise<void> = Promise.resolve();

/** Enter in the input box: run when the code is complete, else a new line with its indent.
 *  Keys typed fast are handled one after the other. */
export function inputEnter(ctx: Asyncode): Promise<void> {
  entering = entering.then(() => enter(ctx)).catch((e) => ctx.log.appendLine(`[input box] ${e}`));
  return entering;
}

async function enter(ctx: Asyncode) {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return;
  const doc = editor.document;
  const text = doc.getText();
  const last = doc.lineAt(doc.lineCount - 1).text;
  const atEnd = editor.selection.active.isEqual(doc.lineAt(doc.lineCount - 1).range.end);
  let status: string = 'complete';
  let indent = '';
  if (text.trim() !== '') {
    try {
      const { daemon } = await ctx.client();
      const r = await daemon.request(m.compile, { code: text, mode: 'interactive' });
      status = r.status;
      indent = r.indent ?? '';
    } catch {
      status = 'complete';
    }
  }
  // as Python's REPL: one line runs when it is complete (or can never be); a block runs
  // from an empty last line. Shift+Enter runs whatever is there.
  const single = doc.lineCount === 1;
  const run = atEnd && (single ? status !== 'incomplete' : last.trim() === '');
  if (run && text.trim() !== '') {
    const notebook = vscode.window.activeNotebookEditor?.notebook.uri;
    await vscode.commands.executeCommand('interactive.execute', notebook);
    return;
  }
  if (status !== 'incomplete') indent = /^\s*/.exec(doc.lineAt(editor.selection.active.line).text)![0];
  await editor.edit((b) => b.replace(editor.selection, '\n' + indent));
}
