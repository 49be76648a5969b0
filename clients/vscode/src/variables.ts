// The Variables view: the session's namespace as a tree (revision 1's `variables` refs
// give children; revision 0 lists names only), refreshed after each run.
import * as vscode from 'vscode';
import type { Asyncode } from './context';
import { currentSession } from './control';
import * as m from './protocol/methods';
import type { VariableInfo } from './protocol/wire';

const PAGE = 100;

interface Node {
  info: VariableInfo;
  session: string;
  /** A "more" node: the next page of its parent's children. */
  more?: { ref?: number; start: number };
}

export class VariablesView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private timer?: ReturnType<typeof setTimeout>;

  constructor(private readonly ctx: Asyncode) {
    this.disposables.push(
      vscode.window.registerTreeDataProvider('asyncode.variables', this),
      ctx.onDidFinishRun(() => this.refreshSoon()),
      ctx.onDidChange(() => this.refreshSoon()),
      vscode.window.onDidChangeActiveTextEditor(() => this.refreshSoon()),
    );
  }

  refreshSoon() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.emitter.fire(undefined), 150);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.more) {
      const item = new vscode.TreeItem('…more', vscode.TreeItemCollapsibleState.Collapsed);
      return item;
    }
    const v = node.info;
    const expandable = !!v.ref;
    const item = new vscode.TreeItem(v.name, expandable ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    const size = v.shape ?? (v.length !== undefined ? `len ${v.length}` : '');
    item.description = `${v.type}${size ? ` (${size})` : ''} = ${v.repr}`;
    item.tooltip = `${v.name}: ${v.type}\n${v.repr}`;
    return item;
  }

  async getChildren(node?: Node): Promise<Node[]> {
    const daemon = this.ctx.running;
    const session = node?.session ?? currentSession(this.ctx)?.name;
    if (!daemon || !session || this.ctx.sessions.get(session)?.state === 'closed') return [];
    const ref = node?.more ? node.more.ref : node?.info.ref;
    const start = node?.more?.start ?? 0;
    if (node && !node.more && !ref) return [];
    try {
      const r = await daemon.request(m.variables, ref ? { session, ref, start, count: PAGE } : { session });
      const nodes: Node[] = r.variables.map((info) => ({ info, session }));
      if (ref && r.total !== undefined && start + r.variables.length < r.total) {
        nodes.push({ info: { name: '', type: '', repr: '' }, session, more: { ref, start: start + r.variables.length } });
      }
      return nodes;
    } catch (e) {
      this.ctx.log.appendLine(`[variables] ${e instanceof Error ? e.message : e}`);
      return [];
    }
  }

  dispose() {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
