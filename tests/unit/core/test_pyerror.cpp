// PyError: a Python exception fetched once, described, matched and restored; check().
#include <catch2/catch.hpp>

#include <string>

#include "core/pyerror.h"

using asyncode::core::check;
using asyncode::core::GilAcquire;
using asyncode::core::PyError;
using asyncode::core::PyRef;

TEST_CASE("PyError fetches the current exception once and describes it as Type: message", "[pyerror]") {
  GilAcquire gil;
  SECTION("a ValueError") {
    PyErr_SetString(PyExc_ValueError, "bad value");
    const PyError e;
    CHECK(PyErr_Occurred() == nullptr);  // fetched: no longer set
    CHECK(std::string(e.what()) == "ValueError: bad value");
    REQUIRE(e.value());
    CHECK(Py_TYPE(e.value().get()) == reinterpret_cast<PyTypeObject*>(PyExc_ValueError));
  }
  SECTION("an exception without a message is just its type") {
    PyErr_SetNone(PyExc_StopIteration);
    const PyError e;
    CHECK(std::string(e.what()) == "StopIteration");
  }
  SECTION("a KeyError shows its repr'd key, as str() does") {
    PyErr_SetObject(PyExc_KeyError, PyRef::steal(PyUnicode_FromString("k")).get());
    const PyError e;
    CHECK(std::string(e.what()) == "KeyError: 'k'");
  }
  SECTION("an exception raised by Python code is normalized, with its traceback") {
    PyRef globals = PyRef::steal(PyDict_New());
    PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins());
    PyObject* r = PyRun_String("1 / 0", Py_eval_input, globals.get(), globals.get());
    REQUIRE(r == nullptr);
    const PyError e;
    CHECK(std::string(e.what()) == "ZeroDivisionError: division by zero");
    PyRef tb = PyRef::steal(PyException_GetTraceback(e.value().get()));
    CHECK(tb);
  }
  SECTION("a non-ASCII message is kept as UTF-8") {
    PyErr_SetString(PyExc_RuntimeError, "caf\xC3\xA9");
    CHECK(std::string(PyError().what()) == "RuntimeError: caf\xC3\xA9");
  }
  CHECK(PyErr_Occurred() == nullptr);
}

TEST_CASE("PyError::matches follows the exception hierarchy", "[pyerror]") {
  GilAcquire gil;
  PyErr_SetString(PyExc_FileNotFoundError, "nope");
  const PyError e;
  CHECK(e.matches(PyExc_FileNotFoundError));
  CHECK(e.matches(PyExc_OSError));
  CHECK(e.matches(PyExc_Exception));
  CHECK_FALSE(e.matches(PyExc_ValueError));
  CHECK_FALSE(e.matches(PyExc_SyntaxError));
}

TEST_CASE("PyError::restore sets the same exception again", "[pyerror]") {
  GilAcquire gil;
  PyRef globals = PyRef::steal(PyDict_New());
  PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins());
  REQUIRE(PyRun_String("[][1]", Py_eval_input, globals.get(), globals.get()) == nullptr);
  const PyError e;
  REQUIRE(PyErr_Occurred() == nullptr);
  e.restore();
  REQUIRE(PyErr_Occurred() != nullptr);
  CHECK(PyErr_ExceptionMatches(PyExc_IndexError));
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  CHECK(type == PyExc_IndexError);
  CHECK(value == e.value().get());  // the very object, not a copy
  CHECK(tb != nullptr);             // with its traceback
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  CHECK(PyErr_Occurred() == nullptr);
}

TEST_CASE("PyError holds one reference to the exception and gives it back", "[pyerror]") {
  GilAcquire gil;
  PyRef exc = PyRef::steal(PyObject_CallFunction(PyExc_ValueError, "s", "counted"));
  REQUIRE(exc);
  const Py_ssize_t before = Py_REFCNT(exc.get());
  PyErr_SetObject(PyExc_ValueError, exc.get());
  {
    const PyError e;
    CHECK(e.value().get() == exc.get());
    CHECK(Py_REFCNT(exc.get()) == before + 1);
  }
  CHECK(Py_REFCNT(exc.get()) == before);
}

TEST_CASE("A PyError without a Python exception describes itself and restores as RuntimeError", "[pyerror]") {
  GilAcquire gil;
  SECTION("nothing was set") {
    REQUIRE(PyErr_Occurred() == nullptr);
    const PyError e;
    CHECK(std::string(e.what()) == "a Python call failed without an exception");
    CHECK_FALSE(e.value());
    CHECK_FALSE(e.matches(PyExc_Exception));
    e.restore();
    CHECK(PyErr_ExceptionMatches(PyExc_RuntimeError));
    const PyError again;
    CHECK(std::string(again.what()) == "RuntimeError: a Python call failed without an exception");
  }
  SECTION("our own message") {
    const PyError e(std::string("engine not started"));
    CHECK(std::string(e.what()) == "engine not started");
    CHECK_FALSE(e.value());
    e.restore();
    const PyError again;
    CHECK(again.matches(PyExc_RuntimeError));
    CHECK(std::string(again.what()) == "RuntimeError: engine not started");
  }
  CHECK(PyErr_Occurred() == nullptr);
}

TEST_CASE("check() passes results through and throws PyError on failure", "[pyerror]") {
  GilAcquire gil;
  SECTION("objects") {
    PyRef n = check(PyLong_FromLong(5));
    CHECK(PyLong_AsLong(n.get()) == 5);
    PyErr_SetString(PyExc_TypeError, "no");
    CHECK_THROWS_WITH(check(static_cast<PyObject*>(nullptr)), "TypeError: no");
  }
  SECTION("status codes") {
    CHECK(check(0) == 0);
    CHECK(check(3) == 3);
    PyErr_SetString(PyExc_OverflowError, "big");
    try {
      check(-1);
      FAIL("check(-1) did not throw");
    } catch (const PyError& e) {
      CHECK(e.matches(PyExc_OverflowError));
      CHECK(std::string(e.what()) == "OverflowError: big");
    }
  }
  CHECK(PyErr_Occurred() == nullptr);
}
