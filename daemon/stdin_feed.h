// A session's stdin stream (session/open's stdinStream): bytes pulled from the client with
// `stdin/read` requests and written into the stdin pipe of the session's worker, whose fd 0
// it is (sys.stdin, and the processes user code starts). Up to kInFlight requests at a time,
// so that the client reads the next bytes while the daemon passes on the last ones; answers go
// into the pipe in the order the requests were sent, whatever order they come back in. A
// request is sent only while what the feed holds (not yet in the pipe) and what the requests
// out may bring stay within kWindow bytes, so a client that has a gigabyte to send waits while
// the script reads slowly.
// When the client says eof (or answers an error), the pipe's end is closed after its bytes.
// A worker that dies loses what its pipe held; the rest of the stream goes to the next one.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "protocol/protocol.h"
#include "rpc/peer.h"
#include "rpc/uv_handle.h"

namespace asyncode::daemon {

class WorkerHandle;

class StdinFeed : public std::enable_shared_from_this<StdinFeed> {
 public:
  static constexpr std::size_t kChunk = 64 * 1024;  // maxBytes of each stdin/read
  static constexpr std::size_t kInFlight = 2;
  static constexpr std::size_t kWindow = 2 * kChunk;

  StdinFeed(uv_loop_t* loop, rpc::Peer& client, std::string session);
  ~StdinFeed();
  StdinFeed(const StdinFeed&) = delete;
  StdinFeed& operator=(const StdinFeed&) = delete;

  // The session's worker from now on (its stdin pipe); detach() before it goes.
  void attach(WorkerHandle& worker);
  void detach();

 private:
  void pump();
  void ask();
  void onAnswer(std::uint64_t read, rpc::Answer<protocol::StdinReadResult> a);
  void collect();
  void waitWritable();
  void stopPolling();
  static void onWritable(uv_poll_t* poll, int status, int events);

  uv_loop_t* loop_;
  rpc::Peer& client_;
  std::string session_;
  WorkerHandle* worker_ = nullptr;
  rpc::UvHandle<uv_poll_t> poll_;  // on the pipe's end, while the worker has it
  bool polling_ = false;           // for room, while the pipe is full
  std::string pending_;            // answers' bytes, in order, not all in the pipe yet
  std::size_t offset_ = 0;         // how many of them are
  // The requests out, oldest first, each with its answer once it came (bytes, eof) or
  // nullopt for an error answer.
  struct Read {
    std::uint64_t number;
    bool answered = false;
    std::optional<std::string> bytes;
    bool eof = false;
  };
  std::deque<Read> reads_;
  std::uint64_t nextRead_ = 0;
  bool eof_ = false;  // the client said so (or failed): nothing more is asked for
};

}  // namespace asyncode::daemon
