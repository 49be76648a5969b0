#include "core/native_module.h"

#include "core/pyref.h"  // Python.h before marshal.h
#include <marshal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/compiler.h"
#include "core/embedded.h"
#include "core/engine.h"
#include "core/pyerror.h"

namespace asyncode::core {
namespace {

struct ModuleState {
  Engine* engine;
  PyObject* ownerVar;  // the ContextVar naming the exec that owns output
};

ModuleState* stateOf(PyObject* module) { return static_cast<ModuleState*>(PyModule_GetState(module)); }

constexpr const char* kOwnerCapsule = "asyncode.owner";

// UTF-8 of a str; lone surrogates become backslash escapes rather than an error.
bool utf8Of(PyObject* s, std::string& out) {
  Py_ssize_t n = 0;
  if (const char* p = PyUnicode_AsUTF8AndSize(s, &n)) {
    out.assign(p, static_cast<std::size_t>(n));
    return true;
  }
  PyErr_Clear();
  const PyRef b = PyRef::steal(PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace"));
  if (!b) return false;
  out.assign(PyBytes_AS_STRING(b.get()), static_cast<std::size_t>(PyBytes_GET_SIZE(b.get())));
  return true;
}

std::string strItem(PyObject* dict, const char* key) {
  std::string out;
  if (PyObject* v = PyDict_GetItemString(dict, key); v && PyUnicode_Check(v)) utf8Of(v, out);
  return out;
}

OwnerPtr currentOwner(ModuleState* st) {
  PyObject* raw = nullptr;
  if (PyContextVar_Get(st->ownerVar, nullptr, &raw) < 0) {
    PyErr_Clear();
    return nullptr;
  }
  const PyRef value = PyRef::steal(raw);  // a new reference, or none
  if (!value || !PyCapsule_IsValid(value.get(), kOwnerCapsule)) return nullptr;
  return *static_cast<OwnerPtr*>(PyCapsule_GetPointer(value.get(), kOwnerCapsule));
}

// [(mime, data, is_json), ...] -> MimeBundle
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
      out.traceback.push_back(std::move(frame));
    }
  }
  return !PyErr_Occurred();
}

// ---- output -----------------------------------------------------------------------
struct Writer {
  Engine* engine;
  PyObject* module;  // borrowed: the module outlives its writers
  Stream stream;
};
constexpr const char* kWriterCapsule = "asyncode.writer";

bool writeFd(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

PyObject* writerWrite(PyObject* self, PyObject* text) {
  auto* w = static_cast<Writer*>(PyCapsule_GetPointer(self, kWriterCapsule));
  if (!w) return nullptr;
  if (!PyUnicode_Check(text)) {
    PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s", Py_TYPE(text)->tp_name);
    return nullptr;
  }
  const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
  std::string buffer;
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(text, &n);
  if (!p) {
    PyErr_Clear();
    if (!utf8Of(text, buffer)) return nullptr;
    p = buffer.data();
    n = static_cast<Py_ssize_t>(buffer.size());
  }
  if (w->engine->forked()) {  // a forked child: the daemon reads fd 1 and 2 as well
    writeFd(static_cast<int>(w->stream), p, static_cast<std::size_t>(n));
    return PyLong_FromSsize_t(length);
  }
  Outbox& outbox = w->engine->outbox();
  while (!outbox.hasRoom()) {  // the client reads slowly: wait, and stay interruptible
    bool room = false;
    {
      GilRelease nogil;
      room = outbox.waitForRoom(std::chrono::milliseconds(20));
    }
    if (room) break;
    if (PyErr_CheckSignals() < 0) return nullptr;
  }
  const OwnerPtr owner = currentOwner(stateOf(w->module));
  outbox.write(w->stream, owner, std::string_view(p, static_cast<std::size_t>(n)));
  return PyLong_FromSsize_t(length);
}

PyMethodDef writerDef = {"write", writerWrite, METH_O, "Write text to the session's output."};

PyObject* makeWriter(PyObject* module, PyObject* arg) {
  const long fd = PyLong_AsLong(arg);
  if (fd == -1 && PyErr_Occurred()) return nullptr;
  if (fd != 1 && fd != 2) {
    PyErr_SetString(PyExc_ValueError, "stream must be 1 or 2");
    return nullptr;
  }
  auto w = std::make_unique<Writer>(Writer{stateOf(module)->engine, module, static_cast<Stream>(fd)});
  PyRef capsule = PyRef::steal(PyCapsule_New(w.get(), kWriterCapsule, [](PyObject* c) {
    delete static_cast<Writer*>(PyCapsule_GetPointer(c, kWriterCapsule));
  }));
  if (!capsule) return nullptr;
  w.release();  // the capsule owns it now
  return PyCFunction_New(&writerDef, capsule.get());
}

// Waits until what Python wrote so far has been delivered (written into the fd 1/2 pipes,
// in order with what C code and child processes write there). GIL held; false with an
// exception set when a signal handler raised meanwhile.
bool flushOutput(Engine* engine) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (engine->forked()) return true;
  Outbox& outbox = engine->outbox();
  const std::uint64_t target = outbox.appended();
  while (true) {
    bool done = false;
    {
      GilRelease nogil;
      done = outbox.waitDelivered(target, std::chrono::milliseconds(20));
    }
    if (done) return true;
    if (PyErr_CheckSignals() < 0) return false;
  }
}

