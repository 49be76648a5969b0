// Every method of the wire, declared once with its params and result types
// (vscode-jsonrpc's RequestType / NotificationType). The test protocol.test.ts checks
// these declarations against the schema's x-methods.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type * as G from './generated';
import type * as R from './wire';

export type Direction = 'client->daemon' | 'daemon->client' | 'both';
export interface Declaration {
  method: string;
  kind: 'request' | 'notification';
  direction: Direction;
  /** Added by protocol revision 1: may be missing from a revision-0 schema. */
  revision?: 1;
}

const declarations: Declaration[] = [];
function request<P, R>(method: string, direction: Direction, revision?: 1) {
  declarations.push({ method, kind: 'request', direction, revision });
  return new RequestType<P, R, void>(method);
}
function notification<P>(method: string, direction: Direction, revision?: 1) {
  declarations.push({ method, kind: 'notification', direction, revision });
  return new NotificationType<P>(method);
}
const toDaemon = 'client->daemon';
const toClient = 'daemon->client';

export const initialize = request<R.InitializeParams, R.InitializeResult>('initialize', toDaemon);
export const shutdown = request<G.ShutdownParams, G.ShutdownResult>('shutdown', toDaemon);
export const exit = notification<G.ExitParams>('exit', toDaemon);
export const sessionOpen = request<G.SessionOpenParams, G.SessionOpenResult>('session/open', toDaemon);
export const sessionRestart = request<G.SessionRestartParams, G.SessionRestartResult>('session/restart', toDaemon);
export const sessionClose = request<G.SessionCloseParams, G.SessionCloseResult>('session/close', toDaemon);
export const sessionList = request<G.SessionListParams, G.SessionListResult>('session/list', toDaemon);
export const sessionAttach = request<R.SessionAttachParams, R.SessionAttachResult>('session/attach', toDaemon, 1);
// asyncoded's extension: the terminal output is shown on (the extension does not send it: its
// output is a notebook cell, not a terminal).
export const sessionTerminal = notification<G.SessionTerminalParams>('session/terminal', toDaemon, 1);
export const compile = request<G.CompileParams, G.CompileResult>('compile', toDaemon);
export const needsAwait = request<G.NeedsAwaitParams, G.NeedsAwaitResult>('needsAwait', toDaemon);
export const exec = request<R.ExecParams, R.ExecResult>('exec', toDaemon);
export const interrupt = request<R.InterruptParams, R.InterruptResult>('interrupt', toDaemon);
export const complete = request<G.CompleteParams, G.CompleteResult>('complete', toDaemon);
export const inspect = request<G.InspectParams, G.InspectResult>('inspect', toDaemon);
export const variables = request<R.VariablesParams, R.VariablesResult>('variables', toDaemon);
export const reset = request<G.ResetParams, G.ResetResult>('reset', toDaemon);
export const cancelRequest = notification<G.CancelRequestParams>('$/cancelRequest', 'both');
export const output = notification<R.OutputParams>('output', toClient);
export const display = notification<R.DisplayParams>('display', toClient);
export const status = notification<R.StatusParams>('status', toClient);
export const log = notification<G.LogParams>('log', toClient);
export const input = request<R.InputParams, G.InputResult>('input', toClient);
export const execStart = notification<R.ExecStartParams>('execStart', toClient, 1);
export const clearOutput = notification<R.ClearOutputParams>('clearOutput', toClient, 1);
export const taskError = notification<R.TaskErrorParams>('taskError', toClient, 1);
/** asyncoded's stdin streams (session/open's stdinStream); this extension never opens one. */
export const stdinRead = request<G.StdinReadParams, G.StdinReadResult>('stdin/read', toClient);

export const allDeclarations: readonly Declaration[] = declarations;
