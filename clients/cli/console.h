// Where text for the user goes: this process's stdout and stderr, stderr in red when it
// is a terminal. While a prompt is on screen, text is printed above it (the prompt taken
// off, the text written, the prompt drawn again), once per turn of the loop however many
// pieces arrived in it, so that output never breaks the line being typed. Text that does
// not end its line goes on that line when more comes: the prompt is drawn below the
// unfinished line meanwhile, and the line is written again, longer, above it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clients/cli/client_protocol.h"
#include "clients/cli/prompter.h"
#include "rpc/uv_handle.h"

namespace asyncode::cli {

class Console {
 public:
  explicit Console(uv_loop_t* loop);
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // The prompt that text is printed above (null: none).
  void setPromptView(PromptView* view) { view_ = view; }

  void write(Stream stream, std::string_view text);
  void out(std::string_view text) { write(Stream::out, text); }
  void err(std::string_view text) { write(Stream::err, text); }
  // Our own words on stderr (a banner, a notice): never colored as the user's errors.
  void note(std::string_view text);
  // Writes what is held for the prompt, now.
  void flush();
  // Moves to a fresh line when the last text written to `stream`'s terminal did not end
  // one (before a prompt or a message).
  void finishLine(Stream stream);

  [[nodiscard]] bool colors(Stream stream) const { return color_[index(stream)]; }

 private:
  struct Piece {
    Stream stream;
    std::string text;
    bool plain = false;  // never colored
  };
  static std::size_t index(Stream s) { return s == Stream::out ? 0 : 1; }
  void add(Piece piece);
  void writeNow(const Piece& piece);
  bool emit(const Piece& piece);  // writes it, colored; false when the fd failed
  [[nodiscard]] bool onScreen(Stream s) const;
  // Back to the start of the line cut for the prompt (now hidden), and that line written
  // again, to go on.
  void reopenLine();

  PromptView* view_ = nullptr;
  std::vector<Piece> held_;
  rpc::UvHandle<uv_check_t> flusher_;  // after the loop's I/O callbacks of a turn
  bool color_[2];
  bool broken_[2] = {false, false};      // writes failed (a closed pipe): stop trying
  bool lineStart_[2] = {true, true};
  bool sameTerminal_;                   // stdout and stderr are one screen: one line state
  // What the screen's last line holds since its last newline (while it is short).
  std::vector<Piece> openLine_;
  std::size_t openLineBytes_ = 0;
  bool openLineKnown_ = true;
  // The unfinished line that the console ended to draw the prompt below it, and the
  // prompt's placement then.
  std::vector<Piece> cutLine_;
  std::optional<std::uint64_t> cutForPrompt_;
};

}  // namespace asyncode::cli