// sys.stdout.flush()
PyObject* flushFds(PyObject* module, PyObject*) {
  if (!flushOutput(stateOf(module)->engine)) return nullptr;
  Py_RETURN_NONE;
}

// Before code starts a process or calls C through ctypes (which may write to fd 1 and 2
// directly), Python output written before it goes out first: `print("x");
// subprocess.run(["echo", "y"])` shows x then y, as on a terminal.
int auditHook(const char* event, PyObject*, void* engine) {
  static constexpr const char* kEvents[] = {"subprocess.Popen", "os.system",  "os.posix_spawn", "os.spawn",
                                            "os.exec",          "os.fork",    "os.forkpty",     "pty.spawn",
                                            "ctypes.call_function"};
  for (const char* e : kEvents)
    if (std::strcmp(event, e) == 0) return flushOutput(static_cast<Engine*>(engine)) ? 0 : -1;
  return 0;
}

PyObject* makeOwner(PyObject*, PyObject* args) {
  const char* tag = nullptr;
  Py_ssize_t tagLen = 0;
  PyObject* count = nullptr;
  if (!PyArg_ParseTuple(args, "s#O", &tag, &tagLen, &count)) return nullptr;
  Owner owner{std::string(tag, static_cast<std::size_t>(tagLen)), std::nullopt};
  if (count != Py_None) {
    const long n = PyLong_AsLong(count);
    if (n == -1 && PyErr_Occurred()) return nullptr;
    owner.execCount = static_cast<int>(n);
  }
  auto holder = std::make_unique<OwnerPtr>(std::make_shared<const Owner>(std::move(owner)));
  PyRef capsule = PyRef::steal(PyCapsule_New(holder.get(), kOwnerCapsule, [](PyObject* c) {
    delete static_cast<OwnerPtr*>(PyCapsule_GetPointer(c, kOwnerCapsule));
  }));
  if (!capsule) return nullptr;
  holder.release();  // the capsule owns it now
  return capsule.release();
}

PyObject* display(PyObject* module, PyObject* items) {
  DisplayEvent event;
  if (!bundleOf(items, event.data)) return nullptr;
  ModuleState* st = stateOf(module);
  event.owner = currentOwner(st);
  if (st->engine->forked()) Py_RETURN_NONE;  // nobody to show it to
  st->engine->outbox().push(std::move(event));
  Py_RETURN_NONE;
}

PyObject* readInput(PyObject* module, PyObject* args) {
  PyObject* prompt = nullptr;
  int password = 0;
  if (!PyArg_ParseTuple(args, "Up", &prompt, &password)) return nullptr;
  std::string text;
  if (!utf8Of(prompt, text)) return nullptr;
  ModuleState* st = stateOf(module);
  std::string answer;
  if (!st->engine->readInput(text, password != 0, currentOwner(st), answer)) return nullptr;
  return PyUnicode_DecodeUTF8(answer.data(), static_cast<Py_ssize_t>(answer.size()), "replace");
}

// ---- jobs -------------------------------------------------------------------------
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
      return Py_BuildValue("(sKs#iOOs#)", "exec", static_cast<unsigned long long>(e.seq), e.code.data(),
                           static_cast<Py_ssize_t>(e.code.size()), static_cast<int>(e.mode), filename.get(),
                           e.silent ? Py_True : Py_False, e.ownerTag.data(), static_cast<Py_ssize_t>(e.ownerTag.size()));
    }
    case Kind::Reset:
      return Py_BuildValue("(sK)", "reset", static_cast<unsigned long long>(job->seq));
    case Kind::Configure: {
      const ConfigureRequest& c = job->configure;
      PyRef cwd = c.cwd ? PyRef::steal(PyUnicode_DecodeUTF8(c.cwd->data(), static_cast<Py_ssize_t>(c.cwd->size()), "surrogateescape"))
                        : PyRef::borrow(Py_None);
      if (!cwd) return nullptr;
      return Py_BuildValue("(sKsOO)", "configure", static_cast<unsigned long long>(job->seq), c.backend.c_str(),
                           c.syncInLoop ? Py_True : Py_False, cwd.get());
    }
    case Kind::Preload:
      return Py_BuildValue("(s)", "preload");
    case Kind::Shutdown:
      return Py_BuildValue("(s)", "shutdown");
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
  stateOf(module)->engine->outbox().push(std::move(event));
  Py_RETURN_NONE;
}

PyObject* interruptReason(PyObject* module, PyObject* arg) {
  const unsigned long long seq = PyLong_AsUnsignedLongLong(arg);
  if (PyErr_Occurred()) return nullptr;
  const auto reason = stateOf(module)->engine->interruptReason(seq);
  if (!reason) Py_RETURN_NONE;
  return PyLong_FromLong(static_cast<long>(*reason));
}

