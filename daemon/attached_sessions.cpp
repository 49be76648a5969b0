#include "daemon/attached_sessions.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/attached_program.h"
#include "daemon/session_table.h"
#include "support/unique_fd.h"

namespace asyncode::daemon {

namespace methods = protocol::methods;

namespace {

constexpr std::uint64_t kClientWatchMs = 10;

[[noreturn]] void refuse(const std::string& why) { throw rpc::RpcException(rpc::ErrorCode::InvalidParams, why); }

// A connected socket to `path` whose peer is this user; its pid. Throws InvalidParams.
support::UniqueFd connectTo(const std::string& path, std::int64_t& pid) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) refuse("socket: not a usable Unix socket path: " + path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  // Non-blocking: a program whose backlog is full must not stall the daemon.
  support::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) refuse(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    refuse("cannot attach to " + path + ": " + std::strerror(errno));
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    refuse(std::string("cannot attach: SO_PEERCRED: ") + std::strerror(errno));
  if (cred.uid != ::getuid())
    refuse("cannot attach to " + path + ": its program runs as another user (uid " + std::to_string(cred.uid) + ")");
  pid = cred.pid;
  return fd;
}

}  // namespace

AttachedSessions::AttachedSessions(uv_loop_t* loop, rpc::Peer& client, SessionTable& sessions, const ClientState& state)
    : loop_(loop), client_(client), sessions_(sessions), state_(state), reaper_(loop), clientWatch_(loop) {}

AttachedSessions::~AttachedSessions() = default;

AttachedSessions::Program* AttachedSessions::find(const std::string& name) {
  const auto it = programs_.find(name);
  return it == programs_.end() ? nullptr : it->second.get();
}

template <class P, class R>
void AttachedSessions::over(rpc::Dispatcher& d, const rpc::RequestType<P, R>& method) {
  auto inner = d.requestHandler(std::string(method.method));
  d.onRequest(std::string(method.method), [this, inner, method](const rpc::Json& params, rpc::ReplyOnce reply) {
    P p{};
    decode(params, p, "params");
    if (Program* program = find(p.session)) return program->handle(method, p, rpc::Reply<R>(std::move(reply)));
    inner(params, std::move(reply));
  });
}

void AttachedSessions::bind(rpc::Dispatcher& d) {
  d.bind(methods::sessionAttach, this, &AttachedSessions::attach);
  over(d, methods::sessionOpen);
  over(d, methods::sessionRestart);
  over(d, methods::sessionClose);
  over(d, methods::compile);
  over(d, methods::needsAwait);
  over(d, methods::exec);
  over(d, methods::interrupt);
  over(d, methods::complete);
  over(d, methods::inspect);
  over(d, methods::variables);
  over(d, methods::reset);
  d.bind(methods::sessionList, [this](const protocol::NoParams&, rpc::Reply<protocol::SessionListResult> reply) {
    protocol::SessionListResult r = sessions_.list();
    for (const auto& [name, program] : programs_) r.sessions.push_back(program->info());
    reply(r);
  });
  // An attached program has a terminal of its own (or none): session/terminal is not for it.
  auto terminal = d.notificationHandler(std::string(methods::sessionTerminal.method));
  d.onNotification(std::string(methods::sessionTerminal.method), [this, terminal](const rpc::Json& params) {
    protocol::SessionTerminalParams p{};
    decode(params, p, "params");
    if (!find(p.session) && terminal) terminal(params);
  });
  auto cancel = d.notificationHandler(std::string(methods::cancelRequest.method));
  d.onNotification(std::string(methods::cancelRequest.method), [this, cancel](const rpc::Json& params) {
    if (cancel) cancel(params);
    protocol::CancelRequestParams p{};
    decode(params, p, "params");
    for (auto& [name, program] : programs_) program->cancel(p.id);
  });
}

void AttachedSessions::attach(const protocol::SessionAttachParams& p, rpc::Reply<protocol::SessionAttachResult> reply) {
  if (find(p.session) || sessions_.find(p.session))
    refuse("session \"" + p.session + "\" is open already (session/close it first, or attach under another name)");
  std::int64_t pid = 0;
  support::UniqueFd fd = connectTo(p.socket, pid);
  spdlog::info("session \"{}\": attaching to pid {} on {}", p.session, pid, p.socket);
  Program::Events events{[this](Program& program) { gone(program); }, [this] { checkClient(); }};
  auto program = std::make_unique<Program>(loop_, client_, state_, p.session, fd.release(), pid, std::move(events));
  Program& ref = *program;
  programs_.emplace(p.session, std::move(program));
  ref.start(std::move(reply));
}

void AttachedSessions::gone(Program& program) {
  const auto it = programs_.find(program.name());
  if (it == programs_.end() || it->second.get() != &program) return;
  spdlog::info("session \"{}\": the attached program is gone", program.name());
  graveyard_.push_back(std::move(it->second));
  programs_.erase(it);
  // Not now: the program's own link is what called.
  reaper_.once(0, [this] { graveyard_.clear(); });
}

// The client reads slowly: programs' output waits in their sockets (their code blocks in
// print()) rather than in the daemon's memory.
void AttachedSessions::checkClient() {
  if (client_.pendingBytes() <= kAttachClientHighWater || clientWatch_.active()) return;
  for (auto& [name, program] : programs_) program->pauseReading();
  clientWatch_.every(kClientWatchMs, [this] {
    if (client_.pendingBytes() > kAttachClientHighWater / 2 && client_.canWrite()) return;
    clientWatch_.stop();
    for (auto& [name, program] : programs_) program->resumeReading();
  });
}

void AttachedSessions::closeAll(const std::string& why) {
  for (auto& [name, program] : programs_) program->failAll(rpc::ErrorCode::RequestCancelled, why);
  for (auto& [name, program] : programs_) graveyard_.push_back(std::move(program));
  programs_.clear();
  reaper_.once(0, [this] { graveyard_.clear(); });
}

}  // namespace asyncode::daemon
