// The engine's introspection, answered on other threads than the main one, with the GIL:
// compile checks, completions, inspection and the namespace's variables.
#include "core/engine.h"

#include "core/pyref.h"

#include <spdlog/spdlog.h>

#include "core/compiler.h"
#include "core/pyerror.h"

namespace asyncode::core {
namespace {

std::string utf8(PyObject* o) {
  std::string out;
  if (o && PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    if (const char* p = PyUnicode_AsUTF8AndSize(o, &n)) {
      out.assign(p, static_cast<std::size_t>(n));
    } else {
      PyErr_Clear();
    }
  }
  return out;
}

PyRef callIntrospect(const char* function, PyObject* args, const char* moduleName = "_asyncode.introspect") {
  PyRef module = check(PyImport_ImportModule(moduleName));
  PyRef fn = check(PyObject_GetAttrString(module.get(), function));
  return check(PyObject_CallObject(fn.get(), args));
}

MimeBundle bundleFromDict(PyObject* dict) {
  MimeBundle out;
  if (!dict || !PyDict_Check(dict)) return out;
  PyObject *key = nullptr, *value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(dict, &pos, &key, &value)) out.push_back({utf8(key), utf8(value), false});
  return out;
}

void waitUntil(std::mutex& mu, std::condition_variable& cv, const bool& flag) {
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return flag; });
}
}  // namespace

CompileResult Engine::compile(const std::string& code, Mode mode) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  return compileCheck(code, mode);
}

CompleteResult Engine::complete(const std::string& code, std::int64_t cursor, bool debugger) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  CompleteResult out;
  try {
    PyRef args = check(Py_BuildValue("(s#L)", code.data(), static_cast<Py_ssize_t>(code.size()),
                                     static_cast<long long>(cursor)));
    // A line of pdb's prompt: its commands, and names in the frame pdb is paused at.
    PyRef r = callIntrospect("complete", args.get(), debugger ? "_asyncode.debugging" : "_asyncode.introspect");
    PyObject *matches = nullptr;
    long long start = 0, end = 0;
    int gaveUp = 0;
    if (!PyArg_ParseTuple(r.get(), "OLLp", &matches, &start, &end, &gaveUp)) throw PyError();
    out.cursorStart = start;
    out.cursorEnd = end;
    out.timedOut = gaveUp != 0;
    PyRef seq = check(PySequence_Fast(matches, "matches"));
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
      PyObject* m = PySequence_Fast_GET_ITEM(seq.get(), i);
      PyObject *text = nullptr, *type = nullptr;
      if (!PyArg_ParseTuple(m, "OO", &text, &type)) throw PyError();
      Completion c{utf8(text), std::nullopt};
      if (type != Py_None) c.type = utf8(type);
      out.matches.push_back(std::move(c));
    }
  } catch (const PyError& e) {
    spdlog::warn("complete failed: {}", e.what());
    out.cursorStart = out.cursorEnd = cursor;
  }
  return out;
}

InspectResult Engine::inspect(const std::string& code, std::int64_t cursor) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  InspectResult out;
  try {
    PyRef args = check(Py_BuildValue("(s#L)", code.data(), static_cast<Py_ssize_t>(code.size()),
                                     static_cast<long long>(cursor)));
    PyRef r = callIntrospect("inspect", args.get());
    PyObject* bundle = nullptr;
    int gaveUp = 0;
    if (!PyArg_ParseTuple(r.get(), "Op", &bundle, &gaveUp)) throw PyError();
    out.timedOut = gaveUp != 0;
    if (bundle != Py_None) {
      out.found = true;
      out.data = bundleFromDict(bundle);
    }
  } catch (const PyError& e) {
    spdlog::warn("inspect failed: {}", e.what());
  }
  return out;
}

VariablesPage Engine::variables(std::int64_t ref, std::int64_t start, std::int64_t count) {
  waitUntil(startMu_, startedCv_, started_);
  GilAcquire gil;
  VariablesPage out;
  try {
    PyRef args = check(Py_BuildValue("(LLL)", static_cast<long long>(ref), static_cast<long long>(start),
                                     static_cast<long long>(count)));
    PyRef r = callIntrospect("variables", args.get());
    PyObject* entries = nullptr;
    long long total = 0;
    if (!PyArg_ParseTuple(r.get(), "OL", &entries, &total)) throw PyError();
    out.total = total;
    PyRef seq = check(PySequence_Fast(entries, "variables"));
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
      PyObject *name = nullptr, *type = nullptr, *repr = nullptr, *length = nullptr, *shape = nullptr;
      long long childRef = 0;
      if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq.get(), i), "OOOLOO", &name, &type, &repr, &childRef, &length,
                            &shape))
        throw PyError();
      Variable v{utf8(name), utf8(type), utf8(repr), childRef};
      if (length != Py_None) v.length = PyLong_AsLongLong(length);
      if (shape != Py_None) v.shape = utf8(shape);
      if (PyErr_Occurred()) throw PyError();
      out.variables.push_back(std::move(v));
    }
  } catch (const PyError& e) {
    PyObject* value = e.value().get();
    if (value && std::string_view(Py_TYPE(value)->tp_name) == "InvalidRef") {  // introspect.py's: a stale ref
      const PyRef text = PyRef::steal(PyObject_Str(value));
      out.invalid = text ? utf8(text.get()) : std::string("the ref is not valid");
      PyErr_Clear();
    } else {
      spdlog::warn("variables failed: {}", e.what());
    }
  }
  return out;
}

}  // namespace asyncode::core
