// Running code from a .py editor: the selection or the statement under the cursor, a
// `# %%` cell (and those above or below it), the whole file. While a run goes a marker
// sits at its last line; after it, its result's first line; an error puts a diagnostic on
// the failing line, cleared when that range runs again.
import * as vscode from 'vscode';
import type { Asyncode } from './context';
import type { InteractiveWindows } from './interactive';
import { cellAt, cellCode, parseCells, type CodeCell } from './client/cells';
import { findStatement } from './client/statement';
import { oneLine } from './client/mime';
import type { Run, RunRequest } from './client/runs';
import * as m from './protocol/methods';
import type { ErrorInfo } from './protocol/wire';

const running = vscode.window.createTextEditorDecorationType({
  after: { contentText: ' ⏳ running', color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 1em' },
  isWholeLine: true,
});
const resultDecoration = vscode.window.createTextEditorDecorationType({
  after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 1em' },
  rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
});

interface Mark {
  range: vscode.Range;
  text?: string; // undefined while running
}

export class EditorRuns implements vscode.Disposable {
  readonly diagnostics = vscode.languages.createDiagnosticCollection('asyncode');
  private readonly marks = new Map<string, Mark[]>();
  private readonly disposables: vscode.Disposable[] = [this.diagnostics, running, resultDecoration];

  constructor(
    private readonly ctx: Asyncode,
    private readonly windows: InteractiveWindows,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.redrawAll()),
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
    );
  }

  /** Shift+Enter: the selection, else the statement under the cursor (and the cursor moves past it). */
  async runSelection(editor = vscode.window.activeTextEditor) {
    if (!editor) return;
    const doc = editor.document;
    const sel = editor.selection;
    if (!sel.isEmpty) {
      if (sel.isSingleLine) {
        const line = doc.lineAt(sel.start.line).range;
        return this.runRange(doc, doc.getText(sel).trim(), line);
      }
      // whole lines, so that indentation stays right
      const lastLine = sel.end.character === 0 ? sel.end.line - 1 : sel.end.line;
      const range = new vscode.Range(sel.start.line, 0, lastLine, doc.lineAt(lastLine).text.length);
      return this.runRange(doc, doc.getText(range), range);
    }
    const lines = doc.getText().split(/\r?\n/);
    const session = this.ctx.sessionFor(doc.uri);
    const daemon = await this.ctx.open(session, doc.uri);
    const found = await findStatement(lines, sel.active.line, async (code) => {
      return (await daemon.request(m.compile, { code, session: session.name, mode: 'cell' })).status;
    });
    if (!found) return;
    const next = Math.min(found.next, doc.lineCount - 1);
    const pos = found.next >= doc.lineCount ? doc.lineAt(doc.lineCount - 1).range.end : new vscode.Position(next, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos));
    const range = doc.validateRange(new vscode.Range(found.first, 0, found.last, Number.MAX_SAFE_INTEGER));
    return this.runRange(doc, lines.slice(found.first, found.last + 1).join('\n'), range);
  }

  cells(doc: vscode.TextDocument): CodeCell[] {
    return parseCells(doc.getText().split(/\r?\n/));
  }

  /** Ctrl+Enter: the `# %%` cell under the cursor (or the one at `line`). */
  async runCell(uri?: vscode.Uri, line?: number) {
    const doc = await this.documentOf(uri);
    if (!doc) return;
    const at = line ?? vscode.window.activeTextEditor?.selection.active.line ?? 0;
    const cell = cellAt(this.cells(doc), at);
    if (cell) await this.runCells(doc, [cell]);
  }

  async runAbove(uri?: vscode.Uri, line?: number) {
    const doc = await this.documentOf(uri);
    if (!doc) return;
    const at = line ?? vscode.window.activeTextEditor?.selection.active.line ?? 0;
    const cells = this.cells(doc);
    const here = cellAt(cells, at);
    await this.runCells(doc, cells.filter((c) => here && c.markerLine < here.markerLine));
  }

  async runBelow(uri?: vscode.Uri, line?: number) {
    const doc = await this.documentOf(uri);
    if (!doc) return;
    const at = line ?? vscode.window.activeTextEditor?.selection.active.line ?? 0;
    const cells = this.cells(doc);
    const here = cellAt(cells, at);
    await this.runCells(doc, cells.filter((c) => here && c.markerLine >= here.markerLine));
  }

  /** The whole file as a module, with top-level await. */
  async runFile(uri?: vscode.Uri) {
    const doc = await this.documentOf(uri);
    if (!doc) return;
    const range = new vscode.Range(0, 0, doc.lineCount - 1, doc.lineAt(doc.lineCount - 1).text.length);
    return this.runRange(doc, doc.getText(), range, 'module');
  }

  private async documentOf(uri?: vscode.Uri): Promise<vscode.TextDocument | undefined> {
    if (uri instanceof vscode.Uri) return vscode.workspace.openTextDocument(uri);
    return vscode.window.activeTextEditor?.document;
  }

  private async runCells(doc: vscode.TextDocument, cells: CodeCell[]) {
    const lines = doc.getText().split(/\r?\n/);
    const runs: Promise<unknown>[] = [];
    for (const cell of cells) {
      const { code, firstLine } = cellCode(lines, cell);
      if (code.trim() === '') continue;
      const last = firstLine + code.split('\n').length - 1;
      const range = new vscode.Range(firstLine, 0, last, lines[last].length);
      // each cell is queued at once, in order; the daemon runs them one after another
      runs.push((await this.start(doc, code, range)).done);
    }
    await Promise.all(runs);
  }

  private async runRange(doc: vscode.TextDocument, code: string, range: vscode.Range, mode?: RunRequest['mode']) {
    await (await this.start(doc, code, range, mode)).done;
  }

  /** Queues the run; resolves when it is queued, with a promise of its end. */
  private async start(
    doc: vscode.TextDocument,
    code: string,
    range: vscode.Range,
    mode?: RunRequest['mode'],
  ): Promise<{ done: Promise<unknown> }> {
    const session = this.ctx.sessionFor(doc.uri);
    this.clearDiagnostics(doc.uri, range);
    const filename = doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.uri.toString();
    const mark: Mark = { range };
    this.setMark(doc.uri, mark);
    let run: Run;
    try {
      ({ run } = await this.windows.run(session, { code, filename, firstLine: range.start.line + 1, mode }, doc.uri));
    } catch (e) {
      this.removeMark(doc.uri, mark);
      void vscode.window.showErrorMessage(`asyncode: ${e instanceof Error ? e.message : e}`);
      return { done: Promise.resolve() };
    }
    const done = run.done.then(
      (result) => {
        if (result.status === 'ok') {
          mark.text = oneLine(result.result) ?? '✓';
        } else {
          mark.text = result.status === 'error' ? `✗ ${result.error?.type ?? 'error'}` : `✗ ${result.status}`;
          // an interrupt or a timeout is not a fault of the code
          if (result.status === 'error' && result.error) this.diagnose(doc, filename, result.error);
        }
        this.redraw(doc.uri);
      },
      () => this.removeMark(doc.uri, mark),
    );
    return { done };
  }

  private diagnose(doc: vscode.TextDocument, filename: string, error: ErrorInfo) {
    let line: number | undefined;
    let column: number | undefined;
    let endLine: number | undefined;
    let endColumn: number | undefined;
    const frame = [...error.traceback].reverse().find((f) => f.filename === filename);
    if (frame) {
      ({ line, column, endLine, endColumn } = frame);
    } else if (error.line !== undefined) {
      ({ line, column, endLine, endColumn } = error);
    } else {
      // revision 0: a SyntaxError names its line in the formatted text only
      const escaped = filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const match = new RegExp(`File "${escaped}", line (\\d+)`).exec(error.formatted);
      if (match) line = Number(match[1]);
    }
    // no line of this file to blame (WorkerDied, an error inside a library call only)
    if (line === undefined || line < 1 || line > doc.lineCount) return;
    const text = doc.lineAt(line - 1);
    let range: vscode.Range;
    if (column !== undefined) {
      const el = endLine !== undefined && endLine >= line ? endLine - 1 : line - 1;
      const ec = endColumn ?? text.text.length;
      range = doc.validateRange(new vscode.Range(line - 1, column, el, el === line - 1 && ec <= column ? column + 1 : ec));
    } else {
      range = new vscode.Range(line - 1, text.firstNonWhitespaceCharacterIndex, line - 1, text.text.length);
    }
    const d = new vscode.Diagnostic(range, `${error.type}: ${error.message}`, vscode.DiagnosticSeverity.Error);
    d.source = 'asyncode';
    this.diagnostics.set(doc.uri, [...(this.diagnostics.get(doc.uri) ?? []), d]);
  }

  private clearDiagnostics(uri: vscode.Uri, range: vscode.Range) {
    const kept = (this.diagnostics.get(uri) ?? []).filter((d) => !d.range.intersection(range));
    this.diagnostics.set(uri, kept);
    const marks = this.marks.get(uri.toString());
    if (marks) this.marks.set(uri.toString(), marks.filter((x) => !x.range.intersection(range)));
  }

  private setMark(uri: vscode.Uri, mark: Mark) {
    const key = uri.toString();
    const marks = (this.marks.get(key) ?? []).filter((x) => !x.range.intersection(mark.range) || x.text === undefined);
    marks.push(mark);
    this.marks.set(key, marks);
    this.redraw(uri);
  }

  private removeMark(uri: vscode.Uri, mark: Mark) {
    const marks = this.marks.get(uri.toString());
    if (marks) this.marks.set(uri.toString(), marks.filter((x) => x !== mark));
    this.redraw(uri);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent) {
    // results stand for code as it was run: an edit of their lines removes them
    const marks = this.marks.get(e.document.uri.toString());
    if (!marks || e.contentChanges.length === 0) return;
    const kept = marks.filter((x) => x.text === undefined || !e.contentChanges.some((c) => c.range.intersection(x.range)));
    if (kept.length !== marks.length) {
      this.marks.set(e.document.uri.toString(), kept);
      this.redraw(e.document.uri);
    }
  }

  private redrawAll() {
    for (const editor of vscode.window.visibleTextEditors) this.redraw(editor.document.uri);
  }

  private redraw(uri: vscode.Uri) {
    const marks = this.marks.get(uri.toString()) ?? [];
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() !== uri.toString()) continue;
      const endOf = (r: vscode.Range) => editor.document.lineAt(Math.min(r.end.line, editor.document.lineCount - 1)).range;
      editor.setDecorations(running, marks.filter((x) => x.text === undefined).map((x) => endOf(x.range)));
      editor.setDecorations(
        resultDecoration,
        marks
          .filter((x) => x.text !== undefined)
          .map((x) => ({ range: endOf(x.range), renderOptions: { after: { contentText: ` ${x.text}` } } })),
      );
    }
  }

  dispose() {
    for (const d of this.disposables) d.dispose();
  }
}

/** "Run Cell | Run Above | Run Below" over each `# %%` marker. */
export class CellCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const lenses: vscode.CodeLens[] = [];
    for (const cell of parseCells(doc.getText().split(/\r?\n/))) {
      if (cell.markerLine < 0) continue;
      const range = new vscode.Range(cell.markerLine, 0, cell.markerLine, 0);
      const args = [doc.uri, cell.markerLine];
      lenses.push(
        new vscode.CodeLens(range, { title: 'Run Cell', command: 'asyncode.runCell', arguments: args }),
        new vscode.CodeLens(range, { title: 'Run Above', command: 'asyncode.runAbove', arguments: args }),
        new vscode.CodeLens(range, { title: 'Run Below', command: 'asyncode.runBelow', arguments: args }),
      );
    }
    return lenses;
  }
}
