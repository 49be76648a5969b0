#include "daemon/output_router.h"

#include <spdlog/spdlog.h>

namespace asyncode::daemon {

namespace link = protocol::link;
using protocol::Stream;

namespace {

std::size_t index(Stream s) { return s == Stream::Stdout ? 0 : 1; }

}  // namespace

OutputRouter::OutputRouter(rpc::Peer& client, WorkerPool& pool, const ClientState& state, OwnerOf ownerOf)
    : client_(client), pool_(pool), state_(state), ownerOf_(std::move(ownerOf)) {}

OutputRouter::Pipes& OutputRouter::pipesOf(const Worker& w) {
  auto it = pipes_.find(w.id);
  if (it == pipes_.end()) it = pipes_.emplace(w.id, Pipes(w.magic)).first;
  return it->second;
}

void OutputRouter::bind(Worker& w) {
  auto& d = w.handle->control().dispatcher();
  d.bind(link::methods::output, [this, &w](const link::OutputParams& p) {
    if (w.retired || w.session.empty() || !state_.open()) return;
    sendOutput(protocol::OutputParams{w.session, p.requestId, p.execCount, p.stream, p.text});
  });
  d.bind(link::methods::display, [this, &w](const link::DisplayParams& p) {
    if (w.retired || w.session.empty() || !state_.open()) return;
    send(rpc::serializeNotification(protocol::methods::display.method,
                                    rpc::Json(protocol::DisplayParams{w.session, p.requestId, p.execCount, p.data})));
  });
}

void OutputRouter::onOutput(Worker& w, Stream stream, std::string_view bytes) {
  pipesOf(w).demux[index(stream)].feed(
      bytes, [&](std::string_view text) { onPlainOutput(w, stream, text); },
      [&](char kind, std::string_view owner, std::string_view payload) { onFrame(w, stream, kind, owner, payload); });
}

void OutputRouter::drain(Worker& w) {
  w.handle->drainOutput(kDrainLimit);
  Pipes& pipes = pipesOf(w);
  for (const Stream stream : {Stream::Stdout, Stream::Stderr})
    pipes.demux[index(stream)].flush([&](std::string_view text) { onPlainOutput(w, stream, text); });
}

// Output a worker wrote at the file-descriptor level (C code, child processes): it belongs to
// the exec running when it is read, the oldest one the worker has not answered (execs run one
// at a time, in order).
void OutputRouter::onPlainOutput(Worker& w, Stream stream, std::string_view bytes) {
  std::string text = pipesOf(w).decoders[index(stream)].decode(bytes);
  if (text.empty()) return;
  if (w.session.empty() || !state_.open()) {
    spdlog::debug("worker {} wrote {} bytes nobody owns", w.id, text.size());
    return;
  }
  const auto owner = ownerOf_(w);
  sendOutput(protocol::OutputParams{w.session, owner ? owner->requestId : rpc::Json(nullptr),
                                    owner ? owner->execCount : std::nullopt, stream, std::move(text)});
}

// Python-level output and displays, framed with their owner: `[requestId, execCount]`.
void OutputRouter::onFrame(Worker& w, Stream stream, char kind, std::string_view owner, std::string_view payload) {
  if (w.session.empty() || !state_.open() || w.retired) return;
  rpc::Json requestId = nullptr;
  std::optional<std::int64_t> execCount;
  if (!owner.empty()) {
    const auto o = rpc::parseJson(owner);
    if (o && o->is_array() && o->size() == 2) {
      requestId = (*o)[0];
      if ((*o)[1].is_number_integer()) execCount = (*o)[1].get<std::int64_t>();
    }
  }
  if (kind == 'o') return sendOutput(protocol::OutputParams{w.session, std::move(requestId), execCount, stream,
                                                            std::string(payload)});
  if (kind != 'd' && kind != 'D') return;
  std::string& parts = pipesOf(w).displayParts[index(stream)];
  parts.append(payload);
  if (kind == 'd') return;
  auto data = rpc::parseJson(parts);
  parts.clear();
  if (!data) return;
  send(rpc::serializeNotification(
      protocol::methods::display.method,
      rpc::Json(protocol::DisplayParams{w.session, std::move(requestId), execCount, std::move(*data)})));
}

void OutputRouter::sendOutput(protocol::OutputParams params) {
  send(rpc::serializeNotification(protocol::methods::output.method, rpc::Json(params)));
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
