// The protocol as the terminal client sees it: the types generated from
// schema/protocol.schema.json (protocol/protocol.h, shared with the daemon), the methods by
// their descriptors (`methods::exec`), and the few views of them the client reads. Nothing of
// the wire is written out here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/protocol.h"
#include "rpc/peer.h"

namespace asyncode::cli {

using rpc::Answer;
using rpc::Json;
namespace methods = protocol::methods;

using protocol::CancelRequestParams;
using protocol::CompileParams;
using protocol::CompileResult;
using protocol::CompileStatus;
using protocol::CompleteParams;
using protocol::CompleteResult;
using protocol::DisplayParams;
using protocol::ErrorInfo;
using protocol::ExecParams;
using protocol::ExecResult;
using protocol::ExecStatus;
using protocol::InitializeParams;
using protocol::InitializeResult;
using protocol::InputKind;
using protocol::InputParams;
using protocol::InputResult;
using protocol::InterruptParams;
using protocol::InterruptResult;
using protocol::Mode;
using protocol::OutputParams;
using protocol::SessionOpenParams;
using protocol::SessionOpenResult;
using protocol::SessionState;
using protocol::StatusParams;
using protocol::StdinReadParams;
using protocol::StdinReadResult;

// The user code's stdout and stderr, as the console writes them.
enum class Stream { out, err };
inline Stream consoleStream(protocol::Stream s) { return s == protocol::Stream::Stdout ? Stream::out : Stream::err; }

// The text/plain entry of a MimeBundle.
inline std::optional<std::string> plainText(const std::optional<protocol::MimeBundle>& bundle) {
  if (!bundle || !bundle->is_object()) return std::nullopt;
  const auto it = bundle->find("text/plain");
  if (it == bundle->end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// The texts of completion matches.
inline std::vector<std::string> matchTexts(const CompleteResult& r) {
  std::vector<std::string> out;
  for (const auto& m : r.matches) out.push_back(m.text);
  return out;
}

}  // namespace asyncode::cli
