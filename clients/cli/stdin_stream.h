// The client's own stdin as the session's stdin stream (`asyncode run` and `-c` when stdin is
// a pipe or a file): each `stdin/read` of the daemon is answered with what stdin has next,
// at most maxBytes, once some is there (so a slow writer holds nothing up but the reader),
// in the order the requests came (the daemon may have more than one out).
// UTF-8 goes as text (a character split between two reads waits for its end); other bytes go
// as base64. End of input answers eof.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "clients/cli/daemon_link.h"
#include "clients/cli/input_source.h"

namespace asyncode::cli {

// How many leading bytes of `bytes` are whole UTF-8 characters when what follows is the start
// of one (cut by the end of the read); nullopt when `bytes` holds something that is not UTF-8.
std::optional<std::size_t> utf8TextPrefix(std::string_view bytes);

class StdinStream {
 public:
  StdinStream(DaemonLink& link, InputSource& source);
  StdinStream(const StdinStream&) = delete;
  StdinStream& operator=(const StdinStream&) = delete;

 private:
  void onRead(const StdinReadParams& params, rpc::Reply<StdinReadResult> reply);
  void onReadable();
  void answer(std::string bytes, bool eof);

  InputSource& source_;
  struct Request {
    rpc::Reply<StdinReadResult> reply;
    std::size_t max;
  };
  std::deque<Request> requests_;  // the daemon's, oldest (the one being answered) first
  std::string carry_;  // the start of a character cut by the last read
  bool ended_ = false;
};

}  // namespace asyncode::cli
