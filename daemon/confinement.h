// What user code in a worker may not do to the supervisor (issue 12, item 9), set up when a
// worker starts, before any thread or user code: a seccomp filter refuses (EPERM) every signal
// and ptrace call aimed at the supervisor's pid or process group (kill, tkill, tgkill,
// rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open, ptrace, process_vm_readv/writev), and a root
// worker gives up CAP_SYS_PTRACE, without which nobody reads the (non-dumpable) supervisor's
// /proc/PID/fd or memory. Both are inherited by every process the session starts.
#pragma once

#include <sys/types.h>

#include <string>

namespace asyncode::daemon {

// "" when done; else what could not be done (the worker goes on without it).
std::string confineWorker(pid_t supervisor);

}  // namespace asyncode::daemon
