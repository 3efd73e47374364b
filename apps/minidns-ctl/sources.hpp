#pragma once
/// Where the casts minidns-ctl sends come from: the command line (one cast)
/// or a batch file or stdin (one cast per line, streamed).

#include "apps/minidns-ctl/common.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::ctl {

/// Builds a cast from a command and its arguments: the command line
/// (`allow_params` false) or a batch line (the three numbers may follow,
/// and delay=S and transport=udp|tcp anywhere after ZONE, over the
/// defaults). Throws usage_error.
cast_spec make_cast(const std::vector<std::string_view>& words,
                    const cast_params& defaults, bool allow_params);

/// The casts to send, one at a time.
class cast_source {
public:
  virtual ~cast_source() = default;
  /// The next cast when one is ready; nullopt when none is ready yet or
  /// none is left (then done() is true).
  virtual std::optional<cast_spec> next() = 0;
  /// No cast is left.
  virtual bool done() const = 0;
  /// A descriptor to poll for reading before next() can make progress, or
  /// -1.
  virtual int wait_fd() const { return -1; }
  /// Call when wait_fd() is readable.
  virtual void on_readable() {}
  /// Set when the input turned out bad while streaming (a usage error).
  virtual const std::string& error() const = 0;
};

/// A single cast from the command line.
class single_source : public cast_source {
public:
  /// The source of just `c`.
  explicit single_source(cast_spec c) : cast_(std::move(c)) {}
  std::optional<cast_spec> next() override;
  bool done() const override { return !cast_; }
  const std::string& error() const override { return error_; }

private:
  std::optional<cast_spec> cast_;
  std::string error_;
};

/// A batch, opened: its source, or the problems found in it.
struct batch_input {
  /// The casts, streamed line by line; null when `problems` is not empty.
  std::unique_ptr<cast_source> source;
  /// Bad lines of a regular file (at most 10, then a count), each naming
  /// the file and line; such a file sends nothing.
  std::vector<std::string> problems;
};

/// Opens the batch FILE, or stdin for "-". A regular file is read through
/// once first, so that a file with a bad line sends nothing; pipes and
/// terminals are streamed, and a bad line ends them (cast_source::error).
/// Throws usage_error when FILE cannot be opened.
batch_input open_batch(const std::string& path, const cast_params& defaults);

} // namespace minidns::ctl
