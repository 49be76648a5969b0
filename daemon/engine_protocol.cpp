#include "daemon/engine_protocol.h"

#include "rpc/jsonrpc.h"

namespace asyncode::daemon {

using rpc::Json;

Json toProtocol(const core::MimeBundle& bundle) {
  Json j = Json::object();
  for (const auto& item : bundle) {
    if (item.json) {
      auto parsed = rpc::parseJson(item.data);  // too deep to read back: kept as text
      j[item.mime] = parsed ? std::move(*parsed) : Json(item.data);
    } else {
      j[item.mime] = item.data;
    }
  }
  return j;
}

protocol::ErrorInfo toProtocol(const core::ErrorInfo& error) {
  protocol::ErrorInfo out{error.type, error.message, {}, error.formatted,
                          error.line, error.column, error.endLine, error.endColumn};
  for (const auto& f : error.traceback)
    out.traceback.push_back(protocol::TracebackFrame{f.filename, f.line > 0 ? f.line : 1, f.name, f.source,
                                                     f.column, f.endLine, f.endColumn});
  return out;
}

protocol::SyntaxErrorInfo toProtocol(const core::SyntaxErrorInfo& error) {
  protocol::SyntaxErrorInfo out{error.type, error.message, error.line, error.column, std::nullopt, std::nullopt};
  if (error.endLine) out.endLine = *error.endLine;
  if (error.endColumn) out.endColumn = *error.endColumn;
  return out;
}

protocol::CompileResult toProtocol(const core::CompileResult& result) {
  const auto status = result.status == core::CompileStatus::Complete     ? protocol::CompileStatus::Complete
                      : result.status == core::CompileStatus::Incomplete ? protocol::CompileStatus::Incomplete
                                                                         : protocol::CompileStatus::Invalid;
  protocol::CompileResult out{status, result.needsAwait, result.indent, std::nullopt};
  if (result.error) out.error = toProtocol(*result.error);
  return out;
}

protocol::CompleteResult toProtocol(const core::CompleteResult& result) {
  protocol::CompleteResult out{{}, result.cursorStart, result.cursorEnd};
  for (const auto& m : result.matches) out.matches.push_back(protocol::CompletionMatch{m.text, m.type});
  if (result.timedOut) out.timedOut = true;
  return out;
}

protocol::InspectResult toProtocol(const core::InspectResult& result) {
  protocol::InspectResult out{result.found, std::nullopt};
  if (result.found) out.data = toProtocol(result.data);
  if (result.timedOut) out.timedOut = true;
  return out;
}

protocol::VariablesResult toProtocol(const core::VariablesPage& page) {
  protocol::VariablesResult out;
  out.variables.reserve(page.variables.size());
  for (const auto& v : page.variables) {
    // Every field in the initializer: GCC 12 with ASan warns (maybe-uninitialized) when an
    // optional<string> member is assigned after aggregate initialization.
    out.variables.push_back(protocol::VariableInfo{
        v.name, v.type, v.repr, v.ref != 0 ? std::optional<std::int64_t>(v.ref) : std::nullopt, v.length, v.shape});
  }
  out.total = page.total;
  return out;
}

protocol::ExecResult toProtocol(const core::ExecOutcome& outcome, std::int64_t execCount) {
  protocol::ExecStatus status = protocol::ExecStatus::Ok;
  switch (outcome.status) {
    case core::ExecStatus::Ok: status = protocol::ExecStatus::Ok; break;
    case core::ExecStatus::Error: status = protocol::ExecStatus::Error; break;
    case core::ExecStatus::Interrupted: status = protocol::ExecStatus::Interrupted; break;
    case core::ExecStatus::Timeout: status = protocol::ExecStatus::Timeout; break;
  }
  protocol::ExecResult out{outcome.execCount ? std::int64_t{*outcome.execCount} : execCount, status, std::nullopt, std::nullopt,
                           outcome.durationMs, outcome.awaited};
  if (outcome.result) out.result = toProtocol(*outcome.result);
  if (outcome.error) out.error = toProtocol(*outcome.error);
  return out;
}

std::optional<protocol::InterruptHow> toProtocol(core::InterruptHow how) {
  switch (how) {
    case core::InterruptHow::Cancelled: return protocol::InterruptHow::Cancelled;
    case core::InterruptHow::KeyboardInterrupt: return protocol::InterruptHow::KeyboardInterrupt;
    case core::InterruptHow::TaskInterrupted: return protocol::InterruptHow::TaskInterrupted;
    case core::InterruptHow::None: break;
  }
  return std::nullopt;
}

core::TerminalInfo toCore(const protocol::Terminal& terminal) {
  return core::TerminalInfo{static_cast<int>(terminal.columns), static_cast<int>(terminal.rows), terminal.isatty};
}

protocol::InputKind toProtocol(core::InputKind kind) {
  switch (kind) {
    case core::InputKind::Password: return protocol::InputKind::Password;
    case core::InputKind::Debugger: return protocol::InputKind::Debugger;
    case core::InputKind::Input: break;
  }
  return protocol::InputKind::Input;
}

core::Mode toCore(protocol::Mode mode) {
  switch (mode) {
    case protocol::Mode::Interactive: return core::Mode::Interactive;
    case protocol::Mode::Module: return core::Mode::Module;
    case protocol::Mode::Cell: break;
  }
  return core::Mode::Cell;
}

}  // namespace asyncode::daemon
