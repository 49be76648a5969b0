// compileCheck: codeop's answers (complete / incomplete / invalid) and CO_COROUTINE, the
// continuation indent, and SyntaxErrorInfo with columns in code points.
#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/compiler.h"
#include "core/pyerror.h"

using asyncode::core::compileCheck;
using asyncode::core::CompileResult;
using asyncode::core::continuationIndent;
using asyncode::core::GilAcquire;
using asyncode::core::Mode;
using asyncode::core::PyRef;
using asyncode::core::startSymbol;
using asyncode::core::SuppressWarnings;
using asyncode::core::syntaxErrorInfo;
using asyncode::core::warningsSuppressed;
using Status = asyncode::core::CompileStatus;

namespace Catch {
template <>
struct StringMaker<Status> {
  static std::string convert(Status s) {
    switch (s) {
      case Status::Complete: return "Complete";
      case Status::Incomplete: return "Incomplete";
      case Status::Invalid: return "Invalid";
    }
    return "?";
  }
};
template <>
struct StringMaker<Mode> {
  static std::string convert(Mode m) {
    switch (m) {
      case Mode::Cell: return "Cell";
      case Mode::Interactive: return "Interactive";
      case Mode::Module: return "Module";
    }
    return "?";
  }
};
}  // namespace Catch

namespace {

struct CompileCase {
  const char* id;
  Mode mode;
  const char* code;
  Status status;
  bool needsAwait;
  const char* indent = nullptr;     // expected continuation indent, when the case gives one
  const char* errorType = nullptr;  // for invalid input
  int line = 0;
  int column = -1;                  // -1: not checked
  const char* message = nullptr;    // nullptr: not checked
  bool exactMessage = true;         // false: the message must contain it
  int refColumn = -1;               // what CPython 3.11 reported (-1: nothing)
  const char* refMessage = nullptr;
};

// shared/conformance/cases.json, methods "compile" and "needsAwait" (234 cases), committed here
// by tools/gen_compile_cases.py so that the tests do not need ../shared.
const CompileCase kConformance[] = {
#include "compile_cases.inc"
};

// The result's fields against a case's; also that no Python error is left set.
void checkCase(const CompileCase& c) {
  CAPTURE(c.id, c.code, c.mode);
  GilAcquire gil;
  const CompileResult r = compileCheck(c.code, c.mode);
  CHECK(PyErr_Occurred() == nullptr);
  CHECK(r.status == c.status);
  CHECK(r.needsAwait == c.needsAwait);
  if (c.status == Status::Incomplete) {
    REQUIRE(r.indent.has_value());
    if (c.indent) CHECK(*r.indent == c.indent);
  } else {
    CHECK_FALSE(r.indent.has_value());
  }
  if (c.status == Status::Invalid) {
    REQUIRE(r.error.has_value());
    CHECK(r.error->type == c.errorType);
    CHECK(r.error->line == c.line);
    if (c.column >= 0) CHECK(r.error->column == c.column);
    if (c.message && c.exactMessage) CHECK(r.error->message == c.message);
    if (c.message && !c.exactMessage) CHECK_THAT(r.error->message, Catch::Contains(c.message));
  } else {
    CHECK_FALSE(r.error.has_value());
  }
}

// Invalid interactive input whose error, with PyCF_ALLOW_INCOMPLETE_INPUT still set, is a bare
// "incomplete input" (and another column). codeop's last compile drops that flag
// (incomplete_input=False) and reports the real error; compileCheck reports the first error.
bool reportsIncompleteInput(const CompileCase& c) {
  static const std::string_view ids[] = {"codeop-interactive-124", "codeop-interactive-127",
                                         "codeop-interactive-128", "codeop-interactive-134",
                                         "codeop-interactive-138", "codeop-interactive-140", "codeop-special-5"};
  return std::find(std::begin(ids), std::end(ids), c.id) != std::end(ids);
}

// The error's message and column against what CPython 3.11 reported for the case.
void checkReference(const CompileCase& c) {
  CAPTURE(c.id, c.code, c.mode);
  GilAcquire gil;
  const CompileResult r = compileCheck(c.code, c.mode);
  REQUIRE(r.status == Status::Invalid);
  REQUIRE(r.error.has_value());
  CHECK(r.error->message == c.refMessage);
  if (c.refColumn >= 0) CHECK(r.error->column == c.refColumn);
}

std::vector<CompileCase> withReference(bool incompleteInputBug) {
  std::vector<CompileCase> out;
  for (const auto& c : kConformance)
    if (c.refMessage && reportsIncompleteInput(c) == incompleteInputBug) out.push_back(c);
  return out;
}

}  // namespace

