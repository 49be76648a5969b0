#include "core/compiler.h"

#include <optional>
#include <vector>

#include "core/pyerror.h"

namespace asyncode::core {
namespace {

thread_local bool tlsSuppressWarnings = false;

constexpr int kCheckFlags = PyCF_DONT_IMPLY_DEDENT | PyCF_ALLOW_INCOMPLETE_INPUT | PyCF_ALLOW_TOP_LEVEL_AWAIT;
const char* const kFilename = "<input>";

std::vector<std::string_view> splitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(s.substr(start));
      return lines;
    }
    lines.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view strip(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// codeop: source made only of blank lines and comments compiles as "pass".
bool onlyBlankOrComments(std::string_view code) {
  for (auto line : splitLines(code)) {
    line = strip(line);
    if (!line.empty() && line.front() != '#') return false;
  }
  return true;
}

// A line without a trailing comment (a '#' outside a string literal on that line).
std::string_view withoutComment(std::string_view line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#') {
      return line.substr(0, i);
    }
  }
  return line;
}

// compile(source, "<input>", symbol, flags); nullopt and the error left set on failure.
std::optional<PyRef> tryCompile(const std::string& source, int symbol, int flags) {
  PyCompilerFlags cf = _PyCompilerFlags_INIT;
  // The source is already UTF-8 text, as for compile() of a str (which codeop uses): a coding
  // cookie does not apply, and the parser's columns then count characters, not bytes.
  cf.cf_flags = flags | PyCF_IGNORE_COOKIE;
  PyObject* code = Py_CompileStringExFlags(source.c_str(), kFilename, symbol, &cf, -1);
  if (!code) return std::nullopt;
  return PyRef::steal(code);
}

std::string strOf(PyObject* o) {
  std::string out;
  if (const PyRef s = PyRef::steal(PyObject_Str(o))) {
    if (const char* t = PyUnicode_AsUTF8(s.get())) out = t;
  }
  PyErr_Clear();
  return out;
}

std::optional<long> intAttr(PyObject* o, const char* name) {
  const PyRef v = PyRef::steal(PyObject_GetAttrString(o, name));
  std::optional<long> out;
  if (v && PyLong_Check(v.get())) {
    const long n = PyLong_AsLong(v.get());
    if (!(n == -1 && PyErr_Occurred())) out = n;
  }
  PyErr_Clear();
  return out;
}

// Code points in the first `bytes` bytes of `line` (UTF-8).
long codePointsIn(std::string_view line, long bytes) {
  long n = 0;
  for (long i = 0; i < bytes && i < static_cast<long>(line.size()); ++i)
    if ((static_cast<unsigned char>(line[static_cast<std::size_t>(i)]) & 0xC0) != 0x80) ++n;
  if (bytes > static_cast<long>(line.size())) n += bytes - static_cast<long>(line.size());
  return n;
}

}  // namespace

SuppressWarnings::SuppressWarnings() : previous_(tlsSuppressWarnings) { tlsSuppressWarnings = true; }
SuppressWarnings::~SuppressWarnings() { tlsSuppressWarnings = previous_; }
bool warningsSuppressed() { return tlsSuppressWarnings; }

int startSymbol(Mode mode) { return mode == Mode::Interactive ? Py_single_input : Py_file_input; }

std::string continuationIndent(std::string_view code) {
  const auto lines = splitLines(code);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const std::string_view line = *it;
    if (strip(line).empty()) continue;
    std::size_t n = 0;
    while (n < line.size() && (line[n] == ' ' || line[n] == '\t')) ++n;
    std::string indent(line.substr(0, n));
    if (const auto body = strip(withoutComment(line)); !body.empty() && body.back() == ':') indent += "    ";
    return indent;
  }
  return "";
}

