// _asyncode_c's jobs: what the engine's main thread takes (take_job), how it says an exec
// started and ended, and how a reset or configure went.
#include "core/pyref.h"

#include <optional>
#include <string>

#include "core/engine.h"
#include "core/native_module_internal.h"
#include "core/pyerror.h"

namespace asyncode::core::native {
namespace {

std::string strItem(PyObject* dict, const char* key) {
  std::string out;
  if (PyObject* v = PyDict_GetItemString(dict, key); v && PyUnicode_Check(v)) utf8Of(v, out);
  return out;
}

std::optional<int> intItem(PyObject* dict, const char* key) {
  PyObject* v = PyDict_GetItemString(dict, key);
  if (!v || !PyLong_Check(v)) return std::nullopt;
  const long n = PyLong_AsLong(v);
  if (n == -1 && PyErr_Occurred()) return std::nullopt;  // errorOf reports it
  return static_cast<int>(n);
}

}  // namespace

bool bundleOf(PyObject* items, MimeBundle& out) {
  PyRef seq = PyRef::steal(PySequence_Fast(items, "a bundle is a list of (mime, data, is_json)"));
  if (!seq) return false;
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.get());
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(seq.get(), i);
    PyObject *mime = nullptr, *data = nullptr;
    int isJson = 0;
    if (!PyArg_ParseTuple(item, "UUp", &mime, &data, &isJson)) return false;
    MimeItem m;
    if (!utf8Of(mime, m.mime) || !utf8Of(data, m.data)) return false;
    m.json = isJson != 0;
    out.push_back(std::move(m));
  }
  return true;
}

bool errorOf(PyObject* dict, ErrorInfo& out) {
  if (!PyDict_Check(dict)) {
    PyErr_SetString(PyExc_TypeError, "error info must be a dict");
    return false;
  }
  out.type = strItem(dict, "type");
  out.message = strItem(dict, "message");
  out.formatted = strItem(dict, "formatted");
  if (PyObject* tb = PyDict_GetItemString(dict, "traceback"); tb && PyList_Check(tb)) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(tb); ++i) {
      PyObject* f = PyList_GET_ITEM(tb, i);
      if (!PyDict_Check(f)) continue;
      TracebackFrame frame;
      frame.filename = strItem(f, "filename");
      frame.name = strItem(f, "name");
      if (PyObject* line = PyDict_GetItemString(f, "line"); line && PyLong_Check(line))
        frame.line = static_cast<int>(PyLong_AsLong(line));
      if (PyDict_GetItemString(f, "source")) frame.source = strItem(f, "source");
      frame.column = intItem(f, "column");
      frame.endLine = intItem(f, "endLine");
      frame.endColumn = intItem(f, "endColumn");
      out.traceback.push_back(std::move(frame));
    }
  }
  out.line = intItem(dict, "line");
  out.column = intItem(dict, "column");
  out.endLine = intItem(dict, "endLine");
  out.endColumn = intItem(dict, "endColumn");
  return !PyErr_Occurred();
}

PyObject* takeJob(PyObject* module, PyObject*) {
  auto job = stateOf(module)->engine->takeJob();
  if (!job) Py_RETURN_NONE;
  using Kind = Engine::Job::Kind;
  switch (job->kind) {
    case Kind::Exec: {
      const ExecRequest& e = job->exec;
      PyRef filename = e.filename ? PyRef::steal(PyUnicode_DecodeUTF8(e.filename->data(),
                                                                     static_cast<Py_ssize_t>(e.filename->size()), "replace"))
                                  : PyRef::borrow(Py_None);
      if (!filename) return nullptr;
      return Py_BuildValue("(sKs#iOOs#is)", "exec", static_cast<unsigned long long>(e.seq), e.code.data(),
                           static_cast<Py_ssize_t>(e.code.size()), static_cast<int>(e.mode), filename.get(),
                           e.silent ? Py_True : Py_False, e.ownerTag.data(), static_cast<Py_ssize_t>(e.ownerTag.size()),
                           e.firstLine, e.positionEncoding.c_str());
    }
    case Kind::Reset:
      return Py_BuildValue("(sK)", "reset", static_cast<unsigned long long>(job->seq));
    case Kind::Configure: {
      const ConfigureRequest& c = job->configure;
      PyRef cwd = c.cwd ? PyRef::steal(PyUnicode_DecodeUTF8(c.cwd->data(), static_cast<Py_ssize_t>(c.cwd->size()), "surrogateescape"))
                        : PyRef::borrow(Py_None);
      if (!cwd) return nullptr;
      return Py_BuildValue("(sKsOOO)", "configure", static_cast<unsigned long long>(job->seq), c.backend.c_str(),
                           c.syncInLoop ? Py_True : Py_False, cwd.get(), c.stdinStream ? Py_True : Py_False);
    }
    case Kind::Preload:
      return Py_BuildValue("(s)", "preload");
    case Kind::Shutdown:
      return Py_BuildValue("(s)", "shutdown");
    case Kind::Terminal:
      break;  // takeJob keeps it
  }
  Py_RETURN_NONE;
}