TEST_CASE("compileCheck gives the expected answers on the conformance cases", "[compile]") {
  STATIC_REQUIRE(std::size(kConformance) >= 60);
  const CompileCase c = GENERATE(from_range(std::begin(kConformance), std::end(kConformance)));
  checkCase(c);
}

TEST_CASE("Errors of invalid conformance cases carry CPython 3.11's message and column", "[compile]") {
  static const std::vector<CompileCase> cases = withReference(false);
  REQUIRE(cases.size() >= 50);
  const CompileCase c = GENERATE(from_range(cases));
  checkReference(c);
}

TEST_CASE("Invalid interactive input reports the real error, not \"incomplete input\"",
          "[compile]") {
  // e.g. "a b" (interactive): expected "invalid syntax" at column 2, got "incomplete input".
  for (const CompileCase& c : withReference(true)) checkReference(c);
}

TEST_CASE("Awaits inside async functions do not make the code need awaiting", "[compile]") {
  const CompileCase c = GENERATE(values<CompileCase>({
      {"async-def-await", Mode::Cell, "async def f():\n    await x", Status::Complete, false},
      {"async-def-async-for", Mode::Cell, "async def f():\n    async for a in b:\n        pass", Status::Complete, false},
      {"async-def-async-with", Mode::Cell, "async def f():\n    async with a as b:\n        pass", Status::Complete, false},
      {"async-def-async-comp", Mode::Cell, "async def f():\n    return [x async for x in y]", Status::Complete, false},
      {"async-gen", Mode::Cell, "async def f():\n    yield await x", Status::Complete, false},
      {"nested-async-def", Mode::Cell, "def outer():\n    async def inner():\n        await x", Status::Complete, false},
      {"async-method", Mode::Cell, "class C:\n    async def m(self):\n        await self.x", Status::Complete, false},
      {"lambda-async-genexp", Mode::Cell, "f = lambda: (x async for x in y)", Status::Complete, false},
      {"def-then-call", Mode::Cell, "import asyncio\nasync def main():\n    await asyncio.sleep(0)\n", Status::Complete, false},
      {"module-async-def", Mode::Module, "async def f():\n    await x\n", Status::Complete, false},
      {"interactive-async-def", Mode::Interactive, "async def f():\n    await x\n", Status::Complete, false},
      {"interactive-async-def-open", Mode::Interactive, "async def f():\n    await x", Status::Incomplete, false, "    "},
      // ... while top-level ones do, wherever they stand
      {"def-then-await", Mode::Cell, "async def f(): pass\nawait f()", Status::Complete, true},
      {"await-in-for", Mode::Cell, "for x in y:\n    await x", Status::Complete, true},
      {"await-in-except-star", Mode::Cell, "try:\n    pass\nexcept* E:\n    await x", Status::Complete, true},
      {"await-in-fstring", Mode::Cell, "f\"{await x}\"", Status::Complete, true},
      {"module-await", Mode::Module, "await x", Status::Complete, true},
      {"interactive-while-await-open", Mode::Interactive, "while await x:", Status::Incomplete, false, "    "},
  }));
  checkCase(c);
}

