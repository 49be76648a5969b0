#include "daemon/output_router.h"

#include <spdlog/spdlog.h>

#include <type_traits>
#include <variant>

#include "daemon/worker_messages.h"

namespace asyncode::daemon {

namespace link = protocol::link;
using protocol::Stream;
using rpc::Json;

namespace {

std::size_t index(Stream s) { return s == Stream::Stdout ? 0 : 1; }

}  // namespace

OutputRouter::OutputRouter(rpc::Peer& client, WorkerPool& pool, const ClientState& state, Hooks hooks)
    : client_(client), pool_(pool), state_(state), hooks_(std::move(hooks)) {}

OutputRouter::Pipes& OutputRouter::pipesOf(const Worker& w) {
  auto it = pipes_.find(w.id);
  if (it == pipes_.end()) it = pipes_.emplace(w.id, Pipes(w.magic)).first;
  return it->second;
}

bool OutputRouter::live(const Worker& w) const { return !w.retired && !w.session.empty() && state_.open(); }

std::optional<ExecQueue::Owner> OutputRouter::ownerOf(const Worker& w, std::optional<std::int64_t> seq) {
  return hooks_.ownerOf ? hooks_.ownerOf(w, seq) : std::nullopt;
}

// A worker without output pipes (run by hand) says the same things as notifications.
void OutputRouter::bind(Worker& w) {
  auto& d = w.handle->control().dispatcher();
  d.bind(link::methods::output, [this, &w](const link::OutputParams& p) {
    if (!live(w)) return;
    auto owner = p.seq ? ownerOf(w, p.seq) : std::nullopt;
    sendOutput(w, owner, p.stream, support::toValidUtf8(p.text));
  });
  d.bind(link::methods::display, [this, &w](const link::DisplayParams& p) { onDisplay(w, p); });
  d.bind(link::methods::clearOutput, [this, &w](const link::ClearOutputParams& p) { onClearOutput(w, p); });
  d.bind(link::methods::taskError, [this, &w](const link::TaskErrorParams& p) { onTaskError(w, p); });
  d.bind(link::methods::workerExecStart, [this, &w](const link::ExecStartParams& p) {
    if (hooks_.started) hooks_.started(w, p);
  });
}

void OutputRouter::onOutput(Worker& w, Stream stream, std::string_view bytes) { feed(w, stream, bytes); }

void OutputRouter::feed(Worker& w, Stream stream, std::string_view bytes) {
  Pipes& pipes = pipesOf(w);
  if (pipes.broken) return;
  FrameDemuxer& demux = pipes.demux[index(stream)];
  demux.feed(
      bytes, [&](std::string_view text) { onPlainOutput(w, stream, text); },
      [&](char kind, std::string_view owner, std::string_view payload) {
        if (stream != Stream::Stdout) {  // the worker frames into fd 1 only: this is forged
          breakLink(w, "a frame in the stderr pipe");
          return false;
        }
        return onFrame(w, kind, owner, payload);
      });
  if (pipes.held && demux.buffered() > kMaxHeldOutput) w.handle->pauseOutput();
}

void OutputRouter::resume(Worker& w) {
  auto it = pipes_.find(w.id);
  if (it == pipes_.end() || !it->second.held) return;
  it->second.held = false;
  feed(w, Stream::Stdout, {});
  if (!it->second.held && !outputPaused_) w.handle->resumeOutput();
}

// Before an exec's answer (its output first) and after a death: what the pipes hold now, no
// more (see WorkerProcess::drainOutput), at most kDrainLimit.
void OutputRouter::drain(Worker& w) {
  Pipes& pipes = pipesOf(w);
  if (pipes.broken) return;
  w.handle->drainOutput(kDrainLimit);
  if (pipes.held) return;
  for (const Stream stream : {Stream::Stdout, Stream::Stderr})
    pipes.demux[index(stream)].flush([&](std::string_view text) { onPlainOutput(w, stream, text); });
}

// Output a worker wrote at the file-descriptor level (C code, child processes): it belongs to
// the exec running when it is read, the oldest one the worker has not answered (execs run one
// at a time, in order).
void OutputRouter::onPlainOutput(Worker& w, Stream stream, std::string_view bytes) {
  std::string text = pipesOf(w).decoders[index(stream)].decode(bytes);
  if (text.empty()) return;
  if (!live(w)) {
    spdlog::debug("worker {} wrote {} bytes nobody owns", w.id, text.size());
    return;
  }
  sendOutput(w, ownerOf(w, std::nullopt), stream, std::move(text));
}

// One frame of the fd 1 pipe. False: stop reading here (an exec's start waits for the answer
// of the exec before it, or the worker broke the rules).
bool OutputRouter::onFrame(Worker& w, char kind, std::string_view owner, std::string_view payload) {
  Pipes& pipes = pipesOf(w);
  if (kind == kStdoutText || kind == kStderrText) {
    std::optional<std::int64_t> seq;
    if (!parseFrameOwner(owner, seq)) {
      breakLink(w, "an output frame with a bad owner");
      return false;
    }
    if (live(w))
      sendOutput(w, seq ? ownerOf(w, seq) : std::nullopt, kind == kStdoutText ? Stream::Stdout : Stream::Stderr,
                 support::toValidUtf8(payload));
    return true;
  }
  if (kind == kMessagePart) {
    if (pipes.message.size() + payload.size() > kMaxWorkerMessage) {
      breakLink(w, "a message over " + std::to_string(kMaxWorkerMessage >> 20) + " MiB");
      return false;
    }
    pipes.message.append(payload);
    return true;
  }
  if (kind != kMessageLast) {
    breakLink(w, std::string("a frame of unknown kind ") + std::to_string(static_cast<unsigned char>(kind)));
    return false;
  }
  if (pipes.message.size() + payload.size() > kMaxWorkerMessage) {
    breakLink(w, "a message over " + std::to_string(kMaxWorkerMessage >> 20) + " MiB");
    return false;
  }
  std::string body = std::move(pipes.message);
  pipes.message.clear();
  body.append(payload);
  if (onMessage(w, body)) return true;
  if (!pipes.broken) {  // held: read again, whole, when resumed
    body.resize(body.size() - payload.size());
    pipes.message = std::move(body);
  }
  return false;
}

// A JSON notification of the worker link from the frames: the client's parser (nesting bound)
// and the link schema's structs, or the worker is broken.
bool OutputRouter::onMessage(Worker& w, std::string_view body) {
  auto decoded = decodeFramedMessage(body);
  if (const auto* why = std::get_if<std::string>(&decoded)) {
    breakLink(w, *why);
    return false;
  }
  return std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, link::ExecStartParams>) {
          if (hooks_.started && !hooks_.started(w, p)) {
            pipesOf(w).held = true;
            return false;
          }
        } else if constexpr (std::is_same_v<P, link::DisplayParams>) {
          onDisplay(w, p);
        } else if constexpr (std::is_same_v<P, link::ClearOutputParams>) {
          onClearOutput(w, p);
        } else {
          onTaskError(w, p);
        }
        return true;
      },
      std::get<FramedMessage>(decoded));
}

