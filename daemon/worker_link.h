// The link between the supervisor and a worker: the same framing and JSON-RPC as the client's
// link, with the methods of schema/worker-link.schema.json (types in protocol/worker_link.h,
// generated). Two socketpairs per worker:
//   the exec lane (fd 5 in the worker), read and answered by the worker's main thread only, so
//     an exec costs no thread hand-off inside the worker: worker/configure, exec, reset,
//     shutdown, worker/preload; worker/execStarted back (timed execs);
//   the control link (fd 3), the worker's I/O thread's, answered whatever the main thread does:
//     compile, needsAwait, complete, inspect, variables, interrupt, worker/cancel; worker/ready,
//     input and $/cancelRequest back. Output and displays travel as frames in the fd 1/2 pipes
//     (output_frames.h), or as output/display notifications from a worker without them.
#pragma once

namespace asyncode::daemon {

inline constexpr int kWorkerChannelFd = 3;  // the control link's socketpair end in a worker
inline constexpr int kWorkerLogFd = 4;      // the daemon's stderr, for the worker's logs
inline constexpr int kWorkerLaneFd = 5;     // the exec lane: jobs and their answers (main thread)
// The output frames' magic (hex), on a pipe the worker reads and closes before user code runs:
// not on its command line or in its environment, where any process of the user could read it.
inline constexpr int kWorkerMagicFd = 6;

}  // namespace asyncode::daemon