SyntaxErrorInfo syntaxErrorInfo(PyObject* exc, std::string_view source) {
  SyntaxErrorInfo info;
  info.type = Py_TYPE(exc)->tp_name;
  if (PyErr_GivenExceptionMatches(exc, PyExc_SyntaxError)) {
    if (const PyRef msg = PyRef::steal(PyObject_GetAttrString(exc, "msg")))
      info.message = msg.get() == Py_None ? "" : strOf(msg.get());
    PyErr_Clear();
    const long line = intAttr(exc, "lineno").value_or(1);
    info.line = static_cast<int>(line > 0 ? line : 1);
    // The parser reports columns in characters and attaches the line's text; errors
    // from the compiler proper (symtable) report UTF-8 byte offsets and no text.
    const bool inBytes = [&] {
      const PyRef text = PyRef::steal(PyObject_GetAttrString(exc, "text"));
      return !text || text.get() == Py_None;
    }();
    PyErr_Clear();
    const auto lines = splitLines(source);
    auto toColumn = [&](long lineno, long offset) -> long {
      if (offset <= 0) return 0;
      if (!inBytes || lineno < 1 || lineno > static_cast<long>(lines.size())) return offset - 1;
      return codePointsIn(lines[static_cast<std::size_t>(lineno - 1)], offset - 1);
    };
    info.column = static_cast<int>(toColumn(line, intAttr(exc, "offset").value_or(0)));
    const auto endLine = intAttr(exc, "end_lineno");
    const auto endOffset = intAttr(exc, "end_offset");
    if (endLine && *endLine >= line && endOffset && *endOffset > 0) {
      info.endLine = static_cast<int>(*endLine);
      info.endColumn = static_cast<int>(toColumn(*endLine, *endOffset));
    }
  } else {
    info.message = strOf(exc);
  }
  return info;
}

CompileResult compileCheck(std::string_view code, Mode mode) {
  SuppressWarnings quiet;
  if (code.find('\0') != std::string_view::npos) {  // compile() refuses these; the C API would cut the code
    CompileResult r;
    r.status = CompileStatus::Invalid;
    r.error = SyntaxErrorInfo{"ValueError", "source code string cannot contain null bytes", 1, 0, {}, {}};
    return r;
  }
  const int symbol = startSymbol(mode);
  const std::string source = onlyBlankOrComments(code) ? std::string("pass") : std::string(code);
  CompileResult result;

  auto invalid = [&](PyError& e) {
    result.status = CompileStatus::Invalid;
    result.needsAwait = false;
    result.error = e.value() ? syntaxErrorInfo(e.value().get(), source)
                             : SyntaxErrorInfo{"SyntaxError", e.what(), 1, 0, {}, {}};
    return result;
  };

  if (auto first = tryCompile(source, symbol, kCheckFlags)) {
    const auto* codeObj = reinterpret_cast<PyCodeObject*>(first->get());
    result.status = CompileStatus::Complete;
    result.needsAwait = (codeObj->co_flags & CO_COROUTINE) != 0;
    return result;
  }
  PyError firstError;
  if (!firstError.matches(PyExc_SyntaxError)) return invalid(firstError);  // ValueError, OverflowError...

  if (tryCompile(source + "\n", symbol, kCheckFlags)) {
    result.status = CompileStatus::Incomplete;
  } else {
    PyError second;
    if (!second.matches(PyExc_SyntaxError) || strOf(second.value().get()).find("incomplete input") == std::string::npos) {
      // codeop's last word: a compile that no longer allows incomplete input, whose error
      // (message, column) is the real one ("invalid syntax", not "incomplete input").
      if (auto lastCode = tryCompile(source, symbol, PyCF_ALLOW_TOP_LEVEL_AWAIT)) {
        result.status = CompileStatus::Complete;
        result.needsAwait = (reinterpret_cast<const PyCodeObject*>(lastCode->get())->co_flags & CO_COROUTINE) != 0;
        return result;
      }
      PyError last;
      return invalid(last);
    }
    result.status = CompileStatus::Incomplete;
  }
  result.indent = continuationIndent(code);
  return result;
}

}  // namespace asyncode::core
