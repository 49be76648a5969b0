# Project-wide compile options, as INTERFACE targets that each library links.

add_library(asyncode_warnings INTERFACE)
add_library(asyncode::warnings ALIAS asyncode_warnings)
target_compile_options(asyncode_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror
  -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wcast-align
  -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  -Wmissing-declarations -Wundef)

add_library(asyncode_options INTERFACE)
add_library(asyncode::options ALIAS asyncode_options)
# Our symbols stay inside the executable (it exports CPython's for lib-dynload's extension
# modules, ENABLE_EXPORTS): the dynamic symbol table is CPython's alone, and code that nothing
# calls can be dropped at link time (daemon/CMakeLists.txt), so that fewer pages are touched.
target_compile_options(asyncode_options INTERFACE -fno-omit-frame-pointer
  -fvisibility=hidden -fvisibility-inlines-hidden -ffunction-sections -fdata-sections)
if(ASYNCODE_SANITIZE OR ASYNCODE_FUZZ)
  target_compile_options(asyncode_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  target_link_options(asyncode_options INTERFACE -fsanitize=address,undefined)
endif()
