// Ownership of PyObject* and of the GIL, spelled out.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

namespace asyncode::core {

// An owning reference. steal() takes over a new reference, borrow() adds one.
class PyRef {
 public:
  PyRef() = default;
  static PyRef steal(PyObject* p) { return PyRef(p); }
  static PyRef borrow(PyObject* p) {
    Py_XINCREF(p);
    return PyRef(p);
  }
  PyRef(const PyRef& other) : p_(other.p_) { Py_XINCREF(p_); }
  PyRef(PyRef&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  PyRef& operator=(PyRef other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~PyRef() { Py_XDECREF(p_); }

  // Drops the reference; the object is released after the swap, so a destructor that runs
  // Python code never sees this handle half-changed.
  void reset() {
    PyObject* old = std::exchange(p_, nullptr);
    Py_XDECREF(old);
  }
  [[nodiscard]] PyObject* release() { return std::exchange(p_, nullptr); }
  [[nodiscard]] PyObject* get() const { return p_; }
  // A new reference for an API that steals one.
  [[nodiscard]] PyObject* newRef() const {
    Py_XINCREF(p_);
    return p_;
  }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  explicit PyRef(PyObject* p) : p_(p) {}
  PyObject* p_ = nullptr;
};

// Holds the GIL for a scope, from any thread (creating the thread state when needed).
class GilAcquire {
 public:
  GilAcquire() : state_(PyGILState_Ensure()) {}
  ~GilAcquire() { PyGILState_Release(state_); }
  GilAcquire(const GilAcquire&) = delete;
  GilAcquire& operator=(const GilAcquire&) = delete;

 private:
  PyGILState_STATE state_;
};

// Lets other threads run Python for a scope (around a blocking call).
class GilRelease {
 public:
  GilRelease() : save_(PyEval_SaveThread()) {}
  ~GilRelease() { PyEval_RestoreThread(save_); }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* save_;
};

}  // namespace asyncode::core
