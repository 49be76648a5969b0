// Logging: human lines to stderr (never stdout, which carries frames only), and, in the
// supervisor, `log` notifications to the client at or above the --log-level.
#pragma once

#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

#include <functional>
#include <memory>
#include <string>

namespace asyncode::daemon {

// "trace", "debug", "info", "warn", "error", "critical", "off"; throws on anything else.
spdlog::level::level_enum parseLogLevel(const std::string& name);

// Makes a logger writing to `fd` the default one (replacing spdlog's stdout logger).
void setupLogging(spdlog::level::level_enum level, int fd, const std::string& name);

// While it lives, each line at or above the default logger's level also goes through
// `send(level, message)`, on the logging thread; a line logged while it runs is not re-sent.
class LogForwarder {
 public:
  using Send = std::function<void(const std::string& level, const std::string& message)>;
  explicit LogForwarder(Send send);
  ~LogForwarder();
  LogForwarder(const LogForwarder&) = delete;
  LogForwarder& operator=(const LogForwarder&) = delete;

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

}  // namespace asyncode::daemon
