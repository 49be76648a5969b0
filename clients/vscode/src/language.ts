// Completions and hovers from the live session, in Python files and the window's input
// box, while a session is open for them. VS Code merges them with other extensions'.
import * as vscode from 'vscode';
import type { Asyncode, SessionInfo } from './context';
import type { InteractiveWindows } from './interactive';
import { fromDaemonOffset, toDaemonOffset } from './client/positions';
import * as m from './protocol/methods';

const KINDS: Record<string, vscode.CompletionItemKind> = {
  function: vscode.CompletionItemKind.Function,
  method: vscode.CompletionItemKind.Method,
  class: vscode.CompletionItemKind.Class,
  module: vscode.CompletionItemKind.Module,
  keyword: vscode.CompletionItemKind.Keyword,
  instance: vscode.CompletionItemKind.Variable,
  statement: vscode.CompletionItemKind.Variable,
  param: vscode.CompletionItemKind.Variable,
  property: vscode.CompletionItemKind.Property,
  path: vscode.CompletionItemKind.File,
};

/** The input box's whole text goes; of a file only the cursor's line, so that the live
 *  namespace answers (a file's own static definitions would otherwise shadow its objects
 *  in Jedi; static analysis is other extensions' part). */
const MAX_CODE = 20_000;

function withCancel<T>(p: Promise<T>, token: vscode.CancellationToken, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => resolve(fallback));
    p.then(
      (v) => resolve(v),
      () => resolve(fallback),
    ).finally(() => sub.dispose());
  });
}

export class LiveLanguage implements vscode.CompletionItemProvider, vscode.HoverProvider {
  constructor(
    private readonly ctx: Asyncode,
    private readonly windows: InteractiveWindows,
  ) {}

  /** The open session for a document, or nothing: features need a live session. */
  private sessionOf(doc: vscode.TextDocument): SessionInfo | undefined {
    let session: SessionInfo | undefined;
    if (doc.uri.scheme === 'vscode-interactive-input') {
      const nb = vscode.window.activeNotebookEditor?.notebook;
      session = nb && this.windows.sessionOf(nb);
    } else {
      session = this.ctx.sessionFor(doc.uri);
    }
    return session && session.state !== 'closed' && session.state !== 'dead' && this.ctx.running ? session : undefined;
  }

  private codeAt(doc: vscode.TextDocument, position: vscode.Position) {
    let code = doc.getText();
    let base = 0;
    if (doc.uri.scheme !== 'vscode-interactive-input' || code.length > MAX_CODE) {
      base = doc.offsetAt(new vscode.Position(position.line, 0));
      code = doc.lineAt(position.line).text;
    }
    return { code, offset: doc.offsetAt(position) - base, base };
  }

  async provideCompletionItems(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken) {
    const session = this.sessionOf(doc);
    const daemon = this.ctx.running;
    if (!session || !daemon) return undefined;
    const { code, offset, base } = this.codeAt(doc, position);
    const enc = daemon.positionEncoding;
    const r = await withCancel(
      daemon.request(m.complete, { code, cursor: toDaemonOffset(code, offset, enc), session: session.name }),
      token,
      undefined,
    );
    if (!r || token.isCancellationRequested) return undefined;
    const start = doc.positionAt(base + fromDaemonOffset(code, r.cursorStart, enc));
    const end = doc.positionAt(base + fromDaemonOffset(code, r.cursorEnd, enc));
    const range = new vscode.Range(start, end);
    return r.matches.map((match, i) => {
      const item = new vscode.CompletionItem(match.text, KINDS[match.type ?? ''] ?? vscode.CompletionItemKind.Text);
      item.range = range;
      item.detail = match.type ? `${match.type} · live session` : 'live session';
      item.sortText = String(i).padStart(5, '0');
      return item;
    });
  }

  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken) {
    const session = this.sessionOf(doc);
    const daemon = this.ctx.running;
    if (!session || !daemon || !doc.getWordRangeAtPosition(position)) return undefined;
    const { code, offset } = this.codeAt(doc, position);
    const r = await withCancel(
      daemon.request(m.inspect, { code, cursor: toDaemonOffset(code, offset, daemon.positionEncoding), session: session.name }),
      token,
      undefined,
    );
    if (!r?.found || !r.data) return undefined;
    const md = r.data['text/markdown'];
    const content =
      typeof md === 'string' ? new vscode.MarkdownString(md) : new vscode.MarkdownString().appendCodeblock(r.data['text/plain'], 'text');
    return new vscode.Hover(content);
  }
}
