// What a worker says in the frames of its fd 1 pipe (output_frames.h), checked as the client's
// messages are: an owner is an exec's seq in decimal or nothing, and a message is a JSON-RPC
// notification of the worker link, parsed with the client's limits (nesting bound) and decoded
// into the link schema's structs. Nothing here trusts the worker; the output router acts on
// what passes (output_router.cpp), and the fuzzer feeds it forged frames (tests/fuzz).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/worker_link.h"
#include "rpc/jsonrpc.h"

namespace asyncode::daemon {

// A frame's owner: empty (nobody's, nullopt in `seq`), or an exec's seq in decimal, at least 1.
bool parseFrameOwner(std::string_view owner, std::optional<std::int64_t>& seq);

// A MimeBundle as the client's schema has it: text/plain a string, every other value a string
// except JSON types (application/json, application/*+json).
bool validMimeBundle(const rpc::Json& data);

// The notifications that travel in frames.
using FramedMessage = std::variant<protocol::link::ExecStartParams, protocol::link::DisplayParams,
                                   protocol::link::ClearOutputParams, protocol::link::TaskErrorParams>;

// The message whose frames' payloads joined make `body`, or why it is not one (the worker
// then broke the link's rules).
std::variant<FramedMessage, std::string> decodeFramedMessage(std::string_view body);

}  // namespace asyncode::daemon
