// The wire's types as the extension uses them, revision 1 included (PROTOCOL.md, "Revision 1").
// The generated types come from schema/protocol.schema.json; until the schema describes
// revision 1, the fields and messages it adds are declared here, all optional, so the
// extension also works with a revision-0 daemon. Once the schema has them these
// intersections add nothing, and this file shrinks to what the schema still lacks.
import type * as G from './generated';

export type {
  Backend, CompileParams, CompileResult, CompileStatus, CompletionMatch, CompleteParams, CompleteResult,
  ExecStatus, InputResult, InspectParams, InspectResult, InterruptHow, LogLevel, LogParams,
  MimeBundle, Mode, RequestId, Session, SessionOpenParams, SessionOpenResult, SessionState,
  Stream, SyntaxErrorInfo,
} from './generated';

export type PositionEncoding = 'utf-16' | 'utf-8' | 'utf-32';

export type InitializeParams = G.InitializeParams & {
  capabilities?: { input?: boolean; positionEncodings?: PositionEncoding[] };
  logLevel?: G.LogLevel | 'off';
};
export type InitializeResult = G.InitializeResult & {
  protocolRevision?: number;
  positionEncoding?: PositionEncoding;
};
export type ExecParams = G.ExecParams & { tag?: string; firstLine?: number };
export type ExecResult = Omit<G.ExecResult, 'error'> & { tag?: string; error?: ErrorInfo };
export type InterruptParams = G.InterruptParams & { force?: boolean };
export type InterruptResult = Omit<G.InterruptResult, 'how'> & {
  how?: G.InterruptHow | 'taskInterrupted';
};
export type TracebackFrame = G.TracebackFrame & {
  column?: number;
  endLine?: number;
  endColumn?: number;
};
export type ErrorInfo = Omit<G.ErrorInfo, 'traceback'> & {
  traceback: TracebackFrame[];
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
};
export type OutputParams = G.OutputParams & { tag?: string; seq?: number };
export type DisplayParams = G.DisplayParams & {
  tag?: string;
  seq?: number;
  displayId?: string;
  update?: boolean;
  metadata?: Record<string, unknown>;
};
export type StatusReason = 'open' | 'restart' | 'crash' | 'interrupt' | 'closed' | 'detached';
export type StatusParams = G.StatusParams & {
  reason?: StatusReason;
  exitCode?: number;
  signal?: string;
};
export type InputParams = G.InputParams & { tag?: string };
export type VariablesParams = G.VariablesParams & { ref?: number; start?: number; count?: number };
export type VariableInfo = G.VariableInfo & { ref?: number; length?: number; shape?: string };
export type VariablesResult = { variables: VariableInfo[]; total?: number };

export interface ExecStartParams {
  session: G.Session;
  requestId: G.RequestId;
  tag?: string;
  execCount: number | null;
}
export interface ClearOutputParams {
  session: G.Session;
  requestId: G.RequestId | null;
  tag?: string;
  execCount: number | null;
  wait: boolean;
  seq?: number;
}
export interface TaskErrorParams {
  session: G.Session;
  requestId: G.RequestId | null;
  tag?: string;
  execCount: number | null;
  error: ErrorInfo;
}
export interface SessionAttachParams {
  session: G.Session;
  socket: string;
}
export type SessionAttachResult = G.SessionOpenResult & { attached: true };