void OutputRouter::breakLink(Worker& w, const std::string& why) {
  Pipes& pipes = pipesOf(w);
  if (pipes.broken) return;
  pipes.broken = true;
  pipes.message.clear();
  if (hooks_.broken) hooks_.broken(w, why);
}

namespace {

// What every notification of a worker's output names: its session, and the exec (request
// id, count, tag) that owns it, from the supervisor's own records.
template <typename P>
void stampOwner(P& p, const std::string& session, const std::optional<ExecQueue::Owner>& owner) {
  p.session = session;
  p.requestId = owner ? owner->requestId : Json(nullptr);
  p.execCount = owner ? owner->execCount : std::nullopt;
  if (owner) p.tag = owner->tag;
}

}  // namespace

void OutputRouter::sendOutput(Worker& w, const std::optional<ExecQueue::Owner>& owner, Stream stream, std::string text) {
  if (text.empty()) return;
  protocol::OutputParams p{};
  stampOwner(p, w.session, owner);
  p.stream = stream;
  p.text = std::move(text);
  p.seq = nextSeq(w);
  send(rpc::serializeNotification(protocol::methods::output.method, Json(p)));
}

void OutputRouter::onDisplay(Worker& w, const link::DisplayParams& p) {
  if (!live(w) || !validMimeBundle(p.data)) return;
  const auto owner = p.seq ? ownerOf(w, p.seq) : std::nullopt;
  protocol::DisplayParams d{};
  stampOwner(d, w.session, owner);
  d.data = p.data;
  d.seq = nextSeq(w);
  d.displayId = p.displayId;
  d.update = p.update;
  if (p.metadata && p.metadata->is_object()) d.metadata = p.metadata;
  send(rpc::serializeNotification(protocol::methods::display.method, Json(d)));
}

void OutputRouter::onClearOutput(Worker& w, const link::ClearOutputParams& p) {
  if (!live(w)) return;
  const auto owner = p.seq ? ownerOf(w, p.seq) : std::nullopt;
  protocol::ClearOutputParams c{};
  stampOwner(c, w.session, owner);
  c.wait = p.wait;
  c.seq = nextSeq(w);
  send(rpc::serializeNotification(protocol::methods::clearOutput.method, Json(c)));
}

void OutputRouter::onTaskError(Worker& w, const link::TaskErrorParams& p) {
  if (!live(w)) return;
  const auto owner = p.seq ? ownerOf(w, p.seq) : std::nullopt;
  protocol::TaskErrorParams t{};
  stampOwner(t, w.session, owner);
  t.error = p.error;
  send(rpc::serializeNotification(protocol::methods::taskError.method, Json(t)));
}

void OutputRouter::send(std::string_view body) {
  if (!client_.canWrite()) return;
  client_.send(body);
  if (!outputPaused_ && client_.pendingBytes() > kClientHighWater) {
    outputPaused_ = true;
    pool_.pauseOutput();
  }
  if (!clientPaused_ && client_.pendingBytes() > kClientHardLimit) {
    clientPaused_ = true;
    client_.pauseReading();
  }
}

void OutputRouter::onClientWritten() {
  const std::size_t pending = client_.pendingBytes();
  if (outputPaused_ && pending < kClientLowWater) {
    outputPaused_ = false;
    pool_.resumeOutput();
  }
  if (clientPaused_ && pending < kClientHighWater) {
    clientPaused_ = false;
    client_.resumeReading();
  }
}

}  // namespace asyncode::daemon
