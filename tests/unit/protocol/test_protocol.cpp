// The generated protocol types (protocol/protocol.h, from schema/protocol.schema.json): params
// decode with the schema's defaults and refusals naming the JSON path; results are written with
// the wire's keys; enums map to and from their wire strings.
#include <catch2/catch.hpp>

#include <string>

#include "protocol/protocol.h"

using namespace asyncode::protocol;
using asyncode::rpc::DecodeError;
using asyncode::rpc::Json;
using asyncode::rpc::decodeAs;

namespace {

template <class T>
std::string failure(const Json& j) {
  try {
    T out{};
    decode(j, out, "params");
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ExecParams take defaults for everything but code", "[protocol]") {
  const auto p = decodeAs<ExecParams>(Json{{"code", "print(1)"}});
  CHECK(p.code == "print(1)");
  CHECK(p.mode == Mode::Cell);
  CHECK(p.session == "default");
  CHECK_FALSE(p.filename.has_value());
  CHECK(p.silent == false);
  CHECK_FALSE(p.timeoutMs.has_value());
}

TEST_CASE("ExecParams read every field", "[protocol]") {
  const auto p = decodeAs<ExecParams>(Json{{"code", "x"},
                                           {"mode", "interactive"},
                                           {"session", "s1"},
                                           {"filename", "a.py"},
                                           {"silent", true},
                                           {"timeoutMs", 1500.0}});
  CHECK(p.mode == Mode::Interactive);
  CHECK(p.session == "s1");
  CHECK(p.filename == std::optional<std::string>("a.py"));
  CHECK(p.silent);
  CHECK(p.timeoutMs == std::optional<std::int64_t>(1500));
  CHECK(decodeAs<ExecParams>(Json{{"code", ""}, {"timeoutMs", 0}}).timeoutMs == std::optional<std::int64_t>(0));
  CHECK(decodeAs<ExecParams>(Json{{"code", ""}, {"mode", "module"}}).mode == Mode::Module);
}

TEST_CASE("Bad params are refused with a message naming the field", "[protocol]") {
  SECTION("ExecParams") {
    CHECK(failure<ExecParams>(Json{{"code", "x"}, {"mode", "eval"}}) ==
          R"(params.mode: expected one of "cell", "interactive", "module", got "eval")");
    CHECK(failure<ExecParams>(Json{{"code", "x"}, {"mode", "Cell"}}) ==
          R"(params.mode: expected one of "cell", "interactive", "module", got "Cell")");
    CHECK(failure<ExecParams>(Json{{"code", "x"}, {"mode", 1}}) == "params.mode: expected a string, got an integer");
    CHECK(failure<ExecParams>(Json{{"code", "x"}, {"timeoutMs", -1}}) == "params.timeoutMs: must not be negative");
    CHECK(failure<ExecParams>(Json{{"code", "x"}, {"timeoutMs", 1.5}}) ==
          "params.timeoutMs: expected an integer, got a number");
    CHECK(failure<ExecParams>(Json{{"code", "x"}, {"silent", 1}}) == "params.silent: expected a boolean, got an integer");
    CHECK(failure<ExecParams>(Json{{"mode", "cell"}}) == "params.code: required field is missing");
    CHECK(failure<ExecParams>(nullptr) == "params.code: required field is missing");
    CHECK(failure<ExecParams>(Json::array({"x"})) == "params: expected an object, got an array");
  }
  SECTION("SessionOpenParams") {
    CHECK(failure<SessionOpenParams>(Json{{"backend", "curio"}}) ==
          R"(params.backend: expected one of "asyncio", "trio", got "curio")");
    CHECK(failure<SessionOpenParams>(Json{{"env", {{"A", "1"}, {"B", 2}}}}) ==
          "params.env.B: expected a string, got an integer");
    CHECK(failure<SessionOpenParams>(Json{{"env", "A=1"}}) == "params.env: expected an object, got a string");
    CHECK(failure<SessionOpenParams>(Json{{"syncInLoop", "yes"}}) ==
          "params.syncInLoop: expected a boolean, got a string");
    CHECK(failure<SessionOpenParams>(Json{{"cwd", 5}}) == "params.cwd: expected a string, got an integer");
  }
  SECTION("CompileParams") {
    CHECK(failure<CompileParams>(Json{{"code", "x"}, {"mode", "single"}}) ==
          R"(params.mode: expected one of "cell", "interactive", "module", got "single")");
    CHECK(failure<CompileParams>(Json::object()) == "params.code: required field is missing");
  }
  SECTION("InterruptParams") {
    CHECK(failure<InterruptParams>(Json{{"graceMs", -5}}) == "params.graceMs: must not be negative");
    CHECK(failure<InterruptParams>(Json{{"graceMs", "5"}}) == "params.graceMs: expected an integer, got a string");
  }
  SECTION("CompleteParams and InspectParams") {
    CHECK(failure<CompleteParams>(Json{{"code", "x"}, {"cursor", -1}}) == "params.cursor: must not be negative");
    CHECK(failure<CompleteParams>(Json{{"code", "x"}, {"cursor", "1"}}) ==
          "params.cursor: expected an integer, got a string");
    CHECK(failure<InspectParams>(Json{{"code", "x"}}) == "params.cursor: required field is missing");
  }
  SECTION("CancelRequestParams") {
    CHECK(failure<CancelRequestParams>(Json{{"id", 1.5}}) == "params.id: expected an integer or a string, got a number");
    CHECK(failure<CancelRequestParams>(Json{{"id", true}}) ==
          "params.id: expected an integer or a string, got a boolean");
    CHECK(failure<CancelRequestParams>(Json{{"id", Json::array()}}) ==
          "params.id: expected an integer or a string, got an array");
    CHECK(failure<CancelRequestParams>(Json{{"id", nullptr}}) == "params.id: required field is missing");
  }
  SECTION("InitializeParams") {
    CHECK(failure<InitializeParams>(Json{{"clientInfo", {{"version", "1"}}}}) ==
          "params.clientInfo.name: required field is missing");
    CHECK(failure<InitializeParams>(Json{{"capabilities", {{"input", "yes"}}}}) ==
          "params.capabilities.input: expected a boolean, got a string");
  }
  SECTION("InputResult") {
    CHECK(failure<InputResult>(Json{{"value", nullptr}}) == "params.value: required field is missing");
  }
  SECTION("A constant is checked") {
    Json r = Json(InitializeResult{});
    r["protocolVersion"] = 2;
    CHECK(failure<InitializeResult>(r) == "params.protocolVersion: expected 1");
  }
}

TEST_CASE("SessionOpenParams default to the default asyncio session", "[protocol]") {
  const auto d = decodeAs<SessionOpenParams>(nullptr);
  CHECK(d.session == "default");
  CHECK(d.backend == Backend::Asyncio);
  CHECK_FALSE(d.syncInLoop);
  CHECK_FALSE(d.cwd.has_value());
  CHECK_FALSE(d.env.has_value());
  CHECK_FALSE(d.python.has_value());

  const auto p = decodeAs<SessionOpenParams>(Json{{"session", "t"},
                                                  {"backend", "trio"},
                                                  {"syncInLoop", true},
                                                  {"cwd", "/tmp"},
                                                  {"env", {{"A", "1"}}},
                                                  {"python", "/usr/bin/python3"}});
  CHECK(p.session == "t");
  CHECK(p.backend == Backend::Trio);
  CHECK(p.syncInLoop);
  CHECK(p.cwd == std::optional<std::string>("/tmp"));
  REQUIRE(p.env.has_value());
  CHECK(*p.env == std::map<std::string, std::string>{{"A", "1"}});
  CHECK(p.python == std::optional<std::string>("/usr/bin/python3"));
}

TEST_CASE("CompileParams leave the mode unset when absent", "[protocol]") {
  const auto p = decodeAs<CompileParams>(Json{{"code", "await x"}});
  CHECK(p.code == "await x");
  CHECK_FALSE(p.mode.has_value());
  CHECK(p.session == "default");
  CHECK(decodeAs<CompileParams>(Json{{"code", ""}, {"mode", "interactive"}}).mode ==
        std::optional<Mode>(Mode::Interactive));
}

TEST_CASE("InterruptParams, cursor params, CancelRequestParams and InitializeParams decode", "[protocol]") {
  CHECK(decodeAs<InterruptParams>(nullptr).graceMs == 2000);
  CHECK(decodeAs<InterruptParams>(Json{{"graceMs", 0}}).graceMs == 0);
  CHECK(decodeAs<InterruptParams>(Json{{"session", "b"}}).session == "b");

  const auto c = decodeAs<CompleteParams>(Json{{"code", "pri"}, {"cursor", 3}});
  CHECK(c.code == "pri");
  CHECK(c.cursor == 3);
  CHECK(c.session == "default");

  CHECK(decodeAs<CancelRequestParams>(Json{{"id", 5}}).id == 5);
  CHECK(decodeAs<CancelRequestParams>(Json{{"id", "a"}}).id == "a");

  const auto i = decodeAs<InitializeParams>(Json{{"clientInfo", {{"name", "vscode"}}}, {"capabilities", {{"input", true}}}});
  REQUIRE(i.clientInfo.has_value());
  CHECK(i.clientInfo->name == "vscode");
  CHECK_FALSE(i.clientInfo->version.has_value());
  REQUIRE(i.capabilities.has_value());
  CHECK(i.capabilities->input);
  CHECK_FALSE(decodeAs<InitializeParams>(nullptr).clientInfo.has_value());

  CHECK(decodeAs<InputResult>(Json{{"value", "typed"}}).value == "typed");
}

TEST_CASE("Results are written with the wire's keys", "[protocol]") {
  SECTION("InitializeResult") {
    const InitializeResult r{{"asyncoded", "0.1.0"}, 1, {"3.11.2", "/usr/bin/python3"}, {Backend::Asyncio, Backend::Trio},
                             PositionEncoding::Utf_16, 1};
    CHECK(Json(r) == Json::parse(R"({"serverInfo":{"name":"asyncoded","version":"0.1.0"},"protocolVersion":1,
        "python":{"version":"3.11.2","executable":"/usr/bin/python3"},"backends":["asyncio","trio"],
        "positionEncoding":"utf-16","protocolRevision":1})"));
    CHECK(decodeAs<InitializeResult>(Json(r)) == r);
  }
  SECTION("SessionOpenResult and SessionInfo") {
    CHECK(Json(SessionOpenResult{"s", 42, Backend::Trio}) == Json{{"session", "s"}, {"pid", 42}, {"backend", "trio"}});
    CHECK(Json(SessionInfo{"s", 7, Backend::Asyncio, SessionState::Busy}) ==
          Json{{"session", "s"}, {"pid", 7}, {"backend", "asyncio"}, {"state", "busy"}});
  }
  SECTION("InterruptResult omits how when nothing was interrupted") {
    CHECK(Json(InterruptResult{}) == Json{{"interrupted", false}});
    CHECK(Json(InterruptResult{true, InterruptHow::Cancelled}) == Json{{"interrupted", true}, {"how", "cancelled"}});
    CHECK(Json(InterruptResult{true, InterruptHow::Restarted}) == Json{{"interrupted", true}, {"how", "restarted"}});
  }
  SECTION("StatusParams carries pid only when known") {
    CHECK(Json(StatusParams{"s", SessionState::Dead, std::nullopt, std::nullopt}) == Json{{"session", "s"}, {"state", "dead"}});
    CHECK(Json(StatusParams{"s", SessionState::Idle, 9, std::nullopt}) == Json{{"session", "s"}, {"state", "idle"}, {"pid", 9}});
  }
  SECTION("LogParams") {
    CHECK(Json(LogParams{LogLevel::Warn, "hi"}) == Json{{"level", "warn"}, {"message", "hi"}});
  }
  SECTION("Output that no exec owns says so with nulls") {
    const OutputParams p{"default", nullptr, std::nullopt, Stream::Stderr, "x", std::nullopt, 1};
    CHECK(Json(p) == Json{{"session", "default"}, {"requestId", nullptr}, {"execCount", nullptr},
                          {"stream", "stderr"}, {"text", "x"}, {"seq", 1}});
    CHECK(decodeAs<OutputParams>(Json(p)) == p);
  }
  SECTION("An ExecResult writes result and error only when there are some") {
    ExecResult r{3, ExecStatus::Ok, std::nullopt, std::nullopt, 1.5, true};
    CHECK(Json(r) == Json{{"execCount", 3}, {"status", "ok"}, {"durationMs", 1.5}, {"awaited", true}});
    r.result = Json{{"text/plain", "42"}};
    CHECK(Json(r)["result"] == Json{{"text/plain", "42"}});
    CHECK(decodeAs<ExecResult>(Json(r)) == r);
  }
}

TEST_CASE("Fields with a default are written only when they differ from it", "[protocol]") {
  CHECK(Json(SessionOpenParams{}) == Json::object());
  const SessionOpenParams p{.session = "s", .backend = Backend::Trio};
  CHECK(Json(p) == Json{{"session", "s"}, {"backend", "trio"}});
  CHECK(Json(InterruptParams{"default", 2000}) == Json::object());
  CHECK(Json(ExecParams{"1", Mode::Interactive, "default", std::nullopt, false, std::nullopt}) ==
        Json{{"code", "1"}, {"mode", "interactive"}});
  CHECK(Json(NoParams{}).is_null());
}

TEST_CASE("Enum names round-trip", "[protocol]") {
  CHECK(std::string(toString(Mode::Cell)) == "cell");
  CHECK(std::string(toString(Mode::Interactive)) == "interactive");
  CHECK(std::string(toString(Mode::Module)) == "module");
  CHECK(std::string(toString(Backend::Asyncio)) == "asyncio");
  CHECK(std::string(toString(Backend::Trio)) == "trio");
  CHECK(std::string(toString(SessionState::Starting)) == "starting");
  CHECK(std::string(toString(Stream::Stdout)) == "stdout");
  const auto how = GENERATE(InterruptHow::Cancelled, InterruptHow::KeyboardInterrupt, InterruptHow::TaskInterrupted,
                           InterruptHow::Restarted);
  InterruptHow back{};
  CHECK(fromString(toString(how), back));
  CHECK(back == how);
  CHECK_FALSE(fromString("bogus", back));
  CHECK(Json(how) == Json(toString(how)));
}
