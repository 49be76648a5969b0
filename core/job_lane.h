// A direct line between a sender of jobs and the engine's main thread: the main thread
// reads jobs from it and answers them on it, with no other thread in between (the
// daemon's worker link for execs: two thread wake-ups fewer per exec).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "core/types.h"

namespace asyncode::core {

class JobLane {
 public:
  virtual ~JobLane() = default;
  // Turns readable when jobs may be read.
  [[nodiscard]] virtual int fd() const = 0;
  // Reads what is there now (never blocks) and appends every whole job to `out`.
  virtual void read(std::deque<Job>& out) = 0;
  // Answers; each blocks until written. Called on the main thread without the GIL.
  virtual void execStarted(std::uint64_t seq, std::optional<int> count) = 0;
  virtual void execDone(const ExecOutcome& outcome) = 0;
  virtual void execCancelled(std::uint64_t seq) = 0;  // removed before it ran
  virtual void jobDone(std::uint64_t seq, const std::optional<std::string>& error) = 0;
};

}  // namespace asyncode::core
