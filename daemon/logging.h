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

// While it lives, each line at or above its level (at first the default logger's, that is
// --log-level) also goes through `send(level, message)`, on the logging thread; a line logged
// while it runs is not re-sent.
class LogForwarder {
 public:
  using Send = std::function<void(const std::string& level, const std::string& message)>;
  explicit LogForwarder(Send send);
  // The least level forwarded from now on (initialize's logLevel), whatever stderr's is: the
  // logger then lets through what either of its sinks wants.
  void setLevel(spdlog::level::level_enum level);
  ~LogForwarder();
  LogForwarder(const LogForwarder&) = delete;
  LogForwarder& operator=(const LogForwarder&) = delete;

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

}  // namespace asyncode::daemon
