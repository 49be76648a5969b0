// rpc_tests' main: the code under test logs (dropped replies, ignored notifications); the
// tests provoke those on purpose, so logging goes to stderr and stays quiet unless
// ASYNCODE_TEST_LOG is set.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char* argv[]) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("rpc_tests"));
  spdlog::set_level(std::getenv("ASYNCODE_TEST_LOG") ? spdlog::level::debug : spdlog::level::off);
  return Catch::Session().run(argc, argv);
}
