// asyncode as the kernel of .ipynb notebooks (the `jupyter-notebook` type): top-level
// await and a persistent asyncio or Trio loop, with no ipykernel in the venv. Each
// notebook gets a session of its own.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Asyncode, SessionInfo } from './context';
import { CellWriter } from './cellOutput';
import { settings } from './config';

export class NotebookKernel implements vscode.Disposable {
  readonly controller: vscode.NotebookController;

  constructor(private readonly ctx: Asyncode) {
    const c = vscode.notebooks.createNotebookController('asyncode-jupyter', 'jupyter-notebook', 'asyncode');
    c.supportedLanguages = ['python'];
    c.supportsExecutionOrder = true;
    c.description = 'live async Python (top-level await, asyncio or Trio)';
    c.executeHandler = (cells, notebook) => this.execute(cells, notebook);
    c.interruptHandler = (notebook) =>
      vscode.commands.executeCommand('asyncode.interrupt', this.sessionOf(notebook).name) as Promise<void>;
    this.controller = c;
  }

  sessionOf(notebook: vscode.NotebookDocument): SessionInfo {
    const name = `notebook:${notebook.uri.toString()}`;
    let s = this.ctx.sessions.get(name);
    if (!s) {
      const file = notebook.uri.scheme === 'file' ? notebook.uri.fsPath : undefined;
      s = { name, label: path.basename(notebook.uri.path), cwd: file && path.dirname(file), state: 'closed', notebookUri: notebook.uri.toString() };
      this.ctx.sessions.set(name, s);
    }
    return s;
  }

  private async execute(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument) {
    const session = this.sessionOf(notebook);
    const conf = settings(notebook.uri);
    const runs: Promise<unknown>[] = [];
    for (const cell of cells) {
      const writer = new CellWriter(cell, {
        controller: this.controller,
        maxLines: conf.outputLines,
        flushMs: 100,
        log: (l) => this.ctx.log.appendLine(l),
      });
      try {
        const run = await this.ctx.run(session, { code: cell.document.getText() }, writer, notebook.uri);
        runs.push(run.done.catch(() => undefined));
      } catch (e) {
        writer.failed(e);
      }
    }
    await Promise.all(runs);
  }

  dispose() {
    this.controller.dispose();
  }
}
