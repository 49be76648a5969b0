#include "clients/cli/client.h"

#include <signal.h>

namespace asyncode::cli {

Client::Client(uv_loop_t* loop, const SessionOptions& options)
    : loop_(loop), console_(loop), link_(loop, options) {
  auto& d = link_.dispatcher();
  d.bind(methods::output, [this](const OutputParams& p) { console_.write(consoleStream(p.stream), p.text); });
  d.bind(methods::display, [this](const DisplayParams& p) {
    if (const auto text = plainText(p.data)) console_.out(*text + "\n");
  });
  d.bind(methods::status, [this](const StatusParams& p) {
    if (onStatus_) onStatus_(p);
  });
  // The daemon's log reaches our stderr directly when asked for (--log-level): its `log`
  // notifications would say the same again.
  d.onNotification(std::string(methods::log.method), [](const Json&) {});
  onSignal(SIGWINCH, [this] { link_.terminalChanged(); });  // user code sees the new size
  link_.setOnLost([this](const std::string& why) {
    if (leaving_) return;
    leave(1);  // first: the prompt leaves the screen
    error(why + "; run with --verbose to see its log");
  });
}

void Client::onSignal(int signum, std::function<void()> handler) {
  auto& watch = signals_.emplace_back(SignalWatch{rpc::UvHandle<uv_signal_t>(uv_signal_init, loop_), std::move(handler)});
  watch.handle->data = &watch;
  uv_signal_start(watch.handle.get(), [](uv_signal_t* s, int) {
    if (auto* w = static_cast<SignalWatch*>(s->data)) w->handler();
  }, signum);
}

int Client::run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  return exitCode_;
}

void Client::leave(int code) {
  if (leaving_) return;
  leaving_ = true;
  exitCode_ = code;
  if (onLeave_) onLeave_();
  console_.flush();
  link_.stop([this] {
    console_.flush();
    uv_stop(loop_);
  });
}

void Client::error(const std::string& message) {
  console_.finishLine(Stream::err);
  console_.err("asyncode: " + message + "\n");
}

}  // namespace asyncode::cli
