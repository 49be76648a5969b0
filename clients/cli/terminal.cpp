#include "clients/cli/terminal.h"

#include <langinfo.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstring>
#include <cwchar>

namespace asyncode::cli {
namespace {

// The code point at `text[i]` and its length in bytes; a bad byte counts as one column-0 byte.
std::pair<char32_t, std::size_t> decodeAt(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > text.size()) return {0xFFFD, 1};
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (c & 0x3F);
  }
  return {cp, len};
}

}  // namespace

bool isTerminal(int fd) { return ::isatty(fd) == 1; }

int terminalColumns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

int terminalRows(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
  return 24;
}

void useUtf8Locale() {
  if (std::setlocale(LC_CTYPE, "") && std::strcmp(::nl_langinfo(CODESET), "UTF-8") == 0) return;
  if (!std::setlocale(LC_CTYPE, "C.UTF-8")) std::setlocale(LC_CTYPE, "");
}

std::size_t displayWidth(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\x1b') {  // CSI: ESC [ params final-byte
      i += 1;
      if (i < text.size() && text[i] == '[') {
        for (++i; i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7E); ++i) {
        }
      }
      i += 1;
      continue;
    }
    const auto [cp, len] = decodeAt(text, i);
    i += len;
    const int w = ::wcwidth(static_cast<wchar_t>(cp));
    if (w > 0) width += static_cast<std::size_t>(w);
  }
  return width;
}

int screenRows(std::string_view text, int columns) {
  int row = 0;
  int column = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\x1b') {  // an escape sequence (CSI: ESC [ params final-byte) takes no room
      i += 1;
      if (i < text.size() && text[i] == '[') {
        for (++i; i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7E); ++i) {
        }
      }
      i += 1;
      continue;
    }
    const auto [cp, len] = decodeAt(text, i);
    i += len;
    if (cp == '\r') {
      column = 0;
    } else if (cp == '\b') {
      column = std::max(0, column - 1);
    } else if (cp == '\t') {
      column = std::min(columns, (column / 8 + 1) * 8);
    } else if (const int w = ::wcwidth(static_cast<wchar_t>(cp)); w > 0) {
      if (column + w > columns) {  // the character goes to the next row
        ++row;
        column = 0;
      }
      column += w;
    }
  }
  return row + 1;
}

std::size_t codePoints(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++n) i += decodeAt(text, i).second;
  return n;
}

std::size_t byteOffset(std::string_view text, std::size_t n) {
  std::size_t i = 0;
  for (; i < text.size() && n > 0; --n) i += decodeAt(text, i).second;
  return i;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
    } else if (errno != EINTR) {
      return false;
    }
  }
  return true;
}

EchoOff::EchoOff(int fd) : fd_(fd) {
  termios t{};
  if (::tcgetattr(fd, &t) != 0) return;
  saved_ = t;
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(fd, TCSANOW, &t);
}

EchoOff::~EchoOff() {
  if (saved_) ::tcsetattr(fd_, TCSANOW, &*saved_);
}

}  // namespace asyncode::cli
