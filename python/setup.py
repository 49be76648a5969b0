"""pip install ./python: the asyncode package, built by CMake from this checkout.

CMake (python/CMakeLists.txt, on its own) compiles the extension module from the daemon's
sources and assembles the package; this file only hands that to pip. The version is the
daemon's, from the project's CMakeLists.txt. Offline, with Debian's setuptools:

    SETUPTOOLS_USE_DISTUTILS=stdlib VENV/bin/python -m pip install --no-build-isolation --no-index ./python
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    match = re.search(r"^project\(asyncode VERSION ([0-9.]+)", text, re.MULTILINE)
    if not match:
        sys.exit("setup.py: no `project(asyncode VERSION ...)` in %s" % (ROOT / "CMakeLists.txt"))
    return match.group(1)


class BuildWithCMake(build_py):
    """Configure and build python/ with CMake for this interpreter, then take the package
    CMake assembled (Python files, the engine's shared files, the extension module)."""

    def run(self):
        if not (ROOT / "core" / "compiler.cpp").is_file():
            sys.exit("setup.py: build from a checkout of asyncode (core/ must be beside python/)")
        cmake = shutil.which("cmake")
        if cmake is None:
            sys.exit("setup.py: cmake is needed (apt-get install cmake)")
        # One CMake tree per interpreter: a venv made anew at the same path is another Python.
        key = hashlib.sha1(("%s %s" % (sys.executable, sys.version)).encode()).hexdigest()[:10]
        build_temp = Path(self.get_finalized_command("build").build_temp) / ("cmake-" + key)
        configure = [cmake, "-S", str(HERE), "-B", str(build_temp), "-DCMAKE_BUILD_TYPE=Release",
                     "-DPython3_EXECUTABLE=" + sys.executable]
        if shutil.which("ninja") and not (build_temp / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja"]
        subprocess.check_call(configure)
        subprocess.check_call([cmake, "--build", str(build_temp), "--target", "asyncode_python_package",
                               "--parallel", str(os.cpu_count() or 1)])
        target = Path(self.build_lib) / "asyncode"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(build_temp / "asyncode", target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a wheel for this Python and platform, not a pure one
        return True


setup(
    name="asyncode",
    version=project_version(),
    description="An async interactive console inside a running asyncio or Trio program "
                "(code.InteractiveConsole with top-level await)",
    python_requires=">=3.11",
    packages=["asyncode", "asyncode._core"],
    cmdclass={"build_py": BuildWithCMake},
    distclass=BinaryDistribution,
    zip_safe=False,
)
