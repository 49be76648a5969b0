// daemon_tests' main: the supervisor logs what it does (workers that die, shutdowns); the tests
// provoke that on purpose, so logging stays quiet unless ASYNCODE_TEST_LOG is set.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char* argv[]) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("daemon_tests"));
  spdlog::set_level(std::getenv("ASYNCODE_TEST_LOG") ? spdlog::level::trace : spdlog::level::off);
  return Catch::Session().run(argc, argv);
}
