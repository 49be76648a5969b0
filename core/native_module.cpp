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
#include "core/native_module_internal.h"
#include "core/pyerror.h"

namespace asyncode::core {

namespace native {

ModuleState* stateOf(PyObject* module) { return static_cast<ModuleState*>(PyModule_GetState(module)); }

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

}  // namespace native

namespace {

using namespace native;

constexpr const char* kOwnerCapsule = "asyncode.owner";

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

// display(items, display_id, update, metadata_json)
PyObject* display(PyObject* module, PyObject* args) {
  PyObject *items = nullptr, *displayId = Py_None, *metadata = Py_None;
  int update = 0;
  if (!PyArg_ParseTuple(args, "O|OpO", &items, &displayId, &update, &metadata)) return nullptr;
  DisplayEvent event;
  if (!bundleOf(items, event.data)) return nullptr;
  if (displayId != Py_None) {
    std::string id;
    if (!PyUnicode_Check(displayId) || !utf8Of(displayId, id)) {
      PyErr_SetString(PyExc_TypeError, "display_id must be a str");
      return nullptr;
    }
    event.displayId = std::move(id);
  }
  event.update = update != 0;
  if (metadata != Py_None && (!PyUnicode_Check(metadata) || !utf8Of(metadata, event.metadata))) return nullptr;
  ModuleState* st = stateOf(module);
  event.owner = currentOwner(st);
  if (st->engine->forked()) Py_RETURN_NONE;  // nobody to show it to
  st->engine->outbox().push(std::move(event));
  Py_RETURN_NONE;
}

PyObject* clearOutput(PyObject* module, PyObject* wait) {
  ModuleState* st = stateOf(module);
  if (st->engine->forked()) Py_RETURN_NONE;
  st->engine->outbox().push(ClearOutputEvent{currentOwner(st), PyObject_IsTrue(wait) == 1, 0});
  Py_RETURN_NONE;
}

// task_error(owner or None, error_info): None takes the current context's owner.
PyObject* taskError(PyObject* module, PyObject* args) {
  PyObject *owner = nullptr, *info = nullptr;
  if (!PyArg_ParseTuple(args, "OO", &owner, &info)) return nullptr;
  ModuleState* st = stateOf(module);
  TaskErrorEvent event;
  if (!errorOf(info, event.error)) return nullptr;
  if (owner != Py_None && PyCapsule_IsValid(owner, kOwnerCapsule)) {
    event.owner = *static_cast<OwnerPtr*>(PyCapsule_GetPointer(owner, kOwnerCapsule));
  } else {
    event.owner = currentOwner(st);
  }
  if (st->engine->forked()) Py_RETURN_NONE;
  st->engine->outbox().push(std::move(event));
  Py_RETURN_NONE;
}

PyObject* readInput(PyObject* module, PyObject* args) {
  PyObject* prompt = nullptr;
  int kind = static_cast<int>(InputKind::Input);
  if (!PyArg_ParseTuple(args, "Ui", &prompt, &kind)) return nullptr;
  if (kind < static_cast<int>(InputKind::Input) || kind > static_cast<int>(InputKind::Debugger)) {
    PyErr_SetString(PyExc_ValueError, "input(): kind is one of INPUT_*");
    return nullptr;
  }
  std::string text;
  if (!utf8Of(prompt, text)) return nullptr;
  ModuleState* st = stateOf(module);
  std::string answer;
  if (!st->engine->readInput(text, static_cast<InputKind>(kind), currentOwner(st), answer)) return nullptr;
  return PyUnicode_DecodeUTF8(answer.data(), static_cast<Py_ssize_t>(answer.size()), "replace");
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
    {"display", display, METH_VARARGS, "Send a display: display([(mime, data, is_json)], display_id, update, metadata_json)."},
    {"clear_output", clearOutput, METH_O, "Send clearOutput: clear_output(wait)."},
    {"task_error", taskError, METH_VARARGS, "Send taskError: task_error(owner or None, error_info)."},
    {"input", readInput, METH_VARARGS, "Ask the client for a line: input(prompt, kind), kind one of INPUT_*."},
    {"take_job", takeJob, METH_NOARGS, "The next job, or None."},
    {"has_jobs", hasJobs, METH_NOARGS, "Whether a job is queued."},
    {"wait_jobs", waitJobs, METH_NOARGS, "Block until a job is queued."},
    {"wake_fd", wakeFd, METH_NOARGS, "The descriptor that turns readable when a job is queued."},
    {"drain_wake", drainWake, METH_NOARGS, "Consume wake_fd's readiness."},
    {"exec_started", execStarted, METH_VARARGS, "An exec began: exec_started(seq, count)."},
    {"exec_done", execDone, METH_VARARGS, "An exec ended."},
    {"job_done", jobDone, METH_VARARGS, "A reset or configure job ended (error text or None)."},
    {"engine_ready", engineReady, METH_O, "The engine takes jobs; the backends it can run."},
    {"terminal", terminal, METH_NOARGS, "The client's terminal: (columns, rows, isatty), or None."},
    {"interrupt_reason", interruptReason, METH_O, "The pending interrupt's reason for an exec (0: for a task), or None."},
    {"interrupt_acted", interruptActed, METH_O, "The SIGINT handler did this (HOW_*) with the pending interrupts."},
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
    constant("HOW_TASK_INTERRUPTED", InterruptHow::TaskInterrupted),
    constant("REASON_INTERRUPT", InterruptReason::Interrupt),
    constant("REASON_TIMEOUT", InterruptReason::Timeout),
    constant("MODE_CELL", Mode::Cell),
    constant("MODE_INTERACTIVE", Mode::Interactive),
    constant("MODE_MODULE", Mode::Module),
    constant("INPUT_INPUT", InputKind::Input),
    constant("INPUT_PASSWORD", InputKind::Password),
    constant("INPUT_DEBUGGER", InputKind::Debugger),
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
