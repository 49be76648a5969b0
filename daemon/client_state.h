// What the supervisor's parts know of the client, kept by the front (supervisor.cpp) and read
// by every part: whether it is initialized, whether it answers input requests, and whether the
// daemon is shutting down.
#pragma once

#include "protocol/protocol.h"

namespace asyncode::daemon {

struct ClientState {
  bool initialized = false;   // initialize was answered
  bool inputCapable = false;  // initialize's capabilities.input
  // The unit of the client's positions (initialize's capabilities.positionEncodings).
  protocol::PositionEncoding positionEncoding = protocol::PositionEncoding::Utf_32;
  bool exiting = false;       // shutdown began: no more output, status, or restarts
  // Output and status notifications flow from initialize until shutdown begins.
  [[nodiscard]] bool open() const { return initialized && !exiting; }
};

}  // namespace asyncode::daemon
