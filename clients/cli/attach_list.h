// `asyncode attach` alone: the sockets of this user's running programs that serve themselves
// with the asyncode Python package (asyncode.serve). They live where the package puts them:
// $XDG_RUNTIME_DIR/asyncode/ when that runtime directory is this user's, else
// /tmp/asyncode-<uid>/, one <pid>.sock per program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace asyncode::cli {

struct ServingProgram {
  std::string socket;
  std::int64_t pid = 0;  // from the socket's name; 0 when it names none
  std::string command;   // its command line, when /proc says it
};

// The directory the package's default sockets are in.
std::string socketDirectory();

// The programs whose sockets answer a connect (stale ones, of programs gone, are left out).
std::vector<ServingProgram> servingPrograms(const std::string& directory);

// Prints the list (or says there is none, and where it looked); the exit status.
int listServingPrograms();

}  // namespace asyncode::cli
