// The supervisor driven through a fake client transport, with fake worker processes: the
// lifecycle, sessions, execs and their answers, interrupts, worker deaths, output routing,
// backpressure, input relay, and the stop routine. No process is started, no Python runs.
#include <catch2/catch.hpp>

#include "daemon/output_router.h"
#include "tests/unit/daemon/fakes.h"

using asyncode::testing::FakeWorker;
using asyncode::testing::Harness;
using asyncode::testing::Json;
using asyncode::protocol::Stream;

namespace {

// An exec on the default session; its worker (the first spawned) configured.
Json startExec(Harness& h, const std::string& code = "1", const Json& extra = Json::object()) {
  Json params = extra;
  params["code"] = code;
  const Json id = h.request("exec", params);
  REQUIRE(h.spawned() >= 1);
  return id;
}

Json execResult(std::int64_t count, const std::string& status = "ok") {
  return Json{{"result", {{"execCount", count}, {"status", status}, {"durationMs", 0.5}, {"awaited", false}}}};
}

std::vector<std::string> states(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& m : h.client->messages("status")) out.push_back(m["params"]["state"]);
  return out;
}

}  // namespace

TEST_CASE("Requests before initialize are refused, and initialize says what the daemon is", "[supervisor][lifecycle]") {
  Harness h;
  const Json early = h.request("session/list");
  CHECK(h.error(early)["code"] == -32002);
  const Json init = h.request("initialize", {{"clientInfo", {{"name", "unit"}}}});
  const Json r = h.result(init);
  CHECK(r["serverInfo"]["name"] == "asyncoded");
  CHECK(r["protocolVersion"] == 1);
  CHECK(r["python"]["version"] == "3.11.2");
  CHECK(r["backends"] == Json::array({"asyncio", "trio"}));
  SECTION("a second initialize is refused") {
    CHECK(h.error(h.request("initialize"))["code"] == -32600);
  }
  SECTION("params that do not decode are answered -32602 naming the path") {
    const Json e = h.error(h.request("exec", {{"code", "1"}, {"mode", "eval"}}));
    CHECK(e["code"] == -32602);
    CHECK(e["message"].get<std::string>().find("params.mode") != std::string::npos);
    CHECK(h.spawned() == 0);  // the handler never ran
  }
  SECTION("an unknown session is invalid params") {
    CHECK(h.error(h.request("exec", {{"code", "1"}, {"session", "nope"}}))["code"] == -32602);
  }
}

TEST_CASE("An exec opens the default session and is answered with its worker's result", "[supervisor][exec]") {
  Harness h;
  h.initialize();
  const Json id = startExec(h, "print(1)");
  FakeWorker* w = h.worker(0);
  REQUIRE(w);
  // Configure first, the exec right behind it, on the lane, in order.
  REQUIRE(w->laneLink->sent.size() == 2);
  CHECK(w->laneLink->sent[0]["method"] == "worker/configure");
  CHECK(w->laneLink->sent[0]["params"]["session"] == "default");
  const Json exec = w->laneLink->sent[1];
  CHECK(exec["method"] == "exec");
  CHECK(exec["params"]["requestId"] == id);
  CHECK(exec["params"]["params"]["code"] == "print(1)");
  h.configure(*w);
  CHECK(states(h) == std::vector<std::string>{"starting", "busy"});
  w->laneLink->answer(exec, execResult(1));
  CHECK(h.result(id) == Json{{"execCount", 1}, {"status", "ok"}, {"durationMs", 0.5}, {"awaited", false}});
  CHECK(states(h) == std::vector<std::string>{"starting", "busy", "idle"});
  CHECK(w->drains == 1);  // fd-level output is read before the answer goes out
}

