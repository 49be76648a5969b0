// _asyncode_c: the C++ functions the engine's Python code calls.
#pragma once

#include "core/pyref.h"

namespace asyncode::core {

class Engine;

// Creates the module, bound to `engine` through its module state, and registers it in
// sys.modules. GIL held.
PyRef createNativeModule(Engine* engine);

}  // namespace asyncode::core