TEST_CASE("Incomplete code gets the indent of its next line", "[compile]") {
  const CompileCase c = GENERATE(values<CompileCase>({
      {"comment-with-colon", Mode::Interactive, "if x:\n    if y:  # comment:\n", Status::Incomplete, false, "        "},
      {"trailing-comment", Mode::Interactive, "if x:  # trailing:", Status::Incomplete, false, "    "},
      {"colon-in-string", Mode::Cell, "d = {\"a:\": 1,", Status::Incomplete, false, ""},
      {"method", Mode::Interactive, "class A:\n    def m(self):", Status::Incomplete, false, "        "},
      {"open-list", Mode::Interactive, "x = [\n  1,", Status::Incomplete, false, "  "},
      {"open-string", Mode::Cell, "x = \"\"\"", Status::Incomplete, false, ""},
      {"open-paren-newline", Mode::Cell, "x = 1\ny = (2 +\n", Status::Incomplete, false, ""},
      {"empty", Mode::Cell, "", Status::Complete, false},
      {"comment-only", Mode::Interactive, "# only a comment\n", Status::Complete, false},
      {"blank-lines", Mode::Module, "\n   \n\t\n", Status::Complete, false},
  }));
  checkCase(c);
}

TEST_CASE("Error columns count code points from 0, for parser and compiler errors alike", "[compile]") {
  struct Row {
    Mode mode;
    const char* code;
    const char* type;
    const char* message;
    int line;
    int column;
    std::optional<int> endLine;
    std::optional<int> endColumn;
  };
  const Row row = GENERATE(values<Row>({
      // the compiler (symtable) reports UTF-8 byte offsets and no text
      {Mode::Module, "s = \"\xC3\xA9\"; return 1", "SyntaxError", "'return' outside function", 1, 9, 1, 17},
      {Mode::Cell, "x = \"\xF0\x9F\x98\x80\"; return", "SyntaxError", "'return' outside function", 1, 9, 1, 15},
      {Mode::Cell, "\"\xE2\x82\xAC\xE2\x82\xAC\" ; yield", "SyntaxError", "'yield' outside function", 1, 7, 1, 12},
      {Mode::Cell, "def f(\xC3\xA9, \xC3\xA9): pass", "SyntaxError",
       "duplicate argument '\xC3\xA9' in function definition", 1, 9, 1, 10},
      {Mode::Cell, "\xC3\xA9\xC3\xA9\xC3\xA9; nonlocal x", "SyntaxError",
       "nonlocal declaration not allowed at module level", 1, 5, 1, 15},
      {Mode::Module, "\xC3\xA9 = 1; nonlocal \xC3\xA9", "SyntaxError",
       "name '\xC3\xA9' is assigned to before nonlocal declaration", 1, 7, 1, 17},
      {Mode::Cell, "def f():\n    x = \"\xC3\xBC\"; nonlocal q", "SyntaxError", "no binding for nonlocal 'q' found", 2,
       13, 2, 23},
      {Mode::Cell, "def f():\n    return await x\n", "SyntaxError", "'await' outside async function", 2, 11, 2, 18},
      {Mode::Interactive, "def f():\n    return await x\n", "SyntaxError", "'await' outside async function", 2, 11, 2,
       18},
      {Mode::Cell, "def g():\n    yield\nreturn", "SyntaxError", "'return' outside function", 3, 0, 3, 6},
      // the parser reports characters, with the line's text
      {Mode::Cell, "\xC3\xA9 = )", "SyntaxError", "unmatched ')'", 1, 4, 1, 4},
      {Mode::Cell, "x = \"\xC3\xBCn\xC3\xAF\x63\xC3\xB6\x64\xC3\xA9\" + )", "SyntaxError", "unmatched ')'", 1, 16, 1, 16},
      {Mode::Cell, "x = 1\n\xE2\x82\xAC = 2\nreturn x", "SyntaxError", "invalid character '\xE2\x82\xAC' (U+20AC)", 2, 0,
       2, 0},
      {Mode::Cell, "\xF0\x9F\x98\x80 = 1 $", "SyntaxError", "invalid character '\xF0\x9F\x98\x80' (U+1F600)", 1, 0, 1, 0},
      {Mode::Cell, "print(await)", "SyntaxError", "invalid syntax", 1, 11, 1, 12},
      {Mode::Cell, "1 +* 2", "SyntaxError", "invalid syntax", 1, 3, 1, 4},
      // characters before the error on its line or on an earlier one are not counted as bytes
      {Mode::Cell, "\xC3\xB1 = '\xC3\xA9\xE2\x82\xAC' +* 1", "SyntaxError", "invalid syntax", 1, 10, 1, 11},
      {Mode::Module, "\xC3\xB1 = 1\nx = '\xC3\xA9\xE2\x82\xAC' +* 1", "SyntaxError", "invalid syntax", 2, 10, 2, 11},
      {Mode::Cell, "s = '\xF0\x9F\x98\x80'\nt = '\xF0\x9F\x98\x80\xF0\x9F\x98\x80' +* 3", "SyntaxError",
       "invalid syntax", 2, 10, 2, 11},
      {Mode::Interactive, "s = '\xF0\x9F\x98\x80'\nt = '\xF0\x9F\x98\x80\xF0\x9F\x98\x80' +* 3", "SyntaxError",
       "multiple statements found while compiling a single statement", 1, 7, 1, 7},
      {Mode::Cell, "'\xE2\x82\xAC' 'x' = 3", "SyntaxError",
       "cannot assign to literal here. Maybe you meant '==' instead of '='?", 1, 0, 1, 7},
      // a coding cookie does not apply to text that is already decoded (as for compile() of a str)
      {Mode::Cell, "# -*- coding: latin-1 -*-\nx = '\xC3\xA9' +* 1", "SyntaxError", "invalid syntax", 2, 9, 2, 10},
      {Mode::Cell, "async = 1", "SyntaxError", "invalid syntax", 1, 6, 1, 7},
      {Mode::Cell, "x = 1 +", "SyntaxError", "invalid syntax", 1, 7, 1, 7},
      {Mode::Cell, "\"\\N{NOPE}\"", "SyntaxError",
       "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-7: unknown Unicode character name", 1,
       10, 1, 10},
      {Mode::Cell, "def f():\n\tif x:\n        pass", "TabError", "inconsistent use of tabs and spaces in indentation",
       3, 0, std::nullopt, std::nullopt},  // CPython gives end_offset 0: no end
  }));
  CAPTURE(row.code, row.mode);
  GilAcquire gil;
  const CompileResult r = compileCheck(row.code, row.mode);
  CHECK(PyErr_Occurred() == nullptr);
  REQUIRE(r.status == Status::Invalid);
  CHECK_FALSE(r.needsAwait);
  REQUIRE(r.error.has_value());
  CHECK(r.error->type == row.type);
  CHECK(r.error->message == row.message);
  CHECK(r.error->line == row.line);
  CHECK(r.error->column == row.column);
  CHECK(r.error->endLine == row.endLine);
  CHECK(r.error->endColumn == row.endColumn);
}