PyObject* warningsSuppressedFn(PyObject*, PyObject*) { return PyBool_FromLong(warningsSuppressed()); }

// ---- the embedded modules ----------------------------------------------------------
PyObject* embeddedCode(PyObject*, PyObject* arg) {
  const char* name = PyUnicode_AsUTF8(arg);
  if (!name) return nullptr;
  const embedded::Module* m = embedded::find(name);
  if (!m) Py_RETURN_NONE;
  return PyMarshal_ReadObjectFromString(reinterpret_cast<const char*>(m->code), static_cast<Py_ssize_t>(m->size));
}

PyObject* embeddedSource(PyObject*, PyObject* arg) {
  const char* name = PyUnicode_AsUTF8(arg);
  if (!name) return nullptr;
  const embedded::Module* m = embedded::find(name);
  if (!m) Py_RETURN_NONE;
  return PyUnicode_FromString(m->source);
}

PyMethodDef methods[] = {
    {"make_writer", makeWriter, METH_O, "A write() builtin for fd 1 or 2."},
    {"flush_fds", flushFds, METH_NOARGS, "Flush C stdio, and wait until Python output so far is delivered."},
    {"make_owner", makeOwner, METH_VARARGS, "An owner token (request tag, exec count) for output."},
    {"display", display, METH_O, "Send a display of [(mime, data, is_json)]."},
    {"input", readInput, METH_VARARGS, "Ask the client for a line: input(prompt, password)."},
    {"take_job", takeJob, METH_NOARGS, "The next job, or None."},
    {"has_jobs", hasJobs, METH_NOARGS, "Whether a job is queued."},
    {"wait_jobs", waitJobs, METH_NOARGS, "Block until a job is queued."},
    {"wake_fd", wakeFd, METH_NOARGS, "The descriptor that turns readable when a job is queued."},
    {"drain_wake", drainWake, METH_NOARGS, "Consume wake_fd's readiness."},
    {"exec_started", execStarted, METH_VARARGS, "An exec began: exec_started(seq, count)."},
    {"exec_done", execDone, METH_VARARGS, "An exec ended."},
    {"job_done", jobDone, METH_VARARGS, "A reset or configure job ended (error text or None)."},
    {"engine_ready", engineReady, METH_O, "The engine takes jobs; the backends it can run."},
    {"interrupt_reason", interruptReason, METH_O, "The pending interrupt's reason for an exec, or None."},
    {"warnings_suppressed", warningsSuppressedFn, METH_NOARGS, "True while a compile check runs here."},
    {"embedded_code", embeddedCode, METH_O, "The code object of an embedded module, or None."},
    {"embedded_source", embeddedSource, METH_O, "The source of an embedded module, or None."},
    {nullptr, nullptr, 0, nullptr},
};

int traverse(PyObject* module, visitproc visit, void* arg) {
  Py_VISIT(stateOf(module)->ownerVar);
  return 0;
}

int clear(PyObject* module) {
  Py_CLEAR(stateOf(module)->ownerVar);
  return 0;
}

PyModuleDef moduleDef = {
    PyModuleDef_HEAD_INIT, "_asyncode_c", "asyncode's engine: the C++ half.", sizeof(ModuleState), methods,
    nullptr, traverse, clear, nullptr,
};

}  // namespace

// The engine's enums (core/types.h) as the Python half sees them: one definition, exported.
struct IntConstant {
  const char* name;
  int value;
};
template <class E>
constexpr IntConstant constant(const char* name, E value) {
  return {name, static_cast<int>(value)};
}
constexpr IntConstant kConstants[] = {
    constant("STATUS_OK", ExecStatus::Ok),
    constant("STATUS_ERROR", ExecStatus::Error),
    constant("STATUS_INTERRUPTED", ExecStatus::Interrupted),
    constant("STATUS_TIMEOUT", ExecStatus::Timeout),
    constant("HOW_NONE", InterruptHow::None),
    constant("HOW_CANCELLED", InterruptHow::Cancelled),
    constant("HOW_KEYBOARD_INTERRUPT", InterruptHow::KeyboardInterrupt),
    constant("REASON_INTERRUPT", InterruptReason::Interrupt),
    constant("REASON_TIMEOUT", InterruptReason::Timeout),
    constant("MODE_CELL", Mode::Cell),
    constant("MODE_INTERACTIVE", Mode::Interactive),
    constant("MODE_MODULE", Mode::Module),
};

PyRef createNativeModule(Engine* engine) {
  PyRef module = check(PyModule_Create(&moduleDef));
  for (const auto& c : kConstants) check(PyModule_AddIntConstant(module.get(), c.name, c.value));
  ModuleState* st = stateOf(module.get());
  st->engine = engine;
  st->ownerVar = PyContextVar_New("asyncode_owner", nullptr);
  if (!st->ownerVar) throw PyError();
  check(PyModule_AddObjectRef(module.get(), "OWNER", st->ownerVar));
  PyObject* modules = PyImport_GetModuleDict();
  check(PyDict_SetItemString(modules, "_asyncode_c", module.get()));
  check(PySys_AddAuditHook(auditHook, engine));
  return module;
}

}  // namespace asyncode::core
