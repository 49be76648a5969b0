#include "daemon/confinement.h"

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace asyncode::daemon {
namespace {

#if defined(__x86_64__)
constexpr unsigned kArch = AUDIT_ARCH_X86_64;
constexpr unsigned kX32Bit = 0x40000000;  // x32 system calls: refused, they would bypass the checks
#elif defined(__aarch64__)
constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
constexpr unsigned kX32Bit = 0;
#endif

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

#if defined(__x86_64__) || defined(__aarch64__)
// The filter: for each guarded call, the argument that names a process must not be one of `pids`.
std::vector<sock_filter> buildFilter(const std::vector<std::uint32_t>& pids) {
  std::vector<sock_filter> f;
  auto stmt = [&](unsigned short code, unsigned k) { f.push_back(BPF_STMT(code, k)); };
  auto jump = [&](unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
    f.push_back(BPF_JUMP(code, k, jt, jf));
  };
  constexpr unsigned kAllow = SECCOMP_RET_ALLOW;
  constexpr unsigned kDeny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0);
  stmt(BPF_RET | BPF_K, kDeny);  // another ABI (32-bit calls on x86_64): its numbers differ
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  if (kX32Bit != 0) {
    jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 1);
    stmt(BPF_RET | BPF_K, kDeny);
  }
  struct Guarded {
    long nr;
    unsigned arg;
  };
  const Guarded guarded[] = {
      {SYS_kill, 0},         {SYS_tkill, 0},       {SYS_tgkill, 0},           {SYS_rt_sigqueueinfo, 0},
      {SYS_rt_tgsigqueueinfo, 0}, {SYS_pidfd_open, 0}, {SYS_ptrace, 1},        {SYS_process_vm_readv, 0},
      {SYS_process_vm_writev, 0},
  };
  // Per call: if nr matches, load its pid argument (low 32 bits: pid_t) and compare.
  for (const Guarded& g : guarded) {
    const auto n = static_cast<unsigned char>(pids.size());
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(g.nr), 0, static_cast<unsigned char>(n + 3));
    stmt(BPF_LD | BPF_W | BPF_ABS, static_cast<unsigned>(offsetof(seccomp_data, args) + 8 * g.arg));
    for (std::size_t i = 0; i < pids.size(); ++i)
      jump(BPF_JMP | BPF_JEQ | BPF_K, pids[i], static_cast<unsigned char>(n - i), 0);
    stmt(BPF_RET | BPF_K, kAllow);
    stmt(BPF_RET | BPF_K, kDeny);
    // after the deny: the next call's check starts with nr reloaded
    stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  }
  stmt(BPF_RET | BPF_K, kAllow);
  return f;
}
#endif

std::string installFilter(pid_t supervisor) {
#if defined(__x86_64__) || defined(__aarch64__)
  const pid_t group = ::getpgid(supervisor);
  std::vector<std::uint32_t> pids{static_cast<std::uint32_t>(supervisor), static_cast<std::uint32_t>(-supervisor),
                                  static_cast<std::uint32_t>(-1)};  // -1: every process we may signal
  if (group > 0 && group != supervisor) pids.push_back(static_cast<std::uint32_t>(-group));
  std::vector<sock_filter> filter = buildFilter(pids);
  sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
  // Without CAP_SYS_ADMIN the kernel wants no_new_privs (set-user-ID programs then do not gain
  // their owner's rights in the session).
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0) return "";
  if (errno != EACCES) return errnoText("seccomp");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errnoText("no_new_privs");
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errnoText("seccomp");
  return "";
#else
  (void)supervisor;
  return "no seccomp filter for this architecture";
#endif
}

// A root worker gives up CAP_SYS_PTRACE (bounding, effective, permitted, inheritable sets).
std::string dropPtrace() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return errnoText("capget");
  const unsigned bit = 1U << CAP_SYS_PTRACE;  // < 32: in data[0]
  if (((data[0].effective | data[0].permitted) & bit) == 0) return "";
  if (::prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) != 0) return errnoText("dropping CAP_SYS_PTRACE");
  data[0].effective &= ~bit;
  data[0].permitted &= ~bit;
  data[0].inheritable &= ~bit;
  if (::syscall(SYS_capset, &header, data) != 0) return errnoText("capset");
  return "";
}

}  // namespace

std::string confineWorker(pid_t supervisor) {
  if (supervisor <= 1) return "no supervisor pid";
  std::string problems = installFilter(supervisor);
  const std::string ptrace = dropPtrace();
  if (!ptrace.empty()) problems += (problems.empty() ? "" : "; ") + ptrace;
  return problems;
}

}  // namespace asyncode::daemon
