#include "rpc/protocol.h"

#include <array>
#include <utility>

namespace asyncode::rpc {
namespace {

template <class E, std::size_t N>
void decodeEnum(const Json& j, E& out, const std::string& path, const std::array<std::pair<const char*, E>, N>& names) {
  std::string s;
  decode(j, s, path);
  std::string choices;
  for (const auto& [name, value] : names) {
    if (s == name) {
      out = value;
      return;
    }
    choices += choices.empty() ? "" : ", ";
    choices += std::string("\"") + name + "\"";
  }
  throw DecodeError(path + ": expected one of " + choices + ", got \"" + s + "\"");
}

constexpr std::array<std::pair<const char*, Mode>, 3> kModes{{
    {"cell", Mode::cell}, {"interactive", Mode::interactive}, {"module", Mode::module}}};
constexpr std::array<std::pair<const char*, Backend>, 2> kBackends{{
    {"asyncio", Backend::asyncio}, {"trio", Backend::trio}}};

}  // namespace

const char* toString(Mode m) {
  switch (m) {
    case Mode::cell: return "cell";
    case Mode::interactive: return "interactive";
    case Mode::module: return "module";
  }
  return "cell";
}
void decode(const Json& j, Mode& out, const std::string& path) { decodeEnum(j, out, path, kModes); }

const char* toString(Backend b) { return b == Backend::trio ? "trio" : "asyncio"; }
void decode(const Json& j, Backend& out, const std::string& path) { decodeEnum(j, out, path, kBackends); }

const char* toString(SessionState s) {
  switch (s) {
    case SessionState::starting: return "starting";
    case SessionState::idle: return "idle";
    case SessionState::busy: return "busy";
    case SessionState::dead: return "dead";
  }
  return "dead";
}

const char* toString(InterruptHow h) {
  switch (h) {
    case InterruptHow::none: return "";
    case InterruptHow::cancelled: return "cancelled";
    case InterruptHow::keyboardInterrupt: return "keyboardInterrupt";
    case InterruptHow::restarted: return "restarted";
  }
  return "";
}

InterruptHow interruptHowFromString(const std::string& s) {
  if (s == "cancelled") return InterruptHow::cancelled;
  if (s == "keyboardInterrupt") return InterruptHow::keyboardInterrupt;
  if (s == "restarted") return InterruptHow::restarted;
  return InterruptHow::none;
}

void decode(const Json& j, ClientInfo& out, const std::string& path) {
  ObjectMapper(j, path).required("name", out.name).optional("version", out.version);
}

void decode(const Json& j, ClientCapabilities& out, const std::string& path) {
  ObjectMapper(j, path).optional("input", out.input);
}

void decode(const Json& j, InitializeParams& out, const std::string& path) {
  ObjectMapper(j, path).optional("clientInfo", out.clientInfo).optional("capabilities", out.capabilities);
}

void to_json(Json& j, const InitializeResult& r) {
  j = Json{{"serverInfo", {{"name", r.serverName}, {"version", r.serverVersion}}},
           {"protocolVersion", kProtocolVersion},
           {"python", {{"version", r.pythonVersion}, {"executable", r.pythonExecutable}}},
           {"backends", r.backends}};
}

void decode(const Json& j, SessionParams& out, const std::string& path) {
  ObjectMapper(j, path).optionalOr("session", out.session);
}

void decode(const Json& j, SessionOpenParams& out, const std::string& path) {
  ObjectMapper(j, path)
      .optionalOr("session", out.session)
      .optionalOr("backend", out.backend)
      .optionalOr("syncInLoop", out.syncInLoop)
      .optional("cwd", out.cwd)
      .optional("env", out.env)
      .optional("python", out.python);
}

void to_json(Json& j, const SessionInfo& r) {
  j = Json{{"session", r.session}, {"pid", r.pid}, {"backend", toString(r.backend)}};
}

void to_json(Json& j, const SessionListEntry& r) {
  j = Json{{"session", r.session}, {"pid", r.pid}, {"backend", toString(r.backend)}, {"state", toString(r.state)}};
}

void decode(const Json& j, CompileParams& out, const std::string& path) {
  ObjectMapper(j, path).required("code", out.code).optional("mode", out.mode).optionalOr("session", out.session);
}

void decode(const Json& j, ExecParams& out, const std::string& path) {
  ObjectMapper(j, path)
      .required("code", out.code)
      .optionalOr("mode", out.mode)
      .optionalOr("session", out.session)
      .optional("filename", out.filename)
      .optionalOr("silent", out.silent)
      .optional("timeoutMs", out.timeoutMs);
  if (out.timeoutMs && *out.timeoutMs < 0) throw DecodeError(path + ".timeoutMs: must not be negative");
}

void decode(const Json& j, InterruptParams& out, const std::string& path) {
  ObjectMapper(j, path).optionalOr("session", out.session).optionalOr("graceMs", out.graceMs);
  if (out.graceMs < 0) throw DecodeError(path + ".graceMs: must not be negative");
}

void decode(const Json& j, CursorParams& out, const std::string& path) {
  ObjectMapper(j, path).required("code", out.code).required("cursor", out.cursor).optionalOr("session", out.session);
  if (out.cursor < 0) throw DecodeError(path + ".cursor: must not be negative");
}

void decode(const Json& j, CancelParams& out, const std::string& path) {
  ObjectMapper(j, path).required("id", out.id);
  if (!out.id.is_string() && !out.id.is_number_integer()) decodeFailure(path + ".id", "an integer or a string", out.id);
}

void to_json(Json& j, const InterruptResult& r) {
  j = Json{{"interrupted", r.interrupted}};
  if (r.how != InterruptHow::none) j["how"] = toString(r.how);
}

void to_json(Json& j, const StatusParams& p) {
  j = Json{{"session", p.session}, {"state", toString(p.state)}};
  if (p.pid) j["pid"] = *p.pid;
}

void to_json(Json& j, const LogParams& p) { j = Json{{"level", p.level}, {"message", p.message}}; }

void decode(const Json& j, InputAnswer& out, const std::string& path) {
  ObjectMapper(j, path).required("value", out.value);
}

}  // namespace asyncode::rpc