TEST_CASE("Execs of a session run in order; a queued one can be cancelled", "[supervisor][exec]") {
  Harness h;
  h.initialize();
  const Json first = startExec(h, "a");
  const Json second = h.request("exec", {{"code", "b"}});
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  auto execs = w->laneLink->messages("exec");
  REQUIRE(execs.size() == 2);
  h.notify("$/cancelRequest", {{"id", second}});
  CHECK(h.error(second)["code"] == -32800);  // answered at once
  const auto cancel = w->controlLink->last("worker/cancel");
  REQUIRE(cancel.has_value());
  CHECK((*cancel)["params"]["seq"] == execs[1]["params"]["seq"]);
  w->laneLink->answer(execs[0], execResult(1));
  CHECK(h.result(first)["execCount"] == 1);
  // The worker's own word on the cancelled one changes nothing.
  w->laneLink->answerError(execs[1], -32800, "the exec was cancelled before it started");
  CHECK(h.answers(second) == 1);
  CHECK(states(h).back() == "idle");
}

TEST_CASE("An interrupt asks the worker, and kills it when the exec outlives graceMs", "[supervisor][interrupt]") {
  Harness h;
  h.initialize();
  const Json exec = startExec(h, "while True: pass");
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  const Json interrupt = h.request("interrupt", {{"graceMs", 20}});
  const auto asked = w->controlLink->last("interrupt");
  REQUIRE(asked.has_value());
  CHECK((*asked)["params"].value("reason", "interrupt") == "interrupt");  // the default: not written

  SECTION("the exec ends by itself: the interrupt says how") {
    auto answer = execResult(1, "interrupted");
    answer["result"]["error"] = {{"type", "KeyboardInterrupt"}, {"message", ""}, {"traceback", Json::array()},
                                 {"formatted", "KeyboardInterrupt\n"}};
    answer["interruptedHow"] = "keyboardInterrupt";
    w->laneLink->answer(w->laneLink->messages("exec")[0], answer);
    CHECK(h.result(interrupt) == Json{{"interrupted", true}, {"how", "keyboardInterrupt"}});
    CHECK(h.result(exec)["status"] == "interrupted");
  }
  SECTION("it does not: the worker is killed and the session restarts") {
    REQUIRE(h.runUntil([&] { return h.worker(0) == nullptr; }));
    CHECK(h.result(exec)["status"] == "interrupted");
    CHECK(h.result(exec)["error"]["type"] == "WorkerDied");
    CHECK(h.result(interrupt) == Json{{"interrupted", true}, {"how", "restarted"}});
    CHECK(h.spawned() == 2);  // a fresh worker for the session
    FakeWorker* next = h.worker(1);
    REQUIRE(next);
    CHECK(next->laneLink->last("worker/configure").has_value());
  }
}

TEST_CASE("An interrupt the worker acted on is answered then, and costs no worker after graceMs",
          "[supervisor][interrupt]") {
  Harness h;
  h.initialize();
  const Json exec = startExec(h, "while True: pass");
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  const Json interrupt = h.request("interrupt", {{"graceMs", 20}});
  const auto asked = w->controlLink->last("interrupt");
  REQUIRE(asked.has_value());
  w->controlLink->answer(*asked, {{"outcome", "signalled"}, {"how", "keyboardInterrupt"}});
  CHECK(h.result(interrupt) == Json{{"interrupted", true}, {"how", "keyboardInterrupt"}});
  // The code caught it and runs on: past graceMs the worker is still the session's.
  h.runUntil([] { return false; }, std::chrono::milliseconds(60));
  CHECK(h.worker(0) == w);
  CHECK(h.answers(exec) == 0);
}

TEST_CASE("interrupt {force: true} kills the worker at once", "[supervisor][interrupt]") {
  Harness h;
  h.initialize();
  const Json exec = startExec(h, "while True: pass");
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  const Json interrupt = h.request("interrupt", {{"force", true}, {"graceMs", 60000}});
  REQUIRE(h.runUntil([&] { return h.worker(0) == nullptr; }));
  CHECK(h.result(exec)["error"]["type"] == "WorkerDied");
  CHECK(h.result(interrupt) == Json{{"interrupted", true}, {"how", "restarted"}});
}

