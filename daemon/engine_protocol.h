// The engine's values (core/types.h, plain C++) as the protocol's structs, and back: the one
// place where the worker translates between core/ and the wire.
#pragma once

#include <cstdint>
#include <optional>

#include "core/types.h"
#include "protocol/protocol.h"

namespace asyncode::daemon {

protocol::MimeBundle toProtocol(const core::MimeBundle& bundle);
protocol::ErrorInfo toProtocol(const core::ErrorInfo& error);
protocol::SyntaxErrorInfo toProtocol(const core::SyntaxErrorInfo& error);
protocol::CompileResult toProtocol(const core::CompileResult& result);
protocol::CompleteResult toProtocol(const core::CompleteResult& result);
protocol::InspectResult toProtocol(const core::InspectResult& result);
protocol::VariablesResult toProtocol(const core::VariablesPage& page);
// The ExecResult; `execCount` is the session's count so far, for an outcome without its own
// (a silent exec).
protocol::ExecResult toProtocol(const core::ExecOutcome& outcome, std::int64_t execCount);
std::optional<protocol::InterruptHow> toProtocol(core::InterruptHow how);
protocol::InputKind toProtocol(core::InputKind kind);

core::Mode toCore(protocol::Mode mode);
core::TerminalInfo toCore(const protocol::Terminal& terminal);  // the schema bounds both sizes

}  // namespace asyncode::daemon
