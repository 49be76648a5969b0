# Third-party dependencies, all from Debian's packages (./run and ./test install them).

# Debian's CPython 3.11. Another python3 may come first on PATH (pyenv, a venv); the
# daemon embeds the system one, so pin the interpreter CMake looks at before it searches.
set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the daemon embeds")
set(Python3_FIND_VIRTUALENV STANDARD)
find_package(Python3 3.11 EXACT REQUIRED COMPONENTS Interpreter Development.Embed)
if(NOT Python3_EXECUTABLE STREQUAL "/usr/bin/python3" AND NOT ASYNCODE_ALLOW_OTHER_PYTHON)
  message(FATAL_ERROR "asyncode embeds Debian's /usr/bin/python3, found ${Python3_EXECUTABLE}")
endif()

find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.44)
find_package(Threads REQUIRED)
