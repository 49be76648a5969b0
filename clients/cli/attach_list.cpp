#include "clients/cli/attach_list.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace asyncode::cli {
namespace {

bool answers(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  // A connection the program will see and drop at once: it reads nothing from it.
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string commandLine(std::int64_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string raw(4096, '\0');
  const ssize_t n = ::read(fd, raw.data(), raw.size());
  ::close(fd);
  raw.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  return raw;
}

}  // namespace

std::string socketDirectory() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && runtime[0] == '/') {
    struct stat st {};
    if (::stat(runtime, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::getuid())
      return std::string(runtime) + "/asyncode";
  }
  return "/tmp/asyncode-" + std::to_string(::getuid());
}

std::vector<ServingProgram> servingPrograms(const std::string& directory) {
  std::vector<ServingProgram> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    if (!entry.is_socket(ec) || entry.path().extension() != ".sock") continue;
    ServingProgram p;
    p.socket = entry.path().string();
    const std::string stem = entry.path().stem().string();
    if (!stem.empty() && std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; }))
      p.pid = std::stoll(stem);
    if (!answers(p.socket)) continue;
    if (p.pid) p.command = commandLine(p.pid);
    found.push_back(std::move(p));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.socket < b.socket; });
  return found;
}

int listServingPrograms() {
  const std::string directory = socketDirectory();
  const auto programs = servingPrograms(directory);
  if (programs.empty()) {
    std::fprintf(stderr,
                 "asyncode: no running program serves itself in %s\n"
                 "(a program does with `await asyncode.serve()` or `asyncode.serve_in_background()`)\n",
                 directory.c_str());
    return 1;
  }
  for (const auto& p : programs) {
    std::printf("%s", p.socket.c_str());
    if (p.pid) std::printf("  pid %lld", static_cast<long long>(p.pid));
    if (!p.command.empty()) std::printf("  %s", p.command.c_str());
    std::printf("\n");
  }
  std::printf("attach with: asyncode attach SOCKET\n");
  return 0;
}

}  // namespace asyncode::cli
