// The line editor's histories: one list per kind of question (Python statements, input()
// answers, pdb commands), so that Up, Ctrl-R and Ctrl-O at one prompt never bring back what
// was typed at another. GNU readline has one list, in its globals: the list of the question
// being asked is swapped in (history_set_history_state), the others wait in saved states.
//
// The Python list lives in a file between sessions, in readline's format with timestamps,
// which keeps a multi-line entry (a block) whole. A file written by the libedit-based client
// (first line `_HiStOrY_V2_`) is read too.
#pragma once

#include <map>
#include <string>

#include "clients/cli/prompter.h"

using HISTORY_STATE = struct _hist_state;

namespace asyncode::cli {

class Histories {
 public:
  // Reads the Python history from `file` (empty: none is kept).
  explicit Histories(std::string file);
  Histories(const Histories&) = delete;
  Histories& operator=(const Histories&) = delete;
  // Writes the Python history back to its file.
  ~Histories();

  // Makes `kind` readline's list.
  void use(HistoryKind kind);
  // Adds `entry` to `kind`'s list, unless it is blank or the same as the last one.
  void add(HistoryKind kind, const std::string& entry);

 private:
  void readFile();

  std::string file_;
  HistoryKind active_ = HistoryKind::python;
  std::map<HistoryKind, HISTORY_STATE*> saved_;  // the lists not in readline's globals
  std::map<HistoryKind, std::string> last_;
};

}  // namespace asyncode::cli
