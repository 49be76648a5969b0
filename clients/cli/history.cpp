#include "clients/cli/history.h"

// GNU readline's history library; its headers need stdio's FILE first.
#include <cstdio>
#include <readline/history.h>

#include <cstdlib>
#include <fstream>

namespace asyncode::cli {
namespace {

constexpr int kHistorySize = 2000;
constexpr std::string_view kLibeditHeader = "_HiStOrY_V2_";

bool isBlank(std::string_view s) { return s.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

bool isOctal(char c) { return c >= '0' && c <= '7'; }

// A line of a libedit history file: strvis(3) encoding, octal escapes (`\040` for a blank).
std::string unvis(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && line.size() - i >= 4 && isOctal(line[i + 1]) && isOctal(line[i + 2]) &&
        isOctal(line[i + 3])) {
      out += static_cast<char>((line[i + 1] - '0') * 64 + (line[i + 2] - '0') * 8 + (line[i + 3] - '0'));
      i += 3;
    } else if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else {
      out += line[i];
    }
  }
  return out;
}

}  // namespace

Histories::Histories(std::string file) : file_(std::move(file)) {
  using_history();
  stifle_history(kHistorySize);
  // Each entry is written after a `#<time>` line: that is what lets readline read an entry
  // of several lines back as one.
  history_comment_char = '#';
  history_write_timestamps = 1;
  readFile();
}

void Histories::readFile() {
  if (file_.empty()) return;
  std::ifstream in(file_, std::ios::binary);
  std::string first;
  if (!in || !std::getline(in, first)) return;
  if (first != kLibeditHeader) {
    in.close();
    read_history(file_.c_str());
    if (history_length > 0) last_[HistoryKind::python] = history_get(history_base + history_length - 1)->line;
    return;
  }
  for (std::string line; std::getline(in, line);) add(HistoryKind::python, unvis(line));
}

Histories::~Histories() {
  use(HistoryKind::python);
  if (!file_.empty()) write_history(file_.c_str());
  // The other lists are freed; the Python one stays readline's until the process ends.
  HISTORY_STATE* python = history_get_history_state();
  for (auto& [kind, state] : saved_) {
    history_set_history_state(state);
    clear_history();
    std::free(state->entries);
    std::free(state);
  }
  history_set_history_state(python);
  std::free(python);
}

void Histories::use(HistoryKind kind) {
  if (kind == active_) return;
  saved_[active_] = history_get_history_state();
  HISTORY_STATE* next = nullptr;
  if (auto it = saved_.find(kind); it != saved_.end()) {
    next = it->second;
    saved_.erase(it);
  }
  if (next) {
    history_set_history_state(next);
    std::free(next);
  } else {
    HISTORY_STATE empty{};
    history_set_history_state(&empty);
  }
  active_ = kind;
  using_history();  // browsing starts after the last entry
}

void Histories::add(HistoryKind kind, const std::string& entry) {
  if (kind == HistoryKind::none || isBlank(entry) || last_[kind] == entry) return;
  const HistoryKind before = active_;
  use(kind);
  add_history(entry.c_str());
  last_[kind] = entry;
  use(before);
}

}  // namespace asyncode::cli
