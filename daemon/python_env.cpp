#include "daemon/python_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>
#include <vector>

#include "support/unique_fd.h"

namespace asyncode::daemon {
namespace fs = std::filesystem;
namespace {

std::string trim(std::string s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  const auto b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The first `limit` bytes of a regular file, read without waiting: a FIFO, a device or a
// socket in its place is refused (`error` says why), never opened for reading and waited on.
std::optional<std::string> readRegularFile(const fs::path& path, std::size_t limit, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = "cannot open \"" + path.string() + "\": " + std::strerror(errno);
    return std::nullopt;
  }
  const support::UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "\"" + path.string() + "\" is not a regular file";
    return std::nullopt;
  }
  std::string data(std::min<std::size_t>(limit, static_cast<std::size_t>(st.st_size)), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
  return data;
}

// "version" or "version_info" of a venv's pyvenv.cfg ("" when it has neither, or cannot be read:
// `error` says why).
std::string venvVersion(const fs::path& cfg, std::string& error) {
  const auto text = readRegularFile(cfg, 64 * 1024, error);
  if (!text) return "";
  std::istringstream in(*text);
  std::string line;
  std::string version;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = trim(line.substr(0, eq));
    if (key == "version" || key == "version_info") version = trim(line.substr(eq + 1));
  }
  return version;
}

bool allDigits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// "3.N" when `name` is exactly "python3.N".
std::string pythonDirVersion(std::string_view name) {
  constexpr std::string_view prefix = "python3.";
  if (name.substr(0, prefix.size()) != prefix || !allDigits(name.substr(prefix.size()))) return "";
  return std::string(name.substr(6));
}

// The N of <prefix>/lib/python3.N, when there is exactly one.
std::string prefixVersion(const fs::path& prefix) {
  std::error_code ec;
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(prefix / "lib", ec)) {
    const std::string v = pythonDirVersion(entry.path().filename().string());
    if (!v.empty() && entry.is_directory(ec)) found.push_back(v);
  }
  return found.size() == 1 ? found.front() : "";
}

// Why `executable` is not a CPython interpreter of our major.minor ("" when it is one): a
// regular, executable ELF file named python, python3 or python3.N (after its symlinks).
std::string notOurPython(const std::string& executable, const std::string& ourVersion) {
  std::error_code ec;
  const fs::path real = fs::canonical(executable, ec);
  const std::string what = "python \"" + executable + "\"";
  if (ec) return what + ": " + ec.message();
  const std::string name = real.filename().string();
  const std::string nameVersion = pythonDirVersion(name);
  if (name != "python" && name != "python3" && nameVersion.empty())
    return what + " is " + real.string() + ", not a Python interpreter (python, python3 or python3.N)";
  if (!nameVersion.empty() && nameVersion != majorMinor(ourVersion))
    return what + " is Python " + nameVersion + ", but asyncoded embeds Python " + ourVersion;
  std::string error;
  const auto head = readRegularFile(real, 4, error);
  if (!head) return what + ": " + error;
  if (*head != "\x7f" "ELF" || ::access(real.c_str(), X_OK) != 0)
    return what + " is " + real.string() + ", not an executable Python interpreter (an ELF program)";
  return "";
}

fs::path firstExisting(const fs::path& dir, std::initializer_list<const char*> names) {
  std::error_code ec;
  for (const char* n : names)
    if (fs::exists(dir / n, ec)) return dir / n;
  return {};
}

}  // namespace

bool importable(const std::string& module, const std::string& siteDirs, const std::string& version) {
  std::vector<fs::path> dirs;
  auto addAll = [&](const std::string& list) {
    std::size_t start = 0;
    while (start <= list.size()) {
      const auto colon = list.find(':', start);
      const std::string dir = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!dir.empty()) dirs.emplace_back(dir);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  };
  if (const char* pp = std::getenv("PYTHONPATH")) addAll(pp);
  if (const char* home = std::getenv("HOME"); home && !std::getenv("PYTHONNOUSERSITE"))
    dirs.push_back(fs::path(home) / ".local/lib" / ("python" + majorMinor(version)) / "site-packages");
  addAll(siteDirs);
  std::error_code ec;
  for (const auto& d : dirs) {
    if (fs::exists(d / module / "__init__.py", ec) || fs::exists(d / (module + ".py"), ec)) return true;
  }
  return false;
}

std::string majorMinor(const std::string& version) {
  const auto dot = version.find('.');
  if (dot == std::string::npos) return "";
  const auto end = version.find_first_not_of("0123456789", dot + 1);
  const std::string_view major(version.data(), dot);
  const std::string_view minor = std::string_view(version).substr(dot + 1, end == std::string::npos ? std::string::npos : end - dot - 1);
  if (!allDigits(major) || !allDigits(minor)) return "";
  return std::string(major) + "." + std::string(minor);
}

ResolvedPython resolvePython(const std::string& path, const std::string& ourVersion) {
  ResolvedPython r;
  std::error_code ec;
  const fs::path p(path);
  if (!fs::exists(p, ec)) {
    r.error = "python \"" + path + "\" does not exist";
    return r;
  }
  fs::path executable;
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "pyvenv.cfg", ec)) r.version = venvVersion(p / "pyvenv.cfg", r.error);
    executable = firstExisting(p / "bin", {"python", "python3"});
    if (r.version.empty()) r.version = prefixVersion(p);
    if (executable.empty()) {
      r.error = "python \"" + path + "\" is a directory without bin/python: not a venv or a Python prefix";
      return r;
    }
  } else {
    executable = p;
    const fs::path prefix = fs::absolute(p, ec).parent_path().parent_path();
    if (fs::exists(prefix / "pyvenv.cfg", ec)) r.version = venvVersion(prefix / "pyvenv.cfg", r.error);
    if (r.version.empty()) r.version = pythonDirVersion(fs::canonical(p, ec).filename().string());
    if (r.version.empty()) r.version = prefixVersion(prefix);
  }
  r.executable = fs::absolute(executable, ec).string();
  if (!r.error.empty()) return r;
  if (r.version.empty()) {
    r.error = "cannot tell which Python version \"" + path + "\" is (no pyvenv.cfg, no lib/python3.N)";
    return r;
  }
  if (majorMinor(r.version) != majorMinor(ourVersion)) {
    r.error = "python \"" + path + "\" is Python " + r.version + ", but asyncoded embeds Python " + ourVersion +
              ": use a venv made with Python " + majorMinor(ourVersion);
    return r;
  }
  r.error = notOurPython(r.executable, ourVersion);
  return r;
}

}  // namespace asyncode::daemon
