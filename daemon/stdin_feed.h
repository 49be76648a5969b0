// A session's stdin stream (session/open's stdinStream): bytes pulled from the client with
// `stdin/read` requests and written into the stdin pipe of the session's worker, whose fd 0
// it is (sys.stdin, and the processes user code starts). One request at a time, and the next
// only once the last answer's bytes are all in the pipe: the feed holds at most one answer
// (kChunk bytes), so a client that has a gigabyte to send waits while the script reads slowly.
// When the client says eof (or answers an error), the pipe's end is closed after its bytes.
// A worker that dies loses what its pipe held; the rest of the stream goes to the next one.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>

#include "protocol/protocol.h"
#include "rpc/peer.h"
#include "rpc/uv_handle.h"

namespace asyncode::daemon {

class WorkerHandle;

class StdinFeed : public std::enable_shared_from_this<StdinFeed> {
 public:
  static constexpr std::size_t kChunk = 64 * 1024;

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
  void onAnswer(rpc::Answer<protocol::StdinReadResult> a);
  void waitWritable();
  void stopPolling();
  void finish(const char* why);
  static void onWritable(uv_poll_t* poll, int status, int events);

  uv_loop_t* loop_;
  rpc::Peer& client_;
  std::string session_;
  WorkerHandle* worker_ = nullptr;
  rpc::UvHandle<uv_poll_t> poll_;  // on the pipe's end, while the worker has it
  bool polling_ = false;           // for room, while the pipe is full
  std::string pending_;            // the last answer's bytes not yet in the pipe
  std::size_t offset_ = 0;         // how many of them are
  bool asking_ = false;
  bool eof_ = false;               // the client said so (or failed): nothing more will come
};

}  // namespace asyncode::daemon