TEST_CASE("Code with a NUL byte is invalid, as compile() raises ValueError", "[compile]") {
  // Py_CompileStringExFlags takes a C string: the code is cut at the NUL, so "1\0+" is judged
  // as "1" (complete) and "x = (\0)" as "x = (" (incomplete).
  GilAcquire gil;
  const CompileResult r = compileCheck(std::string_view("1\0+", 3), Mode::Cell);
  CHECK(PyErr_Occurred() == nullptr);
  CHECK(r.status == Status::Invalid);
  REQUIRE(r.error.has_value());
  CHECK(r.error->type == "ValueError");
  CHECK(r.error->message == "source code string cannot contain null bytes");
}

TEST_CASE("compileCheck suppresses warnings only while it runs", "[compile]") {
  GilAcquire gil;
  CHECK_FALSE(warningsSuppressed());
  const CompileResult r = compileCheck("x = 1", Mode::Cell);
  CHECK(r.status == Status::Complete);
  CHECK(PyErr_Occurred() == nullptr);
  CHECK_FALSE(warningsSuppressed());
}

TEST_CASE("SuppressWarnings nests and restores the previous state", "[compile]") {
  CHECK_FALSE(warningsSuppressed());
  {
    SuppressWarnings outer;
    CHECK(warningsSuppressed());
    {
      SuppressWarnings inner;
      CHECK(warningsSuppressed());
    }
    CHECK(warningsSuppressed());
  }
  CHECK_FALSE(warningsSuppressed());
}

