// The protocol as the client sees it (shared/PROTOCOL.md; schema/protocol.schema.json is
// the truth): each method the client uses is declared once, with the params it sends and
// the result it reads; each message the daemon sends the client, with what it carries.
// Field names are the wire keys. Only the fields the client uses are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/decode.h"
#include "rpc/jsonrpc.h"
#include "rpc/protocol.h"

namespace asyncode::cli {

using rpc::Json;

// A request the client sends: params P, answered by R.
template <class P, class R>
struct RequestType {
  std::string_view method;
};
// A notification the client sends.
template <class P>
struct NotificationType {
  std::string_view method;
};

// No params (absent on the wire), or a null result.
struct None {};
void to_json(Json& j, const None&);
void decode(const Json& j, None& out, const std::string& path);

// ---- lifecycle ---------------------------------------------------------------------
struct InitializeParams {
  std::string clientName;
  std::string clientVersion;
  bool input = true;  // capabilities.input: we answer input() from the terminal
};
void to_json(Json& j, const InitializeParams& p);

struct InitializeResult {
  std::string serverName;
  std::string serverVersion;
  std::string pythonVersion;
  std::vector<std::string> backends;
};
void decode(const Json& j, InitializeResult& out, const std::string& path);

struct SessionOpenParams {
  std::string session = rpc::kDefaultSession;
  std::optional<std::string> backend;
  std::optional<std::string> cwd;
  std::optional<std::string> python;
};
void to_json(Json& j, const SessionOpenParams& p);

struct SessionInfo {
  std::string session;
  std::int64_t pid = 0;
  std::string backend;
};
void decode(const Json& j, SessionInfo& out, const std::string& path);

// ---- code --------------------------------------------------------------------------
struct CompileParams {
  std::string code;
  rpc::Mode mode = rpc::Mode::interactive;
  std::string session = rpc::kDefaultSession;
};
void to_json(Json& j, const CompileParams& p);

enum class CompileStatus { complete, incomplete, invalid };
struct CompileResult {
  CompileStatus status = CompileStatus::complete;
  std::string indent;  // what a continuation line starts with, when incomplete
};
void decode(const Json& j, CompileResult& out, const std::string& path);

struct ExecParams {
  std::string code;
  rpc::Mode mode = rpc::Mode::cell;
  std::string session = rpc::kDefaultSession;
  std::optional<std::string> filename;
  bool silent = false;
};
void to_json(Json& j, const ExecParams& p);

struct ErrorInfo {
  std::string type;
  std::string message;
  std::string formatted;  // the traceback as Python prints it
};
void decode(const Json& j, ErrorInfo& out, const std::string& path);

enum class ExecStatus { ok, error, interrupted, timeout };
struct ExecResult {
  std::int64_t execCount = 0;
  ExecStatus status = ExecStatus::ok;
  std::optional<std::string> resultText;  // result["text/plain"]
  std::optional<ErrorInfo> error;
};
void decode(const Json& j, ExecResult& out, const std::string& path);

struct InterruptParams {
  std::string session = rpc::kDefaultSession;
};
void to_json(Json& j, const InterruptParams& p);

struct InterruptResult {
  bool interrupted = false;
};
void decode(const Json& j, InterruptResult& out, const std::string& path);

struct CompleteParams {
  std::string code;
  std::int64_t cursor = 0;  // code points
  std::string session = rpc::kDefaultSession;
};
void to_json(Json& j, const CompleteParams& p);

struct CompleteResult {
  std::vector<std::string> matches;
  std::int64_t cursorStart = 0;  // code points: the matches replace [cursorStart, cursorEnd)
  std::int64_t cursorEnd = 0;
};
void decode(const Json& j, CompleteResult& out, const std::string& path);

namespace methods {
inline constexpr RequestType<InitializeParams, InitializeResult> initialize{"initialize"};
inline constexpr RequestType<None, None> shutdown{"shutdown"};
inline constexpr NotificationType<None> exit{"exit"};
inline constexpr RequestType<SessionOpenParams, SessionInfo> sessionOpen{"session/open"};
inline constexpr RequestType<CompileParams, CompileResult> compile{"compile"};
inline constexpr RequestType<ExecParams, ExecResult> exec{"exec"};
inline constexpr RequestType<InterruptParams, InterruptResult> interrupt{"interrupt"};
inline constexpr RequestType<CompleteParams, CompleteResult> complete{"complete"};
}  // namespace methods

// ---- what the daemon sends ---------------------------------------------------------
enum class Stream { out, err };  // the user code's stdout and stderr

struct OutputParams {  // notification "output"
  std::string session;
  Stream stream = Stream::out;
  std::string text;
};
void decode(const Json& j, OutputParams& out, const std::string& path);

struct DisplayParams {  // notification "display"
  std::string session;
  std::optional<std::string> text;  // data["text/plain"]
};
void decode(const Json& j, DisplayParams& out, const std::string& path);

struct StatusParams {  // notification "status"
  std::string session;
  std::string state;  // starting, idle, busy, dead
};
void decode(const Json& j, StatusParams& out, const std::string& path);

struct InputParams {  // request "input", answered by InputAnswer
  std::string session;
  std::string prompt;
  bool password = false;
};
void decode(const Json& j, InputParams& out, const std::string& path);

struct InputAnswer {
  std::string value;
};
void to_json(Json& j, const InputAnswer& a);

// notification "$/cancelRequest": the daemon withdraws its input request `id`.
using CancelParams = rpc::CancelParams;

namespace incoming {
inline constexpr std::string_view output = "output";
inline constexpr std::string_view display = "display";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view log = "log";
inline constexpr std::string_view input = "input";
inline constexpr std::string_view cancelRequest = "$/cancelRequest";
}  // namespace incoming

}  // namespace asyncode::cli
