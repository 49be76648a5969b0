// asyncode._native: the C++ half of the asyncode package, an extension module of the Python
// that imports it (no interpreter of its own, no engine). It shares the daemon's compile
// rules (core/compiler.cpp, built into this module) and interrupts sync code of a console.
#include "core/pyref.h"  // Python.h first

#include <string>
#include <string_view>

#include "core/compiler.h"
#include "core/pyerror.h"

#ifndef ASYNCODE_VERSION
#error "ASYNCODE_VERSION must come from CMake's project VERSION"
#endif

namespace asyncode::pypkg {
namespace {

using core::check;
using core::CompileStatus;
using core::Mode;
using core::PyError;
using core::PyRef;

bool modeOf(std::string_view name, Mode& mode) {
  if (name == "single" || name == "interactive") {
    mode = Mode::Interactive;
  } else if (name == "exec" || name == "module") {
    mode = Mode::Module;
  } else if (name == "cell") {
    mode = Mode::Cell;
  } else {
    return false;
  }
  return true;
}

const char* statusName(CompileStatus s) {
  switch (s) {
    case CompileStatus::Complete: return "complete";
    case CompileStatus::Incomplete: return "incomplete";
    case CompileStatus::Invalid: return "invalid";
  }
  return "invalid";
}

PyRef optionalInt(const std::optional<int>& v) {
  return v ? check(PyLong_FromLong(*v)) : PyRef::borrow(Py_None);
}

PyRef text(std::string_view s) {
  return check(PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}

// compile_check(source, mode) -> (status, needs_await, indent, error)
//   status: "complete", "incomplete" or "invalid"; indent: str when incomplete, else None;
//   error: (type, message, line, column, end_line, end_column) when invalid, else None.
// mode: "single" (codeop's interactive symbol), "exec", or "cell" (the daemon's cell mode).
PyObject* compileCheck(PyObject*, PyObject* args) {
  const char* source = nullptr;
  Py_ssize_t length = 0;
  const char* modeName = nullptr;
  // "s#" gives UTF-8; a str with lone surrogates fails here as compile() would.
  if (!PyArg_ParseTuple(args, "s#s:compile_check", &source, &length, &modeName)) return nullptr;
  Mode mode = Mode::Interactive;
  if (!modeOf(modeName, mode)) {
    PyErr_Format(PyExc_ValueError, "compile_check: unknown mode %s (single, exec or cell)", modeName);
    return nullptr;
  }
  try {
    const core::CompileResult r = core::compileCheck(std::string_view(source, static_cast<std::size_t>(length)), mode);
    PyRef indent = r.indent ? text(*r.indent) : PyRef::borrow(Py_None);
    PyRef error = PyRef::borrow(Py_None);
    if (r.error) {
      const core::SyntaxErrorInfo& e = *r.error;
      PyRef type = text(e.type);
      PyRef message = text(e.message);
      PyRef endLine = optionalInt(e.endLine);
      PyRef endColumn = optionalInt(e.endColumn);
      error = check(Py_BuildValue("(OOiiOO)", type.get(), message.get(), e.line, e.column, endLine.get(), endColumn.get()));
    }
    return Py_BuildValue("(sOOO)", statusName(r.status), r.needsAwait ? Py_True : Py_False, indent.get(), error.get());
  } catch (const PyError& e) {
    e.restore();
    return nullptr;
  }
}

// continuation_indent(source) -> str: what an incomplete input's next line starts with.
PyObject* continuationIndent(PyObject*, PyObject* arg) {
  Py_ssize_t length = 0;
  const char* source = PyUnicode_AsUTF8AndSize(arg, &length);
  if (!source) return nullptr;
  const std::string indent = core::continuationIndent(std::string_view(source, static_cast<std::size_t>(length)));
  return PyUnicode_DecodeUTF8(indent.data(), static_cast<Py_ssize_t>(indent.size()), "replace");
}

// async_raise(thread_id) -> bool: KeyboardInterrupt in that thread at its next Python
// instruction (a blocking C call there ends first). The caller holds the GIL, so it knows
// what that thread runs (it cannot move meanwhile).
PyObject* asyncRaise(PyObject*, PyObject* arg) {
  const unsigned long id = PyLong_AsUnsignedLong(arg);
  if (id == static_cast<unsigned long>(-1) && PyErr_Occurred()) return nullptr;
  return PyBool_FromLong(PyThreadState_SetAsyncExc(id, PyExc_KeyboardInterrupt) == 1);
}

// async_clear(thread_id): withdraws an async_raise that has not landed yet.
PyObject* asyncClear(PyObject*, PyObject* arg) {
  const unsigned long id = PyLong_AsUnsignedLong(arg);
  if (id == static_cast<unsigned long>(-1) && PyErr_Occurred()) return nullptr;
  PyThreadState_SetAsyncExc(id, nullptr);
  Py_RETURN_NONE;
}

PyMethodDef methods[] = {
    {"compile_check", compileCheck, METH_VARARGS,
     "compile_check(source, mode) -> (status, needs_await, indent, error): the daemon's compile check."},
    {"continuation_indent", continuationIndent, METH_O, "The indent of an incomplete input's next line."},
    {"async_raise", asyncRaise, METH_O, "Raise KeyboardInterrupt in a thread at its next instruction."},
    {"async_clear", asyncClear, METH_O, "Withdraw a pending async_raise of a thread."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef moduleDef = {
    PyModuleDef_HEAD_INIT, "asyncode._native", "asyncode's C++ half: the daemon's compile rules.", 0, methods,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace
}  // namespace asyncode::pypkg

PyMODINIT_FUNC PyInit__native();

PyMODINIT_FUNC PyInit__native() {
  using asyncode::core::PyRef;
  PyRef module = PyRef::steal(PyModule_Create(&asyncode::pypkg::moduleDef));
  if (!module || PyModule_AddStringConstant(module.get(), "VERSION", ASYNCODE_VERSION) < 0) return nullptr;
  return module.release();
}
