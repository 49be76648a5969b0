// The one point where Python errors become C++ exceptions.
#pragma once

#include <stdexcept>
#include <string>

#include "core/pyref.h"

namespace asyncode::core {

// The Python exception that was set when it was constructed (fetched once, normalized).
// restore() hands it back to Python. Construct and destroy with the GIL held.
class PyError : public std::runtime_error {
 public:
  PyError();
  // A Python error that is not an exception object (a failure we describe ourselves).
  explicit PyError(const std::string& message);

  [[nodiscard]] const PyRef& value() const { return value_; }
  [[nodiscard]] bool matches(PyObject* type) const;
  // Sets the exception again (for returning NULL to Python).
  void restore() const;

 private:
  struct Fetched {
    PyRef value;
    std::string text;
  };
  static Fetched fetch();
  explicit PyError(Fetched f) : std::runtime_error(f.text), value_(std::move(f.value)) {}
  PyRef value_;
};

// check(p): p, or throw PyError when p is NULL (a new reference is expected).
inline PyRef check(PyObject* p) {
  if (!p) throw PyError();
  return PyRef::steal(p);
}
inline int check(int rc) {
  if (rc < 0) throw PyError();
  return rc;
}

}  // namespace asyncode::core
