// The worker's end of the exec lane (fd kWorkerLaneFd): the main thread reads the supervisor's
// jobs from it and answers them on it, with no other thread in between. Requests go through an
// rpc::Dispatcher with typed handlers, as on every other link; each handler turns its request
// into a core::Job and keeps the reply until the engine has done the job.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "core/job_lane.h"
#include "protocol/worker_link.h"
#include "rpc/dispatcher.h"
#include "rpc/framing.h"

namespace asyncode::daemon {

class JobLaneImpl final : public core::JobLane {
 public:
  // `fd` is made non-blocking; the lane does not own it.
  explicit JobLaneImpl(int fd);

  [[nodiscard]] int fd() const override { return fd_; }
  void read(std::deque<core::Job>& out) override;
  void execStarted(std::uint64_t seq, std::optional<int> count) override;
  void execDone(const core::ExecOutcome& outcome) override;
  void execCancelled(std::uint64_t seq) override;
  void jobDone(std::uint64_t seq, const std::optional<std::string>& error) override;

 private:
  void bindHandlers();
  void onBody(const std::string& body);
  void onExec(const protocol::link::ExecParams& p, rpc::Reply<protocol::link::ExecResult> reply);
  void onConfigure(const protocol::link::ConfigureParams& p, rpc::Reply<protocol::link::ConfigureResult> reply);
  // One whole frame; waits while the socket is full (the supervisor reads it promptly).
  void write(const std::string& body);

  int fd_;
  rpc::Dispatcher dispatcher_;
  rpc::FrameDecoder decoder_;
  bool ended_ = false;
  std::deque<core::Job>* out_ = nullptr;  // where read() puts the jobs its handlers make
  std::map<std::uint64_t, rpc::Reply<protocol::link::ExecResult>> execs_;
  std::map<std::uint64_t, rpc::Reply<protocol::link::ConfigureResult>> configures_;
  std::map<std::uint64_t, rpc::Reply<std::nullptr_t>> resets_;
  // Reset and configure jobs are keyed from the top of the range, away from exec seqs.
  std::uint64_t nextJob_ = std::uint64_t{1} << 62;
  std::int64_t lastCount_ = 0;
};

}  // namespace asyncode::daemon