TEST_CASE("An interrupt with nothing running says so", "[supervisor][interrupt]") {
  Harness h;
  h.initialize();
  CHECK(h.result(h.request("interrupt")) == Json{{"interrupted", false}});
}

TEST_CASE("A worker that dies answers its exec WorkerDied; the session restarts, unless it dies too often",
          "[supervisor][workers]") {
  Harness h;
  h.initialize();
  const Json exec = startExec(h, "import os; os._exit(3)");
  const Json queued = h.request("exec", {{"code", "2"}});
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  w->exitSoon({asyncode::daemon::ExitStatus::Kind::Exited, 3, 0});
  REQUIRE(h.runUntil([&] { return h.worker(0) == nullptr; }));
  const Json r = h.result(exec);
  CHECK(r["status"] == "error");
  CHECK(r["error"]["type"] == "WorkerDied");
  CHECK(r["error"]["message"] == "the session's worker exited with code 3");
  // The queued exec goes to the new worker.
  FakeWorker* next = h.worker(1);
  REQUIRE(next);
  REQUIRE(next->laneLink->messages("exec").size() == 1);
  CHECK(next->laneLink->messages("exec")[0]["params"]["requestId"] == queued);

  SECTION("five deaths within ten seconds close the session") {
    for (std::size_t i = 1; i < 5; ++i) {
      FakeWorker* x = h.worker(i);
      REQUIRE(x);
      x->exitSoon({asyncode::daemon::ExitStatus::Kind::Killed, 0, SIGSEGV});
      REQUIRE(h.runUntil([&] { return h.worker(i) == nullptr; }));
    }
    CHECK(h.spawned() == 5);
    CHECK(h.result(h.request("session/list")) == Json{{"sessions", Json::array()}});
  }
}

TEST_CASE("Output is attributed to the exec that owns it", "[supervisor][output]") {
  Harness h;
  h.initialize();
  const Json exec = startExec(h);
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  SECTION("bytes of C code and child processes belong to the running exec") {
    w->write(Stream::Stdout, "from C\n");
    const auto out = h.client->last("output");
    REQUIRE(out.has_value());
    CHECK((*out)["params"] == Json{{"session", "default"}, {"requestId", exec}, {"execCount", 1},
                                   {"stream", "stdout"}, {"text", "from C\n"}, {"seq", 1}});
  }
  SECTION("Python's output comes in fd 1's frames that name their exec by seq") {
    w->writeFrame(Stream::Stdout, 'J', "", R"({"jsonrpc":"2.0","method":"worker/execStart","params":{"seq":1,"execCount":1}})");
    const auto start = h.client->last("execStart");
    REQUIRE(start.has_value());
    CHECK((*start)["params"] == Json{{"session", "default"}, {"requestId", exec}, {"execCount", 1}});
    w->writeFrame(Stream::Stdout, 'e', "1", "late\n");
    const auto out = h.client->last("output");
    REQUIRE(out.has_value());
    CHECK((*out)["params"]["requestId"] == exec);
    CHECK((*out)["params"]["execCount"] == 1);
    CHECK((*out)["params"]["stream"] == "stderr");
    CHECK((*out)["params"]["seq"] == 1);
    w->writeFrame(Stream::Stdout, 'o', "77", "nobody's\n");
    CHECK(h.client->last("output").value()["params"]["requestId"] == nullptr);  // a seq it was not sent
    w->writeFrame(Stream::Stdout, 'J', "", R"({"jsonrpc":"2.0","method":"display","params":{"data":{"text/plain":"1"}}})");
    const auto display = h.client->last("display");
    REQUIRE(display.has_value());
    CHECK((*display)["params"] == Json{{"session", "default"}, {"requestId", nullptr}, {"execCount", nullptr},
                                       {"data", {{"text/plain", "1"}}}, {"seq", 3}});
    CHECK(w->signals.empty());
  }
  SECTION("a forged frame that breaks the link's schema restarts the worker") {
    auto forge = [&](const std::string& body) {
      std::vector<int>& signals = w->signals;
      w->writeFrame(Stream::Stdout, 'J', "", body);
      CHECK(signals == std::vector<int>{SIGKILL});
      CHECK(h.client->last("display") == std::nullopt);
    };
    SECTION("data that is not a MimeBundle") { forge(R"({"jsonrpc":"2.0","method":"display","params":{"data":42}})"); }
    SECTION("JSON nested too deep") { forge(std::string(100000, '[') + std::string(100000, ']')); }
    SECTION("a method that never travels in frames") { forge(R"({"jsonrpc":"2.0","method":"exec","params":{}})"); }
  }
  SECTION("a worker without output pipes sends notifications, which get its session's name") {
    w->controlLink->deliver({{"jsonrpc", "2.0"},
                         {"method", "output"},
                         {"params", {{"seq", 1}, {"stream", "stdout"}, {"text", "x"}}}});
    const auto out = h.client->last("output");
    REQUIRE(out.has_value());
    CHECK((*out)["params"]["session"] == "default");
    CHECK((*out)["params"]["requestId"] == exec);
  }
}

