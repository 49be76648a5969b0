// core_tests' main: one interpreter for the whole session. Python starts without signal
// handlers (Py_InitializeEx(0)); the main thread then gives the GIL away, and each test takes
// it for the code it runs (core::GilAcquire), as the engine's callers do.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(int argc, char* argv[]) {
  Py_InitializeEx(0);
  if (!Py_IsInitialized()) return 2;
  PyThreadState* mainThread = PyEval_SaveThread();
  const int failed = Catch::Session().run(argc, argv);
  PyEval_RestoreThread(mainThread);
  if (Py_FinalizeEx() < 0) return failed != 0 ? failed : 3;
  return failed;
}
