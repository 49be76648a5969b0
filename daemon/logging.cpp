#include "daemon/logging.h"

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <stdexcept>

namespace asyncode::daemon {
namespace {

// Formats each line and writes it to a file descriptor.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FdSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t out;
    formatter_->format(msg, out);
    const char* p = out.data();
    std::size_t n = out.size();
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return;  // nowhere to complain to
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  void flush_() override {}

 private:
  int fd_;
};

// Locked with a recursive mutex of its own: a line logged while `send` runs (on the same
// thread) comes back here and is dropped by `busy_`, rather than waiting for a lock that this
// thread holds (spdlog's sink lock is not recursive).
class ForwardSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  using Send = std::function<void(const std::string&, const std::string&)>;
  explicit ForwardSink(Send send) : send_(std::move(send)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(mu_);
    if (busy_) return;
    busy_ = true;
    const auto level = spdlog::level::to_string_view(msg.level);
    static const char* names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    const auto idx = static_cast<std::size_t>(msg.level);
    send_(idx < 7 ? names[idx] : std::string(level.data(), level.size()),
          std::string(msg.payload.data(), msg.payload.size()));
    busy_ = false;
  }
  void flush_() override {}

 private:
  Send send_;
  std::recursive_mutex mu_;
  bool busy_ = false;
};

}  // namespace

spdlog::level::level_enum parseLogLevel(const std::string& name) {
  if (name == "warning") return spdlog::level::warn;
  const auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off")
    throw std::invalid_argument("unknown log level \"" + name + "\" (trace, debug, info, warn, error, critical, off)");
  return level;
}

void setupLogging(spdlog::level::level_enum level, int fd, const std::string& name) {
  auto sink = std::make_shared<FdSink>(fd);
  sink->set_level(level);  // stderr keeps this level when a client asks for more (LogForwarder)
  auto logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n %P] [%l] %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

LogForwarder::LogForwarder(Send send) : sink_(std::make_shared<ForwardSink>(std::move(send))) {
  sink_->set_level(spdlog::default_logger()->level());
  spdlog::default_logger()->sinks().push_back(sink_);
}

void LogForwarder::setLevel(spdlog::level::level_enum level) {
  sink_->set_level(level);
  auto logger = spdlog::default_logger();
  auto least = spdlog::level::off;
  for (const auto& sink : logger->sinks()) least = std::min(least, sink->level());
  logger->set_level(least);
}

LogForwarder::~LogForwarder() {
  auto& sinks = spdlog::default_logger()->sinks();
  std::erase(sinks, sink_);
}

}  // namespace asyncode::daemon
