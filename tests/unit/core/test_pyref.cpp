// PyRef keeps reference counts right through every transfer; the GIL guards.
#include <catch2/catch.hpp>

#include <thread>
#include <utility>

#include "core/pyref.h"

using asyncode::core::GilAcquire;
using asyncode::core::GilRelease;
using asyncode::core::PyRef;

namespace {

// A fresh object that the test holds one reference to (a list: not shared or immortal).
struct Fresh {
  PyObject* p = PyList_New(0);
  Fresh() { REQUIRE(p != nullptr); }
  ~Fresh() { Py_XDECREF(p); }
  Fresh(const Fresh&) = delete;
  Fresh& operator=(const Fresh&) = delete;
  Py_ssize_t refs() const { return Py_REFCNT(p); }
};

// For the reset() test: the handle being changed, and what it held when the object died.
PyRef* gWatched = nullptr;
PyObject* gSeenAtDeath = reinterpret_cast<PyObject*>(1);

PyObject* onDeath(PyObject*, PyObject*) {
  gSeenAtDeath = gWatched->get();
  Py_RETURN_NONE;
}
PyMethodDef gOnDeathDef = {"on_death", onDeath, METH_O, nullptr};

}  // namespace

TEST_CASE("steal takes over a reference, borrow adds one", "[pyref]") {
  GilAcquire gil;
  Fresh o;
  SECTION("steal") {
    Py_INCREF(o.p);  // the reference to hand over
    {
      PyRef r = PyRef::steal(o.p);
      CHECK(r.get() == o.p);
      CHECK(o.refs() == 2);
    }
    CHECK(o.refs() == 1);
  }
  SECTION("borrow") {
    {
      PyRef r = PyRef::borrow(o.p);
      CHECK(r.get() == o.p);
      CHECK(o.refs() == 2);
    }
    CHECK(o.refs() == 1);
  }
  SECTION("null") {
    PyRef a = PyRef::borrow(nullptr);
    PyRef b = PyRef::steal(nullptr);
    PyRef c;
    CHECK_FALSE(a);
    CHECK_FALSE(b);
    CHECK_FALSE(c);
    CHECK(c.get() == nullptr);
  }
}

TEST_CASE("Copies add a reference, moves transfer it", "[pyref]") {
  GilAcquire gil;
  Fresh o;
  Fresh other;
  PyRef r = PyRef::borrow(o.p);
  REQUIRE(o.refs() == 2);

  SECTION("copy construction") {
    {
      PyRef copy(r);
      CHECK(copy.get() == o.p);
      CHECK(o.refs() == 3);
    }
    CHECK(o.refs() == 2);
  }
  SECTION("copy assignment releases the old object") {
    PyRef target = PyRef::borrow(other.p);
    REQUIRE(other.refs() == 2);
    target = r;
    CHECK(target.get() == o.p);
    CHECK(o.refs() == 3);
    CHECK(other.refs() == 1);
  }
  SECTION("self-assignment changes nothing") {
    PyRef& alias = r;
    r = alias;
    CHECK(r.get() == o.p);
    CHECK(o.refs() == 2);
  }
  SECTION("move construction") {
    PyRef moved(std::move(r));
    CHECK(moved.get() == o.p);
    CHECK(r.get() == nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
    CHECK(o.refs() == 2);
  }
  SECTION("move assignment releases the old object") {
    PyRef target = PyRef::borrow(other.p);
    target = std::move(r);
    CHECK(target.get() == o.p);
    CHECK_FALSE(r);  // NOLINT(bugprone-use-after-move)
    CHECK(o.refs() == 2);
    CHECK(other.refs() == 1);
  }
  SECTION("swap through std::swap") {
    PyRef b = PyRef::borrow(other.p);
    std::swap(r, b);
    CHECK(r.get() == other.p);
    CHECK(b.get() == o.p);
    CHECK(o.refs() == 2);
    CHECK(other.refs() == 2);
  }
}

TEST_CASE("reset drops the reference, release hands it out", "[pyref]") {
  GilAcquire gil;
  Fresh o;
  PyRef r = PyRef::borrow(o.p);
  SECTION("reset") {
    r.reset();
    CHECK_FALSE(r);
    CHECK(o.refs() == 1);
    r.reset();  // a second reset is harmless
    CHECK(o.refs() == 1);
  }
  SECTION("release") {
    PyObject* p = r.release();
    CHECK(p == o.p);
    CHECK_FALSE(r);
    CHECK(o.refs() == 2);  // the reference now belongs to the caller
    Py_DECREF(p);
    CHECK(o.refs() == 1);
  }
  SECTION("newRef adds a reference for an API that steals one") {
    PyObject* p = r.newRef();
    CHECK(p == o.p);
    CHECK(o.refs() == 3);
    Py_DECREF(p);
    CHECK(r.get() == o.p);
  }
}

TEST_CASE("An object released by reset or assignment never sees the handle half-changed", "[pyref]") {
  GilAcquire gil;
  PyRef callback = PyRef::steal(PyCFunction_New(&gOnDeathDef, nullptr));
  REQUIRE(callback);
  PyRef handle = PyRef::steal(PySet_New(nullptr));  // the only reference: it dies when dropped
  REQUIRE(handle);
  PyRef weak = PyRef::steal(PyWeakref_NewRef(handle.get(), callback.get()));
  REQUIRE(weak);
  gWatched = &handle;

  SECTION("reset") {
    gSeenAtDeath = reinterpret_cast<PyObject*>(1);
    handle.reset();
    CHECK(gSeenAtDeath == nullptr);
  }
  SECTION("assignment") {
    gSeenAtDeath = reinterpret_cast<PyObject*>(1);
    PyRef replacement = PyRef::steal(PyList_New(0));
    PyObject* expected = replacement.get();
    handle = std::move(replacement);
    CHECK(gSeenAtDeath == expected);
  }
  gWatched = nullptr;
  CHECK(PyErr_Occurred() == nullptr);
}

TEST_CASE("GilAcquire works from any thread; GilRelease lets go for a scope", "[pyref]") {
  bool heldInThread = false;
  long valueInThread = 0;
  std::thread t([&] {
    GilAcquire gil;
    heldInThread = PyGILState_Check() == 1;
    PyRef n = PyRef::steal(PyLong_FromLong(41));
    valueInThread = PyLong_AsLong(n.get()) + 1;
  });
  t.join();
  CHECK(heldInThread);
  CHECK(valueInThread == 42);

  GilAcquire gil;
  CHECK(PyGILState_Check() == 1);
  {
    GilRelease release;
    CHECK(PyGILState_Check() == 0);
    {
      GilAcquire again;  // re-entrant from the same thread
      CHECK(PyGILState_Check() == 1);
    }
    CHECK(PyGILState_Check() == 0);
  }
  CHECK(PyGILState_Check() == 1);
}