TEST_CASE("startSymbol is single input for interactive mode, file input otherwise", "[compile]") {
  CHECK(startSymbol(Mode::Interactive) == Py_single_input);
  CHECK(startSymbol(Mode::Cell) == Py_file_input);
  CHECK(startSymbol(Mode::Module) == Py_file_input);
}

TEST_CASE("continuationIndent repeats the last line's indent, one level more after a colon", "[compile]") {
  struct Row {
    const char* code;
    const char* indent;
  };
  const Row row = GENERATE(values<Row>({
      {"", ""},
      {"\n\n", ""},
      {"x = 1", ""},
      {"if x:", "    "},
      {"if x:   ", "    "},
      {"    y = (1,", "    "},
      {"if x:\n    if y:", "        "},
      {"if x:\n    y = 1\n", "    "},
      {"if x:\n    y = 1\n\n   \n", "    "},
      {"\tif x:", "\t    "},
      {"if x:  # note", "    "},
      {"x = 1  # note:", ""},
      {"s = 'a:'  # c", ""},
      {"s = 'a#':", "    "},
      {"s = \"it's\"  # so:", ""},
      {"d = {'k': 1,  # key:", ""},
      {"def f(a,\n      b):", "          "},
  }));
  CAPTURE(row.code);
  CHECK(continuationIndent(row.code) == row.indent);
}

TEST_CASE("syntaxErrorInfo reads SyntaxError attributes and describes other errors", "[compile]") {
  GilAcquire gil;
  SECTION("a SyntaxError built by hand, with its text: offsets are characters") {
    PyRef exc = PyRef::steal(PyObject_CallFunction(PyExc_SyntaxError, "s(siisii)", "bad thing", "<input>", 2, 3,
                                                    "ab\xC3\xA9\xC3\xA9", 2, 5));
    REQUIRE(exc);
    const auto info = syntaxErrorInfo(exc.get(), "line one\nab\xC3\xA9\xC3\xA9");
    CHECK(info.type == "SyntaxError");
    CHECK(info.message == "bad thing");
    CHECK(info.line == 2);
    CHECK(info.column == 2);
    CHECK(info.endLine == std::optional<int>(2));
    CHECK(info.endColumn == std::optional<int>(4));
  }
  SECTION("without text the offsets are UTF-8 bytes of the source's line") {
    PyRef exc = PyRef::steal(
        PyObject_CallFunction(PyExc_SyntaxError, "s(siiOii)", "bad", "<input>", 1, 5, Py_None, 1, 7));
    REQUIRE(exc);
    const auto info = syntaxErrorInfo(exc.get(), "\xC3\xA9\xC3\xA9xyz");  // bytes 0-1, 2-3 are one char each
    CHECK(info.column == 2);
    CHECK(info.endColumn == std::optional<int>(4));
  }
  SECTION("a missing line number reads as line 1, a missing offset as column 0") {
    PyRef exc = PyRef::steal(PyObject_CallFunction(PyExc_SyntaxError, "s", "plain"));
    REQUIRE(exc);
    const auto info = syntaxErrorInfo(exc.get(), "x");
    CHECK(info.message == "plain");
    CHECK(info.line == 1);
    CHECK(info.column == 0);
    CHECK_FALSE(info.endLine.has_value());
    CHECK_FALSE(info.endColumn.has_value());
  }
  SECTION("an IndentationError keeps its own type name") {
    PyRef exc = PyRef::steal(
        PyObject_CallFunction(PyExc_IndentationError, "s(siis)", "unexpected indent", "<input>", 1, 3, "  x"));
    REQUIRE(exc);
    const auto info = syntaxErrorInfo(exc.get(), "  x");
    CHECK(info.type == "IndentationError");
    CHECK(info.column == 2);
  }
  SECTION("a ValueError gives its str() as the message") {
    PyRef exc = PyRef::steal(PyObject_CallFunction(PyExc_ValueError, "s", "source code string cannot contain null bytes"));
    REQUIRE(exc);
    const auto info = syntaxErrorInfo(exc.get(), "");
    CHECK(info.type == "ValueError");
    CHECK(info.message == "source code string cannot contain null bytes");
    CHECK(info.line == 1);
    CHECK(info.column == 0);
  }
  CHECK(PyErr_Occurred() == nullptr);
}
