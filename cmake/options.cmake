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
target_compile_options(asyncode_options INTERFACE -fno-omit-frame-pointer)
if(ASYNCODE_SANITIZE OR ASYNCODE_FUZZ)
  target_compile_options(asyncode_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  target_link_options(asyncode_options INTERFACE -fsanitize=address,undefined)
endif()