TEST_CASE("A client that reads slowly stops the reading of workers until it catches up", "[supervisor][output]") {
  Harness h;
  h.initialize();
  startExec(h);
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  h.client->pending = asyncode::daemon::kClientHighWater + 1;
  w->write(Stream::Stdout, "x");
  CHECK(w->outputPaused);
  h.client->written();
  CHECK_FALSE(w->outputPaused);
}

TEST_CASE("input() in a worker asks the client, with the session's name", "[supervisor][input]") {
  Harness h;
  h.initialize(/*input=*/true);
  const Json exec = startExec(h);
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  w->controlLink->deliver({{"jsonrpc", "2.0"},
                       {"id", 7},
                       {"method", "input"},
                       {"params", {{"requestId", exec}, {"prompt", "name? "}, {"password", false}}}});
  const auto asked = h.client->last("input");
  REQUIRE(asked.has_value());
  CHECK((*asked)["params"]["session"] == "default");
  SECTION("the answer goes back to the worker") {
    h.client->answer(*asked, {{"value", "Ada"}});
    const auto back = w->controlLink->responseTo(7);
    REQUIRE(back.has_value());
    CHECK((*back)["result"] == Json{{"value", "Ada"}});
  }
  SECTION("the worker withdraws it: so does the daemon") {
    w->controlLink->deliver({{"jsonrpc", "2.0"}, {"method", "$/cancelRequest"}, {"params", {{"id", 7}}}});
    const auto cancel = h.client->last("$/cancelRequest");
    REQUIRE(cancel.has_value());
    CHECK((*cancel)["params"]["id"] == (*asked)["id"]);
    CHECK(w->controlLink->responseTo(7).value()["error"]["code"] == -32800);
  }
}

TEST_CASE("A session's worker is stopped in steps: asked, SIGTERM, then SIGKILL", "[supervisor][workers]") {
  Harness h;
  h.initialize();
  const Json open = h.request("session/open", {{"session", "s"}});
  FakeWorker* w = h.worker(0);
  h.configure(*w);
  CHECK(h.result(open)["session"] == "s");
  w->ignoresTerm = true;
  const Json close = h.request("session/close", {{"session", "s"}});
  CHECK(h.result(close).is_null());
  CHECK(w->laneLink->last("shutdown").has_value());  // asked first
  CHECK(w->signals.empty());
  CHECK(h.result(h.request("session/list")) == Json{{"sessions", Json::array()}});
  REQUIRE(h.runUntil([&] { return h.worker(0) == nullptr; }));
  CHECK(h.signals[0] == std::vector<int>{SIGTERM, SIGKILL});
}

