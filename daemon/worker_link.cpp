#include "daemon/worker_link.h"

namespace asyncode::daemon {

using rpc::Json;

Json toJson(const core::MimeBundle& bundle) {
  Json j = Json::object();
  for (const auto& item : bundle) {
    if (item.json) {
      Json parsed = Json::parse(item.data, nullptr, /*allow_exceptions=*/false);
      j[item.mime] = parsed.is_discarded() ? Json(item.data) : std::move(parsed);
    } else {
      j[item.mime] = item.data;
    }
  }
  return j;
}

Json toJson(const core::ErrorInfo& error) {
  Json frames = Json::array();
  for (const auto& f : error.traceback) {
    Json frame{{"filename", f.filename}, {"line", f.line > 0 ? f.line : 1}, {"name", f.name}};
    if (f.source) frame["source"] = *f.source;
    frames.push_back(std::move(frame));
  }
  return Json{{"type", error.type},
              {"message", error.message},
              {"traceback", std::move(frames)},
              {"formatted", error.formatted}};
}

Json toJson(const core::SyntaxErrorInfo& error) {
  Json j{{"type", error.type}, {"message", error.message}, {"line", error.line}, {"column", error.column}};
  if (error.endLine) j["endLine"] = *error.endLine;
  if (error.endColumn) j["endColumn"] = *error.endColumn;
  return j;
}

Json toJson(const core::CompileResult& result) {
  const char* status = result.status == core::CompileStatus::Complete     ? "complete"
                       : result.status == core::CompileStatus::Incomplete ? "incomplete"
                                                                           : "invalid";
  Json j{{"status", status}, {"needsAwait", result.needsAwait}};
  if (result.indent) j["indent"] = *result.indent;
  if (result.error) j["error"] = toJson(*result.error);
  return j;
}

Json toJson(const core::ExecOutcome& outcome, int execCount) {
  const char* status = "ok";
  switch (outcome.status) {
    case core::ExecStatus::Ok: status = "ok"; break;
    case core::ExecStatus::Error: status = "error"; break;
    case core::ExecStatus::Interrupted: status = "interrupted"; break;
    case core::ExecStatus::Timeout: status = "timeout"; break;
  }
  Json j{{"execCount", outcome.execCount.value_or(execCount)},
         {"status", status},
         {"durationMs", outcome.durationMs},
         {"awaited", outcome.awaited}};
  if (outcome.result) j["result"] = toJson(*outcome.result);
  if (outcome.error) j["error"] = toJson(*outcome.error);
  if (outcome.how == core::InterruptHow::Cancelled) j[kInterruptedHowKey] = "cancelled";
  if (outcome.how == core::InterruptHow::KeyboardInterrupt) j[kInterruptedHowKey] = "keyboardInterrupt";
  return j;
}

core::Mode toCore(int mode) {
  switch (mode) {
    case 1: return core::Mode::Interactive;
    case 2: return core::Mode::Module;
    default: return core::Mode::Cell;
  }
}

}  // namespace asyncode::daemon
