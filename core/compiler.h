// Is this code complete, incomplete or invalid, and must running it await? The answers
// are CPython 3.11's codeop, with PyCF_ALLOW_TOP_LEVEL_AWAIT.
#pragma once

#include <string>
#include <string_view>

#include "core/pyref.h"
#include "core/types.h"

namespace asyncode::core {

// codeop's start symbol for a mode: Py_single_input for interactive, else Py_file_input.
int startSymbol(Mode mode);

// Runs codeop's algorithm. Call with the GIL held; compiler warnings are not shown.
// Any Python error other than the SyntaxError being judged is reported as invalid.
CompileResult compileCheck(std::string_view code, Mode mode);

// What a continuation line of incomplete code should start with: the indentation of the
// last non-blank line, four spaces more after a line ending in ':'.
std::string continuationIndent(std::string_view code);

// SyntaxErrorInfo for a SyntaxError (or ValueError, OverflowError) raised by compile()
// on `source`, with columns in code points from 0. GIL held.
SyntaxErrorInfo syntaxErrorInfo(PyObject* exc, std::string_view source);

// Compiler warnings raised on this thread are dropped while a scope lives (the engine's
// warnings hook asks warningsSuppressed()).
class SuppressWarnings {
 public:
  SuppressWarnings();
  ~SuppressWarnings();
  SuppressWarnings(const SuppressWarnings&) = delete;
  SuppressWarnings& operator=(const SuppressWarnings&) = delete;

 private:
  bool previous_;
};
bool warningsSuppressed();

}  // namespace asyncode::core
