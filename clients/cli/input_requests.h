// The daemon's `input` requests (input() and getpass() in user code), answered from the
// terminal one at a time, in order; `$/cancelRequest` withdraws one when input() stops
// waiting. Ctrl-C while one is asked interrupts the running code, as it would in Python.
#pragma once

#include <deque>
#include <functional>

#include "clients/cli/daemon_link.h"
#include "clients/cli/prompter.h"
#include "rpc/dispatcher.h"

namespace asyncode::cli {

class InputRequests {
 public:
  // Who asks a question (the editor; a reader without echo for passwords); null: nobody
  // can (stdin was the code itself), and the request is answered with end of input.
  using PrompterFor = std::function<Prompter*(bool password)>;
  struct Hooks {
    std::function<void()> beforeAsking;  // a question is about to go on screen
    std::function<void()> doneAsking;    // no question is left
  };

  InputRequests(DaemonLink& link, PrompterFor prompterFor, Hooks hooks = {});
  InputRequests(const InputRequests&) = delete;
  InputRequests& operator=(const InputRequests&) = delete;

  // A question is on screen.
  [[nodiscard]] bool asking() const { return asking_; }
  // Ctrl-C: the question goes, and the running code is interrupted; when nothing was
  // running (a background task's input()), the request is answered with end of input.
  void interrupt();

 private:
  struct Pending {
    InputParams params;
    rpc::ReplyOnce reply;
    bool interrupted = false;  // taken off the screen by Ctrl-C, waiting for the daemon
  };
  void onInput(const InputParams& params, rpc::ReplyOnce reply);
  void onCancel(const rpc::Id& id);
  void askNext();
  void answer(const rpc::Id& id, std::optional<std::string> line);
  // Tab at pdb's prompt: its commands, and names in the frame it is paused at.
  void completeDebuggerLine(const std::string& line, std::size_t point, std::function<void(Completion)> done);

  DaemonLink& link_;
  PrompterFor prompterFor_;
  Hooks hooks_;
  std::deque<Pending> queue_;
  Prompter* prompter_ = nullptr;  // the one asking, while asking_
  bool asking_ = false;
};

}  // namespace asyncode::cli