TEST_CASE("Shutdown answers once every worker has ended, and exit ends the loop", "[supervisor][lifecycle]") {
  Harness h(/*spares=*/1);
  h.initialize();
  REQUIRE(h.spawned() == 1);  // the warm spare
  const Json shutdown = h.request("shutdown");
  FakeWorker* spare = h.worker(0);
  REQUIRE(spare->laneLink->last("shutdown").has_value());
  CHECK_FALSE(h.client->responseTo(shutdown).has_value());
  spare->exitSoon({asyncode::daemon::ExitStatus::Kind::Exited, 0, 0});
  REQUIRE(h.runUntil([&] { return h.client->responseTo(shutdown).has_value(); }));
  CHECK(h.result(shutdown).is_null());
  CHECK(h.error(h.request("session/list"))["code"] == -32600);  // nothing but exit now
  h.notify("exit");
  CHECK(h.supervisor->finished());
  CHECK(h.supervisor->exitCode() == 0);
}

TEST_CASE("The warm spare is taken by the first session and replaced", "[supervisor][workers]") {
  Harness h(/*spares=*/1);
  h.initialize();
  FakeWorker* spare = h.worker(0);
  REQUIRE(spare);
  spare->controlLink->deliver({{"jsonrpc", "2.0"}, {"method", "worker/ready"}, {"params", {{"pid", 1000}, {"backends", {"asyncio"}}}}});
  CHECK(spare->laneLink->last("worker/preload").has_value());  // a spare warms up
  startExec(h);
  CHECK(spare->laneLink->last("worker/configure").has_value());  // the session took it
  CHECK(h.spawned() == 2);                                   // and a new spare was started

  SECTION("a session with an environment of its own never takes the spare") {
    h.request("session/open", {{"session", "e"}, {"env", {{"A", "1"}}}});
    CHECK(h.spawned() == 3);
    CHECK(h.specs.back().env == std::map<std::string, std::string>{{"A", "1"}});
    FakeWorker* newSpare = h.worker(1);
    REQUIRE(newSpare);
    CHECK_FALSE(newSpare->laneLink->last("worker/configure").has_value());
  }
}

TEST_CASE("compile and needsAwait go to the warm spare, which runs no user code", "[supervisor][workers]") {
  SECTION("with a spare") {
    Harness h(/*spares=*/1);
    h.initialize();
    startExec(h, "while True: pass");  // the session takes the first spare and runs
    FakeWorker* session = h.worker(0);
    FakeWorker* spare = h.worker(1);
    REQUIRE(session);
    REQUIRE(spare);
    const Json c = h.request("compile", {{"code", "await x"}});
    const Json n = h.request("needsAwait", {{"code", "if x:"}});
    CHECK_FALSE(session->controlLink->last("compile").has_value());
    CHECK_FALSE(session->controlLink->last("needsAwait").has_value());
    const auto compile = spare->controlLink->last("compile");
    const auto needsAwait = spare->controlLink->last("needsAwait");
    REQUIRE(compile.has_value());
    REQUIRE(needsAwait.has_value());
    spare->controlLink->answer(*compile, {{"status", "complete"}, {"needsAwait", true}});
    spare->controlLink->answer(*needsAwait, {{"status", "incomplete"}, {"needsAwait", false}});
    CHECK(h.result(c) == Json{{"status", "complete"}, {"needsAwait", true}});
    CHECK(h.result(n)["status"] == "incomplete");
    // Introspection of the session's objects stays with the session.
    h.request("complete", {{"code", "x."}, {"cursor", 2}});
    CHECK(session->controlLink->last("complete").has_value());
    CHECK_FALSE(spare->controlLink->last("complete").has_value());
    // An unknown session is still refused.
    CHECK(h.error(h.request("compile", {{"code", "1"}, {"session", "nope"}}))["code"] == -32602);
  }
  SECTION("without a spare (--spares 0) the session's worker answers") {
    Harness h;
    h.initialize();
    startExec(h);
    FakeWorker* session = h.worker(0);
    REQUIRE(session);
    h.request("compile", {{"code", "1"}});
    CHECK(session->controlLink->last("compile").has_value());
  }
}

