// The engine's values, in plain C++: what the daemon turns into the wire's JSON.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace asyncode::core {

enum class Mode { Cell, Interactive, Module };

// ---- compile ------------------------------------------------------------------------
enum class CompileStatus { Complete, Incomplete, Invalid };

struct SyntaxErrorInfo {
  std::string type;  // SyntaxError, IndentationError, TabError
  std::string message;
  int line = 1;      // from 1
  int column = 0;    // code points from 0
  std::optional<int> endLine = std::nullopt;
  std::optional<int> endColumn = std::nullopt;
};

struct CompileResult {
  CompileStatus status = CompileStatus::Complete;
  bool needsAwait = false;
  std::optional<std::string> indent;  // when incomplete
  std::optional<SyntaxErrorInfo> error;  // when invalid
};

// ---- results and errors -------------------------------------------------------------
struct MimeItem {
  std::string mime;
  std::string data;   // text, base64 for binary types, or JSON text when `json`
  bool json = false;
};
using MimeBundle = std::vector<MimeItem>;

struct TracebackFrame {
  std::string filename;
  int line = 0;
  std::string name;
  std::optional<std::string> source;
  // Where the failing expression is (code positions), columns in the exec's position unit.
  std::optional<int> column = std::nullopt;
  std::optional<int> endLine = std::nullopt;
  std::optional<int> endColumn = std::nullopt;
};

struct ErrorInfo {
  std::string type;
  std::string message;
  std::vector<TracebackFrame> traceback;
  std::string formatted;
  // Where the exec's own code failed to compile (a SyntaxError of the exec).
  std::optional<int> line = std::nullopt;
  std::optional<int> column = std::nullopt;
  std::optional<int> endLine = std::nullopt;
  std::optional<int> endColumn = std::nullopt;
};

// ---- exec ---------------------------------------------------------------------------
// Whom output belongs to: the daemon's tag for an exec (its seq, as decimal text) and
// the exec's count. Shared by every chunk that exec (and the tasks it started) writes.
struct Owner {
  std::string tag;
  std::optional<int> execCount;
};
using OwnerPtr = std::shared_ptr<const Owner>;

struct ExecRequest {
  std::uint64_t seq = 0;       // the daemon's number for this exec; interrupts name it
  std::string code;
  Mode mode = Mode::Cell;
  std::optional<std::string> filename;
  int firstLine = 1;                         // the line of `filename` on which `code` starts
  std::string positionEncoding = "utf-32";  // the unit of the columns of its ErrorInfo
  bool silent = false;
  std::string ownerTag;
  bool announceStart = false;  // tell the reader at once when it starts (it has a timeout)
};

// The terminal the client shows the session's output on (its size; whether it is a tty).
struct TerminalInfo {
  int columns = 80;
  int rows = 24;
  bool isatty = false;
};

struct ConfigureRequest {
  std::string backend = "asyncio";
  bool syncInLoop = false;
  std::optional<std::string> cwd;
  bool input = false;  // the client answers input requests
  std::optional<TerminalInfo> terminal;
  bool stdinStream = false;  // sys.stdin is the byte stream on fd 0 (session/open's stdinStream)
};

// What the engine's main thread does, in order.
struct Job {
  // Terminal: the client's terminal, in order with the execs (takeJob keeps it; Python never
  // sees the job).
  enum class Kind { Exec, Reset, Configure, Preload, Shutdown, Terminal } kind = Kind::Exec;
  std::uint64_t seq = 0;  // execs: ExecRequest::seq; reset and configure: an answer's key
  ExecRequest exec;
  ConfigureRequest configure;
  TerminalInfo terminal;
};

enum class ExecStatus { Ok, Error, Interrupted, Timeout };
enum class InterruptHow { None, Cancelled, KeyboardInterrupt, TaskInterrupted };
enum class InterruptReason { Interrupt, Timeout };
// What asks the client for a line: input() or sys.stdin, getpass(), or pdb at its prompt.
enum class InputKind { Input, Password, Debugger };

struct ExecOutcome {
  std::uint64_t seq = 0;
  std::optional<int> execCount;  // absent for silent execs
  ExecStatus status = ExecStatus::Ok;
  std::optional<MimeBundle> result;
  std::optional<ErrorInfo> error;
  double durationMs = 0;
  bool awaited = false;
  InterruptHow how = InterruptHow::None;  // how an interrupt reached it, if one did
};

// ---- introspection ------------------------------------------------------------------
struct Completion {
  std::string text;
  std::optional<std::string> type;
};
struct CompleteResult {
  std::vector<Completion> matches;
  std::int64_t cursorStart = 0;
  std::int64_t cursorEnd = 0;
  bool timedOut = false;  // the session's code did not let it finish in time: no matches
};
struct InspectResult {
  bool found = false;
  MimeBundle data;
  bool timedOut = false;  // the session's code did not let it finish in time: not found
};
struct Variable {
  std::string name;
  std::string type;
  std::string repr;
  std::int64_t ref = 0;  // non-zero: it has children, listed with this ref
  std::optional<std::int64_t> length = std::nullopt;
  std::optional<std::string> shape = std::nullopt;
};
struct VariablesPage {
  std::vector<Variable> variables;
  std::int64_t total = 0;
  std::optional<std::string> invalid = std::nullopt;  // why the request cannot be answered (a stale ref)
};

}  // namespace asyncode::core
