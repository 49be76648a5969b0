#include "core/pyerror.h"

namespace asyncode::core {
namespace {

std::string describe(PyObject* value) {
  std::string out = Py_TYPE(value)->tp_name;
  if (const PyRef s = PyRef::steal(PyObject_Str(value))) {
    if (const char* text = PyUnicode_AsUTF8(s.get()); text && *text) {
      out += ": ";
      out += text;
    }
  }
  PyErr_Clear();
  return out;
}

}  // namespace

PyError::Fetched PyError::fetch() {
  if (!PyErr_Occurred()) return {PyRef{}, "a Python call failed without an exception"};
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  const PyRef typeRef = PyRef::steal(type);  // the value knows its type
  const PyRef tbRef = PyRef::steal(tb);
  auto ref = PyRef::steal(value);
  if (ref && tbRef) PyException_SetTraceback(ref.get(), tbRef.get());
  std::string text = ref ? describe(ref.get()) : "unknown Python error";
  return {std::move(ref), std::move(text)};
}

PyError::PyError() : PyError(fetch()) {}

PyError::PyError(const std::string& message) : std::runtime_error(message) {}

bool PyError::matches(PyObject* type) const {
  return value_ && PyErr_GivenExceptionMatches(value_.get(), type);
}

void PyError::restore() const {
  if (!value_) {
    PyErr_SetString(PyExc_RuntimeError, what());
    return;
  }
  PyRef type = PyRef::borrow(reinterpret_cast<PyObject*>(Py_TYPE(value_.get())));
  PyRef tb = PyRef::steal(PyException_GetTraceback(value_.get()));
  PyErr_Restore(type.release(), value_.newRef(), tb.release());  // it steals all three
}

}  // namespace asyncode::core
