// The asyncode wire protocol (shared/PROTOCOL.md; schema/protocol.schema.json is the truth).
// Field names are the wire keys. decode() reads params a client sent; to_json() writes
// results. Values the daemon only forwards from a worker stay JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rpc/decode.h"
#include "rpc/jsonrpc.h"

namespace asyncode::rpc {

inline constexpr int kProtocolVersion = 1;
inline constexpr const char* kDefaultSession = "default";

enum class Mode { cell, interactive, module };
const char* toString(Mode m);
void decode(const Json& j, Mode& out, const std::string& path);

enum class Backend { asyncio, trio };
const char* toString(Backend b);
void decode(const Json& j, Backend& out, const std::string& path);

// ---- lifecycle --------------------------------------------------------------------
struct ClientInfo {
  std::string name;
  std::optional<std::string> version;
};
void decode(const Json& j, ClientInfo& out, const std::string& path);

struct ClientCapabilities {
  std::optional<bool> input;
};
void decode(const Json& j, ClientCapabilities& out, const std::string& path);

struct InitializeParams {
  std::optional<ClientInfo> clientInfo;
  std::optional<ClientCapabilities> capabilities;
};
void decode(const Json& j, InitializeParams& out, const std::string& path);

struct InitializeResult {
  std::string serverName;
  std::string serverVersion;
  std::string pythonVersion;
  std::string pythonExecutable;
  std::vector<std::string> backends;
};
void to_json(Json& j, const InitializeResult& r);

// ---- sessions ---------------------------------------------------------------------
struct SessionParams {
  std::string session = kDefaultSession;
};
void decode(const Json& j, SessionParams& out, const std::string& path);

struct SessionOpenParams {
  std::string session = kDefaultSession;
  Backend backend = Backend::asyncio;
  bool syncInLoop = false;
  std::optional<std::string> cwd;
  std::optional<std::map<std::string, std::string>> env;
  std::optional<std::string> python;
};
void decode(const Json& j, SessionOpenParams& out, const std::string& path);

struct SessionInfo {
  std::string session;
  std::int64_t pid = 0;
  Backend backend = Backend::asyncio;
};
void to_json(Json& j, const SessionInfo& r);

enum class SessionState { starting, idle, busy, dead };
const char* toString(SessionState s);

struct SessionListEntry {
  std::string session;
  std::int64_t pid = 0;
  Backend backend = Backend::asyncio;
  SessionState state = SessionState::starting;
};
void to_json(Json& j, const SessionListEntry& r);

// ---- code -------------------------------------------------------------------------
struct CompileParams {
  std::string code;
  std::optional<Mode> mode;
  std::string session = kDefaultSession;
};
void decode(const Json& j, CompileParams& out, const std::string& path);

struct ExecParams {
  std::string code;
  Mode mode = Mode::cell;
  std::string session = kDefaultSession;
  std::optional<std::string> filename;
  bool silent = false;
  std::optional<std::int64_t> timeoutMs;
};
void decode(const Json& j, ExecParams& out, const std::string& path);

struct InterruptParams {
  std::string session = kDefaultSession;
  std::int64_t graceMs = 2000;
};
void decode(const Json& j, InterruptParams& out, const std::string& path);

struct CursorParams {  // complete, inspect
  std::string code;
  std::int64_t cursor = 0;
  std::string session = kDefaultSession;
};
void decode(const Json& j, CursorParams& out, const std::string& path);

struct CancelParams {
  Id id;
};
void decode(const Json& j, CancelParams& out, const std::string& path);

enum class InterruptHow { none, cancelled, keyboardInterrupt, restarted };
const char* toString(InterruptHow h);
InterruptHow interruptHowFromString(const std::string& s);

struct InterruptResult {
  bool interrupted = false;
  InterruptHow how = InterruptHow::none;
};
void to_json(Json& j, const InterruptResult& r);

// ---- notifications the daemon sends ------------------------------------------------
struct StatusParams {
  std::string session;
  SessionState state = SessionState::starting;
  std::optional<std::int64_t> pid;
};
void to_json(Json& j, const StatusParams& p);

struct LogParams {
  std::string level;
  std::string message;
};
void to_json(Json& j, const LogParams& p);

// ---- the daemon's request to the client ----------------------------------------------
struct InputAnswer {
  std::string value;
};
void decode(const Json& j, InputAnswer& out, const std::string& path);

}  // namespace asyncode::rpc
