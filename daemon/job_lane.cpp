#include "daemon/job_lane.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "daemon/engine_protocol.h"

namespace asyncode::daemon {

namespace link = protocol::link;

JobLaneImpl::JobLaneImpl(int fd) : fd_(fd), dispatcher_([this](std::string body) { write(body); }) {
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  bindHandlers();
}

void JobLaneImpl::bindHandlers() {
  dispatcher_.bind(link::methods::exec, this, &JobLaneImpl::onExec);
  dispatcher_.bind(link::methods::workerConfigure, this, &JobLaneImpl::onConfigure);
  dispatcher_.bind(link::methods::reset, [this](const protocol::NoParams&, rpc::Reply<std::nullptr_t> reply) {
    const std::uint64_t seq = nextJob_++;
    resets_.emplace(seq, std::move(reply));
    out_->push_back(core::Job{core::Job::Kind::Reset, seq, {}, {}, {}});
  });
  dispatcher_.bind(link::methods::shutdown, [this](const protocol::NoParams&, rpc::Reply<std::nullptr_t> reply) {
    reply(nullptr);
    out_->push_back(core::Job{core::Job::Kind::Shutdown, 0, {}, {}, {}});
  });
  dispatcher_.bind(link::methods::workerPreload, [this](const protocol::NoParams&) {
    out_->push_back(core::Job{core::Job::Kind::Preload, 0, {}, {}, {}});
  });
  // The terminal in order with the execs (the control link has it at once too).
  dispatcher_.bind(link::methods::workerTerminal, [this](const protocol::Terminal& t) {
    out_->push_back(core::Job{core::Job::Kind::Terminal, 0, {}, {}, toCore(t)});
  });
}

void JobLaneImpl::onExec(const link::ExecParams& p, rpc::Reply<link::ExecResult> reply) {
  core::Job job;
  job.kind = core::Job::Kind::Exec;
  job.seq = static_cast<std::uint64_t>(p.seq);
  job.exec.seq = job.seq;
  job.exec.code = p.params.code;
  job.exec.mode = toCore(p.params.mode);
  job.exec.filename = p.params.filename;
  job.exec.firstLine = static_cast<int>(std::min<std::int64_t>(p.params.firstLine, 10'000'000));  // the schema's maximum
  job.exec.positionEncoding = protocol::toString(p.positionEncoding);
  job.exec.silent = p.params.silent;
  job.exec.ownerTag = std::to_string(p.seq);  // output names its exec by seq; the supervisor knows the rest
  job.exec.announceStart = p.params.timeoutMs.has_value();  // the supervisor times it from its start
  execs_.emplace(job.seq, std::move(reply));
  out_->push_back(std::move(job));
}

void JobLaneImpl::onConfigure(const link::ConfigureParams& p, rpc::Reply<link::ConfigureResult> reply) {
  core::Job job;
  job.kind = core::Job::Kind::Configure;
  job.seq = nextJob_++;
  job.configure = core::ConfigureRequest{protocol::toString(p.backend), p.syncInLoop, p.cwd, p.input, std::nullopt, p.stdinStream};
  if (p.terminal) job.configure.terminal = toCore(*p.terminal);
  configures_.emplace(job.seq, std::move(reply));
  out_->push_back(std::move(job));
}

void JobLaneImpl::read(std::deque<core::Job>& out) {
  out_ = &out;
  char buf[65536];
  while (!ended_) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      decoder_.feed(
          std::string_view(buf, static_cast<std::size_t>(n)), [&](std::string&& body) { onBody(body); },
          [](const rpc::FrameError& e) { spdlog::error("exec lane: {}", e.message); });
    } else if (n == 0) {
      ended_ = true;  // the supervisor is gone: the control link's end kills this process
    } else if (errno != EINTR) {
      break;  // EAGAIN: all read
    }
  }
  out_ = nullptr;
}

void JobLaneImpl::onBody(const std::string& body) {
  auto parsed = rpc::parseMessage(body);
  auto* message = std::get_if<rpc::Message>(&parsed);
  if (!message) return spdlog::error("exec lane: {}", std::get<rpc::BadMessage>(parsed).error.message);
  if (auto* r = std::get_if<rpc::Request>(message)) return dispatcher_.dispatch(std::move(*r));
  if (auto* n = std::get_if<rpc::Notification>(message)) dispatcher_.dispatch(*n);
}

void JobLaneImpl::execStarted(std::uint64_t seq, std::optional<int> count) {
  const link::ExecStartedParams p{static_cast<std::int64_t>(seq), count ? std::optional<std::int64_t>(*count) : std::nullopt};
  write(rpc::serializeNotification(link::methods::workerExecStarted.method, rpc::Json(p)));
}

void JobLaneImpl::execDone(const core::ExecOutcome& outcome) {
  if (outcome.execCount) lastCount_ = *outcome.execCount;
  const auto it = execs_.find(outcome.seq);
  if (it == execs_.end()) return;
  auto reply = std::move(it->second);
  execs_.erase(it);
  reply(link::ExecResult{toProtocol(outcome, lastCount_), toProtocol(outcome.how)});
}

void JobLaneImpl::execCancelled(std::uint64_t seq) {
  const auto it = execs_.find(seq);
  if (it == execs_.end()) return;
  auto reply = std::move(it->second);
  execs_.erase(it);
  reply.error(rpc::ErrorCode::RequestCancelled, "the exec was cancelled before it started");
}

void JobLaneImpl::jobDone(std::uint64_t seq, const std::optional<std::string>& error) {
  if (const auto it = configures_.find(seq); it != configures_.end()) {
    auto reply = std::move(it->second);
    configures_.erase(it);
    if (error) return reply.error(rpc::ErrorCode::InvalidParams, *error);
    return reply(link::ConfigureResult{::getpid()});
  }
  if (const auto it = resets_.find(seq); it != resets_.end()) {
    auto reply = std::move(it->second);
    resets_.erase(it);
    if (error) return reply.error(rpc::ErrorCode::InvalidParams, *error);
    reply(nullptr);
  }
}

void JobLaneImpl::write(const std::string& body) {
  const std::string frame = rpc::encodeFrame(body);
  const char* p = frame.data();
  std::size_t n = frame.size();
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EAGAIN) {
      pollfd pf{fd_, POLLOUT, 0};
      ::poll(&pf, 1, 1000);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // the supervisor is gone
    }
  }
}

}  // namespace asyncode::daemon
