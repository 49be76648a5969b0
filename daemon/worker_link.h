// The link between the supervisor and a worker: the same framing and JSON-RPC as the
// client link, with the methods below. Notifications a worker sends for the client
// (output, display) are already in the client's form and pass through verbatim.
//
// Two links per worker. The exec lane (fd 5 in the worker) is read and written only by
// the worker's main thread, so an exec costs no thread hand-off inside the worker:
//   supervisor -> worker requests, in order
//     worker/configure {session, backend, syncInLoop, cwd?, input}  -> {pid}
//     exec {seq, code, mode, filename?, silent, requestId, timeoutMs?} -> ExecResult + interruptedHow?
//     reset -> null;  shutdown -> null (the worker then exits)
//   supervisor -> worker notifications: worker/preload (a spare warms up)
//   worker -> supervisor notifications: worker/execStarted {seq, execCount} (timed execs)
// The control link (fd 3) is the I/O thread's, answered whatever the main thread does:
//   supervisor -> worker requests
//     compile / needsAwait {code, mode?}, complete / inspect {code, cursor}, variables {}
//     interrupt {seq, reason: "interrupt"|"timeout"} -> {outcome: "signalled"|"dequeued"|"notRunning"}
//   supervisor -> worker notifications
//     worker/cancel {seq}: drop a queued exec (answered -32800 on the lane when reached)
//   worker -> supervisor
//     worker/ready {pid, backends}; input request {requestId, prompt, password} -> {value};
//     $/cancelRequest {id} when input() stopped waiting; output and display come as frames
//     in the fd 1/2 pipes (output_frames.h), or as notifications without them
#pragma once

#include "core/types.h"
#include "rpc/jsonrpc.h"

namespace asyncode::daemon {

inline constexpr int kWorkerChannelFd = 3;  // the socketpair end in a worker
inline constexpr int kWorkerLogFd = 4;      // the daemon's stderr, for the worker's logs
inline constexpr int kWorkerLaneFd = 5;     // the exec lane: jobs and their answers (main thread)

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
