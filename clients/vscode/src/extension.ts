// Entry point: one Asyncode context owns the daemon; each feature registers itself.
import * as vscode from 'vscode';
import { Asyncode } from './context';
import { InteractiveWindows, inputEnter } from './interactive';
import { CellCodeLens, EditorRuns } from './editorRun';
import { currentSession, inputHandler, interrupt, restart, sessionMenu, StatusBar } from './control';
import { LiveLanguage } from './language';
import { VariablesView } from './variables';
import { NotebookKernel } from './notebook';
import { lastTruncatedWriter, onDidChangeHidden, writerOf } from './cellOutput';

let ctx: Asyncode | undefined;

export function activate(context: vscode.ExtensionContext) {
  const c = new Asyncode(context);
  ctx = c;
  c.inputHandler = inputHandler(c);
  const windows = new InteractiveWindows(c);
  const editorRuns = new EditorRuns(c, windows);
  const language = new LiveLanguage(c, windows);
  const python: vscode.DocumentSelector = [
    { language: 'python', scheme: 'file' },
    { language: 'python', scheme: 'untitled' },
    { language: 'python', scheme: 'vscode-interactive-input' },
  ];
  const command = (id: string, fn: (...args: any[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        c.log.appendLine(`[${id}] ${message}`);
        void vscode.window.showErrorMessage(`asyncode: ${message}`);
      }
    });
  context.subscriptions.push(
    windows,
    editorRuns,
    new NotebookKernel(c),
    new StatusBar(c),
    new VariablesView(c),
    vscode.languages.registerCodeLensProvider({ language: 'python' }, new CellCodeLens()),
    vscode.languages.registerCompletionItemProvider(python, language, '.'),
    vscode.languages.registerHoverProvider(python, language),
    vscode.notebooks.registerNotebookCellStatusBarItemProvider('interactive', wholeOutputItem()),
    vscode.notebooks.registerNotebookCellStatusBarItemProvider('jupyter-notebook', wholeOutputItem()),
    command('asyncode.runSelection', () => editorRuns.runSelection()),
    command('asyncode.runCell', (uri?: vscode.Uri, line?: number) => editorRuns.runCell(uri, line)),
    command('asyncode.runAbove', (uri?: vscode.Uri, line?: number) => editorRuns.runAbove(uri, line)),
    command('asyncode.runBelow', (uri?: vscode.Uri, line?: number) => editorRuns.runBelow(uri, line)),
    command('asyncode.runFile', (uri?: vscode.Uri) => editorRuns.runFile(uri)),
    command('asyncode.interrupt', (name?: string) => interrupt(c, name)),
    command('asyncode.restart', (name?: string) => restart(c, name)),
    command('asyncode.sessionMenu', (name?: string) => sessionMenu(c, name)),
    command('asyncode.showLog', () => c.log.show(true)),
    command('asyncode.showWindow', async () => {
      const uri = vscode.window.activeTextEditor?.document.uri;
      const session = currentSession(c) ?? c.sessionFor(uri);
      await windows.show(session, false);
    }),
    command('asyncode.inputEnter', () => inputEnter(c)),
    command('asyncode.openWholeOutput', async (cell?: vscode.NotebookCell) => {
      const target = cell ?? activeCell();
      let writer = target && writerOf(target);
      if (!writer || writer.hiddenLines === 0) writer = lastTruncatedWriter() ?? writer;
      if (!writer) {
        void vscode.window.showInformationMessage('asyncode: no cell has more output than it shows.');
        return;
      }
      const doc = await vscode.workspace.openTextDocument({ content: writer.wholeText(), language: 'log' });
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
}

function activeCell(): vscode.NotebookCell | undefined {
  const editor = vscode.window.activeNotebookEditor;
  const sel = editor?.selections[0];
  return editor && sel && sel.start < editor.notebook.cellCount ? editor.notebook.cellAt(sel.start) : undefined;
}

function wholeOutputItem(): vscode.NotebookCellStatusBarItemProvider {
  return {
    onDidChangeCellStatusBarItems: onDidChangeHidden,
    provideCellStatusBarItems(cell) {
      const writer = writerOf(cell);
      if (!writer || writer.hiddenLines === 0) return [];
      const item = new vscode.NotebookCellStatusBarItem(
        `$(output) ${writer.hiddenLines.toLocaleString('en-US')} more lines: open the whole output`,
        vscode.NotebookCellStatusBarAlignment.Left,
      );
      item.command = { title: 'Open Whole Output', command: 'asyncode.openWholeOutput', arguments: [cell] };
      return [item];
    },
  };
}

export function deactivate(): Promise<void> | undefined {
  const c = ctx;
  ctx = undefined;
  return c?.dispose();
}
