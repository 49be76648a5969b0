// Lines read from standard input without editing: for input() in scripts, the prompt
// when the terminal cannot edit (stdout is not a terminal), and passwords (echo off).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "clients/cli/input_source.h"
#include "clients/cli/prompter.h"
#include "clients/cli/terminal.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

class LineReader : public Prompter {
 public:
  LineReader(uv_loop_t* loop, InputSource& in);

  void ask(Question question, AnswerFn onAnswer) override;
  void abandon() override;
  std::string withdraw() override;
  [[nodiscard]] bool asking() const override { return static_cast<bool>(onAnswer_); }

  // The prompt is plain text already written: nothing to redraw.
  [[nodiscard]] bool onScreen() const override { return false; }
  void hide() override {}
  void show() override {}

 private:
  void onReadable();
  // Answers with the first buffered line (or the end of input); false when there is none.
  bool deliver();
  void finish(std::optional<std::string> line);

  InputSource& in_;
  rpc::UvHandle<uv_timer_t> soon_;  // answers a line already read, from the loop
  std::string buffer_;
  bool ended_ = false;  // a pipe or file ended for good (a terminal's Ctrl-D does not)
  AnswerFn onAnswer_;
  std::unique_ptr<EchoOff> echoOff_;
};

}  // namespace asyncode::cli
