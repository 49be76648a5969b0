#include "daemon/orphans.h"

#include <dirent.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace asyncode::daemon {
namespace {

// The children of `pid`, from /proc/<pid>/task/*/children.
std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task.c_str());
  if (!dir) return out;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::FILE* f = std::fopen((task + "/" + entry->d_name + "/children").c_str(), "re");
    if (!f) continue;
    long child = 0;
    while (std::fscanf(f, "%ld", &child) == 1) out.push_back(static_cast<pid_t>(child));
    std::fclose(f);
  }
  ::closedir(dir);
  return out;
}

// SIGKILL to `pid` and everything below it (stopped first, so that none forks meanwhile).
void killTree(pid_t pid, int depth) {
  ::kill(pid, SIGSTOP);
  if (depth < 64)
    for (const pid_t child : childrenOf(pid)) killTree(child, depth + 1);
  ::kill(pid, SIGKILL);
}

}  // namespace

void becomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    spdlog::warn("cannot become a child subreaper: {}", std::strerror(errno));
}

OrphanSweeper::OrphanSweeper(uv_loop_t* loop) : sigchld_(uv_signal_init, loop) {
  becomeSubreaper();
  sigchld_->data = this;
  uv_signal_start(
      sigchld_.get(),
      [](uv_signal_t* h, int) {
        if (auto* self = static_cast<OrphanSweeper*>(h->data)) self->sweep();
      },
      SIGCHLD);
}

OrphanSweeper::~OrphanSweeper() {
  for (int round = 0; round < 100; ++round) {
    const std::vector<pid_t> left = childrenOf(::getpid());
    if (left.empty()) return;
    for (const pid_t pid : left) {
      killTree(pid, 0);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
}

void OrphanSweeper::sweep() {
  const std::vector<pid_t> children = childrenOf(::getpid());
  std::set<pid_t> live;
  for (const pid_t pid : children) {
    if (workers_.count(pid)) {
      live.insert(pid);
      continue;
    }
    spdlog::debug("process {} outlived its session: killed", pid);
    killTree(pid, 0);
    ::waitpid(pid, nullptr, WNOHANG);  // or at its SIGCHLD
  }
  workers_ = std::move(live);  // workers reaped since the last sweep are no children any more
}

}  // namespace asyncode::daemon
