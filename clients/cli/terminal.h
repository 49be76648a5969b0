// Small facts about terminals and text on them: whether an fd is a terminal, its width,
// how wide text is on screen, echo switched off for a password, blocking writes.
#pragma once

#include <termios.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace asyncode::cli {

bool isTerminal(int fd);

// Columns and rows of the terminal on `fd` (80 and 24 when it cannot be told).
int terminalColumns(int fd);
int terminalRows(int fd);

// Makes the C library decode UTF-8 (for readline and wcwidth): the user's locale, or
// C.UTF-8 when that is not a UTF-8 one (as CPython coerces the C locale).
void useUtf8Locale();

// Columns that `text` (UTF-8) takes on a terminal; escape sequences (colors) take none.
std::size_t displayWidth(std::string_view text);

// Screen rows that `text` takes when written from column 0 of a terminal `columns` wide,
// lines wrapping at its edge (`text` holds no newline; CR, TAB and BS move the cursor).
int screenRows(std::string_view text, int columns);

// Code points in `text` (UTF-8), and the byte offset of code point `n` (clamped).
std::size_t codePoints(std::string_view text);
std::size_t byteOffset(std::string_view text, std::size_t n);

// Writes all of `data` to `fd`, waiting when it is non-blocking and full. False when the
// fd failed (a closed pipe): the caller stops writing there.
bool writeAll(int fd, std::string_view data);

// Echo switched off on a terminal for as long as it lives (a password being typed).
class EchoOff {
 public:
  explicit EchoOff(int fd);
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;
  ~EchoOff();

 private:
  int fd_;
  std::optional<termios> saved_;
};

}  // namespace asyncode::cli
