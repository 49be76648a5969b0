// Logging: human lines to stderr (never stdout, which carries frames only), and, in the
// supervisor, `log` notifications to the client at or above the --log-level.
#pragma once

#include <spdlog/common.h>

#include <functional>
#include <string>

namespace asyncode::daemon {

// "trace", "debug", "info", "warn", "error", "critical", "off"; throws on anything else.
spdlog::level::level_enum parseLogLevel(const std::string& name);

// Makes a logger writing to `fd` the default one (replacing spdlog's stdout logger).
void setupLogging(spdlog::level::level_enum level, int fd, const std::string& name);

// Also sends each line at or above the logger's level through `send(level, message)`.
// `send` is called on the logging thread; a line logged while it runs is not re-sent.
void addLogForwarder(std::function<void(const std::string& level, const std::string& message)> send);

}  // namespace asyncode::daemon
