#include "core/pyerror.h"

namespace asyncode::core {
namespace {

std::string describe(PyObject* value) {
  std::string out = Py_TYPE(value)->tp_name;
  if (PyObject* s = PyObject_Str(value)) {
    if (const char* text = PyUnicode_AsUTF8(s); text && *text) {
      out += ": ";
      out += text;
    }
    Py_DECREF(s);
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
  if (value && tb) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  auto ref = PyRef::steal(value);
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
  PyObject* value = value_.newRef();
  PyErr_Restore(Py_NewRef(reinterpret_cast<PyObject*>(Py_TYPE(value))), value, PyException_GetTraceback(value));
}

}  // namespace asyncode::core
