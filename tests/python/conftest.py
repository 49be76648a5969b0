"""Tests of the asyncode Python package (python/), against the package CMake assembled in
the build tree (build/python, or ASYNCODE_PYTHONPATH)."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE_PARENT = os.environ.get("ASYNCODE_PYTHONPATH") or str(ROOT / "build" / "python")
if not (pathlib.Path(PACKAGE_PARENT) / "asyncode" / "__init__.py").is_file():
    raise RuntimeError("no asyncode package in %s: build the project (or set ASYNCODE_PYTHONPATH)"
                       % PACKAGE_PARENT)
sys.path.insert(0, PACKAGE_PARENT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
