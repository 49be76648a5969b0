#include "clients/cli/client_protocol.h"

namespace asyncode::cli {
namespace {

using rpc::ObjectMapper;

// A string that must be one of `names`, as an enum.
template <class E, std::size_t N>
E decodeChoice(const Json& j, const std::string& path, const std::pair<const char*, E> (&names)[N]) {
  std::string s;
  rpc::decode(j, s, path);
  for (const auto& [name, value] : names)
    if (s == name) return value;
  throw rpc::DecodeError(path + ": unexpected value \"" + s + "\"");
}

// The text/plain entry of a MimeBundle.
std::optional<std::string> plainText(const Json& bundle) {
  if (!bundle.is_object()) return std::nullopt;
  const auto it = bundle.find("text/plain");
  if (it == bundle.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

void putSession(Json& j, const std::string& session) {
  if (session != rpc::kDefaultSession) j["session"] = session;
}

}  // namespace

void to_json(Json& j, const None&) { j = nullptr; }
void decode(const Json&, None&, const std::string&) {}

void to_json(Json& j, const InitializeParams& p) {
  j = Json{{"clientInfo", {{"name", p.clientName}, {"version", p.clientVersion}}},
           {"capabilities", {{"input", p.input}}}};
}

void decode(const Json& j, InitializeResult& out, const std::string& path) {
  Json server, python;
  ObjectMapper(j, path).required("serverInfo", server).required("python", python).required("backends", out.backends);
  ObjectMapper(server, path + ".serverInfo").required("name", out.serverName).required("version", out.serverVersion);
  ObjectMapper(python, path + ".python").required("version", out.pythonVersion);
}

void to_json(Json& j, const SessionOpenParams& p) {
  j = Json::object();
  putSession(j, p.session);
  if (p.backend) j["backend"] = *p.backend;
  if (p.cwd) j["cwd"] = *p.cwd;
  if (p.python) j["python"] = *p.python;
}

void decode(const Json& j, SessionInfo& out, const std::string& path) {
  ObjectMapper(j, path).required("session", out.session).required("pid", out.pid).required("backend", out.backend);
}

void to_json(Json& j, const CompileParams& p) {
  j = Json{{"code", p.code}, {"mode", rpc::toString(p.mode)}};
  putSession(j, p.session);
}

void decode(const Json& j, CompileResult& out, const std::string& path) {
  static constexpr std::pair<const char*, CompileStatus> kNames[] = {
      {"complete", CompileStatus::complete}, {"incomplete", CompileStatus::incomplete}, {"invalid", CompileStatus::invalid}};
  Json status;
  std::optional<std::string> indent;
  ObjectMapper(j, path).required("status", status).optional("indent", indent);
  out.status = decodeChoice(status, path + ".status", kNames);
  out.indent = indent.value_or("");
}

void to_json(Json& j, const ExecParams& p) {
  j = Json{{"code", p.code}, {"mode", rpc::toString(p.mode)}};
  putSession(j, p.session);
  if (p.filename) j["filename"] = *p.filename;
  if (p.silent) j["silent"] = true;
}

void decode(const Json& j, ErrorInfo& out, const std::string& path) {
  ObjectMapper(j, path).required("type", out.type).required("message", out.message).required("formatted", out.formatted);
}

void decode(const Json& j, ExecResult& out, const std::string& path) {
  static constexpr std::pair<const char*, ExecStatus> kNames[] = {{"ok", ExecStatus::ok},
                                                                  {"error", ExecStatus::error},
                                                                  {"interrupted", ExecStatus::interrupted},
                                                                  {"timeout", ExecStatus::timeout}};
  Json status;
  std::optional<Json> result;
  ObjectMapper(j, path)
      .required("execCount", out.execCount)
      .required("status", status)
      .optional("result", result)
      .optional("error", out.error);
  out.status = decodeChoice(status, path + ".status", kNames);
  if (result) out.resultText = plainText(*result);
}

void to_json(Json& j, const InterruptParams& p) {
  j = Json::object();
  putSession(j, p.session);
}

void decode(const Json& j, InterruptResult& out, const std::string& path) {
  ObjectMapper(j, path).required("interrupted", out.interrupted);
}

void to_json(Json& j, const CompleteParams& p) {
  j = Json{{"code", p.code}, {"cursor", p.cursor}};
  putSession(j, p.session);
}

void decode(const Json& j, CompleteResult& out, const std::string& path) {
  Json matches;
  ObjectMapper(j, path)
      .required("matches", matches)
      .required("cursorStart", out.cursorStart)
      .required("cursorEnd", out.cursorEnd);
  if (!matches.is_array()) rpc::decodeFailure(path + ".matches", "an array", matches);
  for (std::size_t i = 0; i < matches.size(); ++i) {
    std::string text;
    ObjectMapper(matches[i], path + ".matches[" + std::to_string(i) + "]").required("text", text);
    out.matches.push_back(std::move(text));
  }
}

void decode(const Json& j, OutputParams& out, const std::string& path) {
  static constexpr std::pair<const char*, Stream> kNames[] = {{"stdout", Stream::out}, {"stderr", Stream::err}};
  Json stream;
  ObjectMapper(j, path).required("session", out.session).required("stream", stream).required("text", out.text);
  out.stream = decodeChoice(stream, path + ".stream", kNames);
}

void decode(const Json& j, DisplayParams& out, const std::string& path) {
  Json data;
  ObjectMapper(j, path).required("session", out.session).required("data", data);
  out.text = plainText(data);
}

void decode(const Json& j, StatusParams& out, const std::string& path) {
  ObjectMapper(j, path).required("session", out.session).required("state", out.state);
}

void decode(const Json& j, InputParams& out, const std::string& path) {
  ObjectMapper(j, path)
      .required("session", out.session)
      .required("prompt", out.prompt)
      .optionalOr("password", out.password);
}

void to_json(Json& j, const InputAnswer& a) { j = Json{{"value", a.value}}; }

}  // namespace asyncode::cli
