// Output on its way from workers to the client. A worker's fd 1 and 2 carry both Python-level
// output, in frames that name the exec owning it (output_frames.h), and bytes that C code and
// child processes wrote, which belong to the exec running when they are read. Both become
// `output` (and `display`) notifications of the worker's session, in the order they were
// written. Backpressure: when the client reads slowly the workers' pipes are no longer read, so
// that user code blocks in print() rather than the daemon's memory growing.
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

class OutputRouter {
 public:
  // The exec that owns fd-level output of a worker now (the session's running exec).
  using OwnerOf = std::function<std::optional<ExecQueue::Owner>(const Worker&)>;

  OutputRouter(rpc::Peer& client, WorkerPool& pool, const ClientState& state, OwnerOf ownerOf);

  // Output and displays a worker sends as notifications (one without output pipes).
  void bind(Worker& w);
  // Bytes read from a worker's fd 1 or 2.
  void onOutput(Worker& w, protocol::Stream stream, std::string_view bytes);
  // Everything a worker's pipes still hold, now (before an exec's answer, after a death).
  void drain(Worker& w);
  void forget(WorkerId id) { pipes_.erase(id); }

  // A message for the client, counted for backpressure.
  void send(std::string_view body);
  // The client's link wrote some: reading resumes below the low marks.
  void onClientWritten();

 private:
  struct Pipes {  // what is read from one worker
    explicit Pipes(const Magic& m) : demux{FrameDemuxer(m), FrameDemuxer(m)} {}
    FrameDemuxer demux[2];
    std::string displayParts[2];
    support::Utf8Decoder decoders[2];
  };
  Pipes& pipesOf(const Worker& w);
  void onPlainOutput(Worker& w, protocol::Stream stream, std::string_view bytes);
  void onFrame(Worker& w, protocol::Stream stream, char kind, std::string_view owner, std::string_view payload);
  void sendOutput(protocol::OutputParams params);

  rpc::Peer& client_;
  WorkerPool& pool_;
  const ClientState& state_;
  OwnerOf ownerOf_;
  std::map<WorkerId, Pipes> pipes_;
  bool outputPaused_ = false;
  bool clientPaused_ = false;
};

}  // namespace asyncode::daemon
