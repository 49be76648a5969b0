// Output on its way from workers to the client. A worker's fd 1 pipe carries Python-level
// output of both streams, displays and the other notifications that must keep their order
// with output (execStart, clearOutput, taskError), in frames (output_frames.h), and bytes
// that C code and child processes wrote; its fd 2 pipe carries what they wrote to stderr.
// Fd-level bytes belong to the exec running when they are read. Everything becomes
// notifications of the worker's session, in the order it was written, each numbered by the
// session's `seq` (revision 1).
//
// Nothing a worker sends is trusted: a frame is parsed with the client's limits and decoded
// into the link schema's structs, a seq names an exec only when the session sent it, and a
// worker that breaks these rules is restarted (Hooks::broken).
//
// Backpressure: when the client reads slowly the workers' pipes are no longer read, so that
// user code blocks in print() rather than the daemon's memory growing.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/client_state.h"
#include "daemon/exec_queue.h"
#include "daemon/output_frames.h"
#include "daemon/worker_pool.h"
#include "protocol/protocol.h"
#include "protocol/worker_link.h"
#include "rpc/peer.h"
#include "support/utf8.h"

namespace asyncode::daemon {

// Output held for the client above this stops the reading of workers; below the low mark it
// resumes. A client that sends requests without reading answers is not read above the hard limit.
inline constexpr std::size_t kClientHighWater = 1 << 20;
inline constexpr std::size_t kClientLowWater = 256 << 10;
inline constexpr std::size_t kClientHardLimit = 64 << 20;
// At most this much is read from a worker's pipes at once when they are drained.
inline constexpr std::size_t kDrainLimit = 4 << 20;
// The largest message a worker may send in frames (a display's JSON): the client's own limit.
inline constexpr std::size_t kMaxWorkerMessage = 64 << 20;
// Output read from a worker while it waits behind an exec's start: above this, its pipes pause.
inline constexpr std::size_t kMaxHeldOutput = 1 << 20;

class OutputRouter {
 public:
  struct Hooks {
    // The exec with this seq (nullopt: the one running now, for fd-level output).
    std::function<std::optional<ExecQueue::Owner>(const Worker&, std::optional<std::int64_t> seq)> ownerOf;
    // worker/execStart: false while an earlier exec is not answered (the output waits).
    std::function<bool(Worker&, const protocol::link::ExecStartParams&)> started;
    // The worker broke the link's rules: it is restarted.
    std::function<void(Worker&, const std::string& why)> broken;
  };

  OutputRouter(rpc::Peer& client, WorkerPool& pool, const ClientState& state, Hooks hooks);

  // Output and displays a worker sends as notifications (one without output pipes).
  void bind(Worker& w);
  // Bytes read from a worker's fd 1 or 2.
  void onOutput(Worker& w, protocol::Stream stream, std::string_view bytes);
  // Everything a worker's pipes still hold, now (before an exec's answer, after a death).
  void drain(Worker& w);
  // An exec was answered: output held behind the next one's start goes on.
  void resume(Worker& w);
  void forget(WorkerId id) { pipes_.erase(id); }

  // A message for the client, counted for backpressure.
  void send(std::string_view body);
  // The client's link wrote some: reading resumes below the low marks.
  void onClientWritten();

 private:
  struct Pipes {  // what is read from one worker
    explicit Pipes(const Magic& m) : demux{FrameDemuxer(m), FrameDemuxer(m)} {}
    FrameDemuxer demux[2];
    std::string message;  // parts of a JSON message ('j' frames)
    support::Utf8Decoder decoders[2];
    bool held = false;    // stopped at an exec's start until the exec before it is answered
    bool broken = false;  // the worker broke the rules: nothing more of it is read
  };
  Pipes& pipesOf(const Worker& w);
  void feed(Worker& w, protocol::Stream stream, std::string_view bytes);
  void onPlainOutput(Worker& w, protocol::Stream stream, std::string_view bytes);
  bool onFrame(Worker& w, char kind, std::string_view owner, std::string_view payload);
  bool onMessage(Worker& w, std::string_view body);
  void breakLink(Worker& w, const std::string& why);
  bool live(const Worker& w) const;
  std::optional<ExecQueue::Owner> ownerOf(const Worker& w, std::optional<std::int64_t> seq);
  std::int64_t nextSeq(const Worker& w) { return ++seqs_[w.session]; }

  void sendOutput(Worker& w, const std::optional<ExecQueue::Owner>& owner, protocol::Stream stream, std::string text);
  void onDisplay(Worker& w, const protocol::link::DisplayParams& p);
  void onClearOutput(Worker& w, const protocol::link::ClearOutputParams& p);
  void onTaskError(Worker& w, const protocol::link::TaskErrorParams& p);

  rpc::Peer& client_;
  WorkerPool& pool_;
  const ClientState& state_;
  Hooks hooks_;
  std::map<WorkerId, Pipes> pipes_;
  std::map<std::string, std::int64_t> seqs_;  // per session: the last seq sent
  bool outputPaused_ = false;
  bool clientPaused_ = false;
};

}  // namespace asyncode::daemon