PyObject* hasJobs(PyObject* module, PyObject*) { return PyBool_FromLong(stateOf(module)->engine->hasJobs()); }

PyObject* waitJobs(PyObject* module, PyObject*) {
  stateOf(module)->engine->waitJobs();
  if (PyErr_CheckSignals() < 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* wakeFd(PyObject* module, PyObject*) { return PyLong_FromLong(stateOf(module)->engine->wakeFd()); }

PyObject* drainWake(PyObject* module, PyObject*) {
  stateOf(module)->engine->drainWake();
  Py_RETURN_NONE;
}

PyObject* execStarted(PyObject* module, PyObject* args) {
  unsigned long long seq = 0;
  PyObject* count = nullptr;
  if (!PyArg_ParseTuple(args, "KO", &seq, &count)) return nullptr;
  std::optional<int> execCount;
  if (count != Py_None) {
    const long n = PyLong_AsLong(count);
    if (n == -1 && PyErr_Occurred()) return nullptr;
    execCount = static_cast<int>(n);
  }
  stateOf(module)->engine->execStarted(seq, execCount);
  Py_RETURN_NONE;
}

PyObject* execDone(PyObject* module, PyObject* args) {
  unsigned long long seq = 0;
  PyObject *count = nullptr, *result = nullptr, *error = nullptr;
  int status = 0, awaited = 0, how = 0;
  double duration = 0;
  if (!PyArg_ParseTuple(args, "KOiOOdpi", &seq, &count, &status, &result, &error, &duration, &awaited, &how))
    return nullptr;
  ExecOutcome o;
  o.seq = seq;
  if (count != Py_None) o.execCount = static_cast<int>(PyLong_AsLong(count));
  o.status = static_cast<ExecStatus>(status);
  o.durationMs = duration;
  o.awaited = awaited != 0;
  o.how = static_cast<InterruptHow>(how);
  if (result != Py_None) {
    MimeBundle b;
    if (!bundleOf(result, b)) return nullptr;
    o.result = std::move(b);
  }
  if (error != Py_None) {
    ErrorInfo e;
    if (!errorOf(error, e)) return nullptr;
    o.error = std::move(e);
  }
  if (PyErr_Occurred()) return nullptr;
  stateOf(module)->engine->execDone(std::move(o));
  Py_RETURN_NONE;
}

PyObject* jobDone(PyObject* module, PyObject* args) {
  unsigned long long seq = 0;
  PyObject* error = nullptr;
  if (!PyArg_ParseTuple(args, "KO", &seq, &error)) return nullptr;
  std::optional<std::string> message;
  if (error != Py_None) {
    std::string text;
    if (!PyUnicode_Check(error) || !utf8Of(error, text)) return nullptr;
    message = std::move(text);
  }
  stateOf(module)->engine->jobDone(seq, std::move(message));
  Py_RETURN_NONE;
}

PyObject* engineReady(PyObject* module, PyObject* backends) {
  ReadyEvent event;
  PyRef seq = PyRef::steal(PySequence_Fast(backends, "backends must be a sequence of str"));
  if (!seq) return nullptr;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq.get()); ++i) {
    std::string name;
    PyObject* item = PySequence_Fast_GET_ITEM(seq.get(), i);
    if (!PyUnicode_Check(item) || !utf8Of(item, name)) {
      PyErr_SetString(PyExc_TypeError, "backends must be a sequence of str");
      return nullptr;
    }
    event.backends.push_back(std::move(name));
  }
  stateOf(module)->engine->markReady();
  stateOf(module)->engine->outbox().push(std::move(event));
  Py_RETURN_NONE;
}

PyObject* terminal(PyObject* module, PyObject*) {
  const auto t = stateOf(module)->engine->terminal();
  if (!t) Py_RETURN_NONE;
  return Py_BuildValue("(iiO)", t->columns, t->rows, t->isatty ? Py_True : Py_False);
}

PyObject* interruptReason(PyObject* module, PyObject* arg) {
  const unsigned long long seq = PyLong_AsUnsignedLongLong(arg);
  if (PyErr_Occurred()) return nullptr;
  const auto reason = stateOf(module)->engine->interruptReason(seq);
  if (!reason) Py_RETURN_NONE;
  return PyLong_FromLong(static_cast<long>(*reason));
}

PyObject* interruptActed(PyObject* module, PyObject* arg) {
  const long how = PyLong_AsLong(arg);
  if (PyErr_Occurred()) return nullptr;
  stateOf(module)->engine->interruptActed(static_cast<InterruptHow>(how));
  Py_RETURN_NONE;
}

}  // namespace asyncode::core::native
