// The native module's pieces shared by its two files: native_module.cpp (the module, output,
// input, displays) and native_jobs.cpp (jobs: what the engine's main thread takes and answers).
#pragma once

#include "core/pyref.h"

#include <string>

#include "core/types.h"

namespace asyncode::core {

class Engine;

namespace native {

struct ModuleState {
  Engine* engine;
  PyObject* ownerVar;  // the ContextVar naming the exec that owns output (module state: GC'd by hand)
};
ModuleState* stateOf(PyObject* module);

// UTF-8 of a str; lone surrogates become backslash escapes rather than an error.
bool utf8Of(PyObject* s, std::string& out);
// [(mime, data, is_json), ...] -> MimeBundle; false with an exception set.
bool bundleOf(PyObject* items, MimeBundle& out);
// {"type", "message", "traceback": [{filename, line, name, source?}], "formatted"} -> ErrorInfo.
bool errorOf(PyObject* dict, ErrorInfo& out);

// The module's job functions (native_jobs.cpp).
PyObject* takeJob(PyObject* module, PyObject*);
PyObject* hasJobs(PyObject* module, PyObject*);
PyObject* waitJobs(PyObject* module, PyObject*);
PyObject* wakeFd(PyObject* module, PyObject*);
PyObject* drainWake(PyObject* module, PyObject*);
PyObject* execStarted(PyObject* module, PyObject* args);
PyObject* execDone(PyObject* module, PyObject* args);
PyObject* jobDone(PyObject* module, PyObject* args);
PyObject* engineReady(PyObject* module, PyObject* backends);
PyObject* interruptReason(PyObject* module, PyObject* arg);
PyObject* terminal(PyObject* module, PyObject*);
PyObject* interruptActed(PyObject* module, PyObject* arg);

}  // namespace native
}  // namespace asyncode::core
