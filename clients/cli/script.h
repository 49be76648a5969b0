// Running a program as `python` would, in a session whose event loop allows top-level
// await: a file (asyncode run FILE ARGS...), code (-c CODE ARGS...), or what stdin holds.
// sys.argv is set, output streams as it comes, and the exit status is SystemExit's, or 1
// after an uncaught exception (its traceback on stderr), or 130 after Ctrl-C.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "clients/cli/client.h"
#include "clients/cli/input_requests.h"
#include "clients/cli/input_source.h"
#include "clients/cli/line_reader.h"
#include "clients/cli/options.h"
#include "clients/cli/stdin_stream.h"

namespace asyncode::cli {

struct Program {
  enum class Source { File, Code, Stdin };
  Source source = Source::Stdin;
  std::string path;               // File: as given
  std::string code;               // File, Code: the source (Stdin: read by the Script)
  std::vector<std::string> args;  // sys.argv[1:]
};

// The program the options name, its file read. Empty with `error` set when the file
// cannot be read (as Python: "can't open file ...").
std::optional<Program> loadProgram(const Options& options, std::string& error);

class Script {
 public:
  Script(uv_loop_t* loop, Program program, const SessionOptions& session);
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // Runs it; the exit status.
  int run();

 private:
  void onConnected(Answer<DaemonLink::Ready> ready);
  void readStdin();
  void startWhenReady();
  void onFinished(Answer<ExecResult> result);
  void onInterruptKey();

  Client client_;
  Program program_;
  InputSource stdin_;
  std::unique_ptr<LineReader> reader_;  // input() reads stdin, unless stdin is the program
  std::unique_ptr<StdinStream> stream_;  // or sys.stdin is ours as a stream (session.stdinStream)
  InputRequests inputs_;
  std::string backend_;  // the session's
  bool connected_ = false;
  bool loaded_ = false;
  bool running_ = false;
};

}  // namespace asyncode::cli
