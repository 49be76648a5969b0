// The link between the supervisor and a worker: the same framing and JSON-RPC as the
// client link, with the methods below. Notifications a worker sends for the client
// (output, display) are already in the client's form and pass through verbatim.
//
//   supervisor -> worker requests
//     worker/configure {session, backend, syncInLoop, cwd?, input}  -> {pid}
//     exec {seq, code, mode, filename?, silent, requestId, timeoutMs?} -> ExecResult + interruptedHow?
//     compile / needsAwait {code, mode?}, complete / inspect {code, cursor}, variables {}
//     reset {seq} -> null
//     interrupt {seq, reason: "interrupt"|"timeout"} -> {outcome: "signalled"|"dequeued"|"notRunning"}
//     shutdown -> null (the worker then exits)
//   supervisor -> worker notifications
//     worker/cancel {seq}: drop a queued exec (its exec request is answered -32800)
//   worker -> supervisor
//     worker/ready {pid, backends}; worker/execStarted {seq} (execs with a timeout);
//     output, display (verbatim for the client); input request {session, requestId,
//     prompt, password} -> {value}; $/cancelRequest {id} when input() stopped waiting
#pragma once

#include "core/types.h"
#include "rpc/jsonrpc.h"

namespace asyncode::daemon {

inline constexpr int kWorkerChannelFd = 3;  // the socketpair end in a worker
inline constexpr int kWorkerLogFd = 4;      // the daemon's stderr, for the worker's logs

// The key under which a worker's exec answer says how an interrupt reached the exec.
inline constexpr const char* kInterruptedHowKey = "interruptedHow";

rpc::Json toJson(const core::MimeBundle& bundle);
rpc::Json toJson(const core::ErrorInfo& error);
rpc::Json toJson(const core::SyntaxErrorInfo& error);
rpc::Json toJson(const core::CompileResult& result);
// The ExecResult (execCount filled in by the caller when the outcome has none).
rpc::Json toJson(const core::ExecOutcome& outcome, int execCount);

core::Mode toCore(int mode);

}  // namespace asyncode::daemon