TEST_CASE("A session whose worker cannot start answers what waits for it", "[supervisor][workers]") {
  Harness h;
  h.initialize();
  SECTION("session/open") {
    h.failSpawns = true;
    CHECK(h.error(h.request("session/open", {{"session", "s"}}))["code"] == -32603);
  }
  SECTION("the execs queued when its worker died") {
    startExec(h);
    const Json queued = h.request("exec", {{"code", "2"}});
    h.failSpawns = true;
    FakeWorker* w = h.worker(0);
    REQUIRE(w);
    w->exitSoon({asyncode::daemon::ExitStatus::Kind::Killed, 0, SIGKILL});
    REQUIRE(h.runUntil([&] { return h.worker(0) == nullptr; }));
    const Json r = h.result(queued);
    CHECK(r["error"]["type"] == "WorkerDied");
    CHECK(r["error"]["message"].get<std::string>().find("could not start") != std::string::npos);
  }
}

TEST_CASE("The front binds every request a client may send, from the generated table", "[supervisor][methods]") {
  Harness h;
  h.initialize();
  int checked = 0;
  for (const auto& m : asyncode::protocol::kMethods) {
    if (m.kind != asyncode::rpc::MethodKind::Request || m.direction == "daemon->client") continue;
    if (m.method == "initialize" || m.method == "shutdown") continue;  // answered above / ends the daemon
    CAPTURE(m.method);
    const Json id = h.request(std::string(m.method), Json::object());
    // Answered at once (an error for missing params, say) or by a worker later: never -32601.
    if (const auto r = h.client->responseTo(id); r && r->contains("error")) CHECK(r->at("error").at("code") != -32601);
    ++checked;
  }
  CHECK(checked == 13);
  CHECK(h.error(h.request("no/such/method"))["code"] == -32601);
}

TEST_CASE("The client's terminal goes with a worker's configure, and a change on both links", "[supervisor][terminal]") {
  Harness h;
  h.initialize();
  const Json terminal{{"columns", 120}, {"rows", 40}, {"isatty", true}};
  h.request("session/open", {{"session", "s"}, {"terminal", terminal}});
  FakeWorker* w = h.worker(0);
  REQUIRE(w);
  const auto configure = w->laneLink->last("worker/configure");
  REQUIRE(configure.has_value());
  CHECK((*configure)["params"]["terminal"] == terminal);
  h.configure(*w);
  const Json smaller{{"columns", 80}, {"rows", 24}, {"isatty", true}};
  h.notify("session/terminal", {{"session", "s"}, {"terminal", smaller}});
  const auto atOnce = w->controlLink->last("worker/terminal");
  const auto inOrder = w->laneLink->last("worker/terminal");
  REQUIRE(atOnce.has_value());
  REQUIRE(inOrder.has_value());
  CHECK((*atOnce)["params"] == smaller);
  CHECK((*inOrder)["params"] == smaller);
  SECTION("opening the open session with another terminal is no other setting: it takes it") {
    const Json wide{{"columns", 200}, {"rows", 50}, {"isatty", true}};
    const Json open = h.request("session/open", {{"session", "s"}, {"terminal", wide}});
    CHECK(h.result(open)["session"] == "s");
    CHECK((*w->controlLink->last("worker/terminal"))["params"] == wide);
  }
  SECTION("a session not open is not opened by it") {
    const std::size_t before = h.spawned();
    h.notify("session/terminal", {{"session", "nope"}, {"terminal", smaller}});
    CHECK(h.spawned() == before);
    CHECK(h.result(h.request("session/list"))["sessions"].size() == 1);
  }
}
