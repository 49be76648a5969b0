# Third-party dependencies, all from Debian's packages (./run and ./test install them).

# Debian's CPython 3.11. Another python3 may come first on PATH (pyenv, a venv); the
# daemon embeds the system one, so pin the interpreter CMake looks at before it searches.
set(Python3_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "The Python the daemon embeds")
set(Python3_FIND_VIRTUALENV STANDARD)
find_package(Python3 3.11 EXACT REQUIRED COMPONENTS Interpreter Development.Embed)
find_package(Threads REQUIRED)
if(NOT Python3_EXECUTABLE STREQUAL "/usr/bin/python3" AND NOT ASYNCODE_ALLOW_OTHER_PYTHON)
  message(FATAL_ERROR "asyncode embeds Debian's /usr/bin/python3, found ${Python3_EXECUTABLE}")
endif()

# Link CPython statically, as Debian's own /usr/bin/python3 does: a process starts in
# about half the time without the dynamic relocations of libpython3.11.so. Extension
# modules of lib-dynload find CPython's symbols in the executable (ENABLE_EXPORTS).
option(ASYNCODE_STATIC_PYTHON "Link libpython statically" ON)
add_library(asyncode_python INTERFACE)
add_library(asyncode::python ALIAS asyncode_python)
get_filename_component(_py_config_dir "${Python3_LIBRARIES}" DIRECTORY)
set(_py_static "${Python3_STDLIB}/config-${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}-${CMAKE_LIBRARY_ARCHITECTURE}/libpython${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}-pic.a")
if(ASYNCODE_STATIC_PYTHON AND EXISTS "${_py_static}")
  find_library(EXPAT_LIBRARY expat REQUIRED)
  find_library(Z_LIBRARY z REQUIRED)
  target_include_directories(asyncode_python SYSTEM INTERFACE ${Python3_INCLUDE_DIRS})
  target_link_libraries(asyncode_python INTERFACE "${_py_static}" ${EXPAT_LIBRARY} ${Z_LIBRARY} ${CMAKE_DL_LIBS} m Threads::Threads)
  message(STATUS "Linking CPython statically: ${_py_static}")
else()
  target_link_libraries(asyncode_python INTERFACE Python3::Python)
endif()

find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.44)

# Where the system Python finds installed packages (dist-packages), for telling which
# event-loop libraries are importable without starting Python.
execute_process(
  COMMAND ${Python3_EXECUTABLE} -I -c "import site; print(':'.join(site.getsitepackages()))"
  OUTPUT_VARIABLE ASYNCODE_PYTHON_SITE_DIRS OUTPUT_STRIP_TRAILING_WHITESPACE)
