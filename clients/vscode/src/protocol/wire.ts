// The wire's types as the extension uses them: all generated from schema/protocol.schema.json
// (scripts/gen-protocol.mjs), which describes protocol revision 1. A revision-0 daemon leaves
// revision 1's fields out; the code that reads them (daemon.ts, runs.ts) checks they are there.
export type {
  Backend, ClearOutputParams, CompileParams, CompileResult, CompileStatus, CompletionMatch, CompleteParams,
  CompleteResult, DisplayParams, ErrorInfo, ExecParams, ExecResult, ExecStartParams, ExecStatus,
  InitializeParams, InitializeResult, InputParams, InputResult, InspectParams, InspectResult, InterruptHow,
  InterruptParams, InterruptResult, LogLevel, LogParams, MimeBundle, Mode, OutputParams, PositionEncoding,
  RequestId, Session, SessionAttachParams, SessionAttachResult, SessionOpenParams, SessionOpenResult,
  SessionState, StatusParams, StatusReason, Stream, SyntaxErrorInfo, TaskErrorParams, TracebackFrame,
  VariableInfo, VariablesParams, VariablesResult,
} from './generated';
