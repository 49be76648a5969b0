#include "clients/cli/input_requests.h"

#include <algorithm>

#include "clients/cli/terminal.h"

namespace asyncode::cli {

InputRequests::InputRequests(DaemonLink& link, PrompterFor prompterFor, Hooks hooks)
    : link_(link), prompterFor_(std::move(prompterFor)), hooks_(std::move(hooks)) {
  link_.dispatcher().bind(methods::input, [this](const InputParams& params, rpc::Reply<InputResult> reply) {
    onInput(params, std::move(reply.untyped()));
  });
  link_.dispatcher().bind(methods::cancelRequest, [this](const CancelRequestParams& p) { onCancel(p.id); });
}

void InputRequests::onInput(const InputParams& params, rpc::ReplyOnce reply) {
  queue_.push_back(Pending{params, std::move(reply)});
  if (!asking_) askNext();
}

void InputRequests::askNext() {
  const auto next = std::find_if(queue_.begin(), queue_.end(), [](const Pending& p) { return !p.interrupted; });
  if (next == queue_.end()) {
    if (hooks_.doneAsking) hooks_.doneAsking();
    return;
  }
  const InputKind kind =
      next->params.kind.value_or(next->params.password ? InputKind::Password : InputKind::Input);
  Prompter* prompter = prompterFor_(kind == InputKind::Password);
  const rpc::Id id = next->reply.id();
  if (!prompter) return answer(id, std::nullopt);
  if (hooks_.beforeAsking) hooks_.beforeAsking();
  prompter_ = prompter;
  asking_ = true;
  Question q;
  q.prompt = next->params.prompt;
  q.password = kind == InputKind::Password;
  // pdb's commands have a history of their own, apart from what input() is answered, and
  // Tab completes them (and Python in the frame pdb is paused at).
  q.history = kind == InputKind::Debugger ? HistoryKind::pdb : HistoryKind::input;
  if (kind == InputKind::Debugger) {
    q.complete = [this](const std::string& line, std::size_t point, std::function<void(Completion)> done) {
      completeDebuggerLine(line, point, std::move(done));
    };
  }
  q.rememberAnswer = true;
  prompter->ask(std::move(q), [this, id](std::optional<std::string> line) {
    asking_ = false;
    answer(id, std::move(line));
  });
}

void InputRequests::answer(const rpc::Id& id, std::optional<std::string> line) {
  const auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Pending& p) { return p.reply.id() == id; });
  if (it != queue_.end()) {
    if (line) {
      it->reply(Json(InputResult{*line}));
    } else {
      it->reply.error(rpc::ErrorCode::RequestCancelled, "end of input");  // input() raises EOFError
    }
    queue_.erase(it);
  }
  if (!asking_) askNext();
}

void InputRequests::interrupt() {
  if (!asking_ || queue_.empty()) return;
  asking_ = false;
  prompter_->interrupt();
  auto it = std::find_if(queue_.begin(), queue_.end(), [](const Pending& p) { return !p.interrupted; });
  if (it == queue_.end()) return;
  it->interrupted = true;
  const rpc::Id id = it->reply.id();
  InterruptParams params;
  params.session = link_.session();
  link_.call(methods::interrupt, params, [this, id](Answer<InterruptResult>) {
    // The running exec stopped (input() then raised KeyboardInterrupt and the daemon
    // withdrew the request), or nothing ran: either way, a request still here is over.
    answer(id, std::nullopt);
  });
}

void InputRequests::completeDebuggerLine(const std::string& line, std::size_t point,
                                         std::function<void(Completion)> done) {
  CompleteParams params;
  params.code = line;
  params.cursor = static_cast<std::int64_t>(codePoints(std::string_view(line).substr(0, point)));
  params.session = link_.session();
  params.debugger = true;
  link_.call(methods::complete, params, [line, done = std::move(done)](Answer<CompleteResult> r) {
    Completion c;
    if (r) {
      c.start = byteOffset(line, static_cast<std::size_t>(r->cursorStart));
      c.matches = matchTexts(*r);
    }
    done(std::move(c));
  });
}

void InputRequests::onCancel(const rpc::Id& id) {
  const auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Pending& p) { return p.reply.id() == id; });
  if (it == queue_.end()) return;
  const bool onScreen = asking_ && std::find_if(queue_.begin(), queue_.end(), [](const Pending& p) {
                                     return !p.interrupted;
                                   }) == it;
  // The daemon has forgotten it: answering is pointless (and harmless), so answer
  // quietly instead of letting the reply go unanswered.
  it->reply.error(rpc::ErrorCode::RequestCancelled, "withdrawn");
  queue_.erase(it);
  if (onScreen) {
    asking_ = false;
    prompter_->abandon();
    askNext();
  }
}

}  // namespace asyncode::cli
