// The engine's Python modules, compiled at build time (tools/embed_python.py).
#pragma once

#include <cstddef>
#include <string_view>

namespace asyncode::core::embedded {

struct Module {
  const char* name;      // "_asyncode.engine"
  const char* filename;  // "<asyncode:_asyncode.engine>"
  const unsigned char* code;  // marshalled code object
  std::size_t size;
  const char* source;
};

extern const Module modules[];
extern const std::size_t moduleCount;

inline const Module* find(std::string_view name) {
  for (std::size_t i = 0; i < moduleCount; ++i)
    if (name == modules[i].name) return &modules[i];
  return nullptr;
}

}  // namespace asyncode::core::embedded
