#include "apps/minidns-ctl/sources.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace minidns::ctl {
namespace {

namespace msg = minidns::messages;

/// Batch lines longer than this are refused.
constexpr size_t max_line_bytes = size_t{1} << 20;
/// Bad batch lines listed before giving up on a file.
constexpr int max_reported_lines = 10;

/// Parses one batch line. Nullopt for blank lines and comments; throws
/// usage_error (without the line number) for a bad line.
std::optional<cast_spec> parse_line(std::string_view line,
                                    const cast_params& defaults) {
  std::vector<std::string_view> words;
  const char* blanks = " \t\r\n\v\f";
  size_t pos = line.find_first_not_of(blanks);
  if (pos == std::string_view::npos || line[pos] == '#')
    return std::nullopt;
  while (pos != std::string_view::npos) {
    size_t end = line.find_first_of(blanks, pos);
    words.push_back(line.substr(pos, end == std::string_view::npos
                                         ? std::string_view::npos
                                         : end - pos));
    pos = line.find_first_not_of(blanks, end);
  }
  return make_cast(words, defaults, true);
}

/// Reads lines from a file descriptor. On pipes and terminals it reads only
/// when told to (after poll said readable), so the event loop never blocks.
class line_reader {
public:
  explicit line_reader(int fd) : fd_(fd) {}

  /// The next complete line (without '\n'), or the unterminated last line
  /// at end of file. Nullopt when no line is buffered. Throws usage_error
  /// for a line longer than max_line_bytes.
  std::optional<std::string> next() {
    size_t nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
      if (buf_.size() - pos_ > max_line_bytes)
        throw usage_error("longer than " + std::to_string(max_line_bytes) +
                          " bytes");
      if (!eof_ || pos_ == buf_.size())
        return std::nullopt;
      nl = buf_.size();
    }
    std::string line = buf_.substr(pos_, nl - pos_);
    pos_ = std::min(nl + 1, buf_.size());
    return line;
  }

  /// Reads once; may block unless poll said the descriptor is readable.
  void fill() {
    if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        throw std::runtime_error(std::string("read: ") + std::strerror(errno));
      if (n == 0)
        eof_ = true;
      buf_.append(chunk, static_cast<size_t>(n));
      return;
    }
  }

  bool eof() const { return eof_; }

private:
  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

/// A batch file or stdin, streamed line by line.
class batch_source : public cast_source {
public:
  /// Reads `fd`, and closes it at the end when `owns_fd`. `blocking_ok` for
  /// regular files: reads need no poll.
  batch_source(int fd, bool owns_fd, std::string name, cast_params defaults,
               bool blocking_ok)
      : reader_(fd), fd_(fd), owns_fd_(owns_fd), name_(std::move(name)),
        defaults_(defaults), blocking_ok_(blocking_ok) {}
  ~batch_source() override {
    if (owns_fd_)
      ::close(fd_);
  }
  batch_source(const batch_source&) = delete;
  batch_source& operator=(const batch_source&) = delete;

  std::optional<cast_spec> next() override {
    while (!done_) {
      std::optional<std::string> line;
      try {
        line = reader_.next();
      } catch (const usage_error& e) {
        fail(line_no_ + 1, e.what());
        return std::nullopt;
      }
      if (!line) {
        if (reader_.eof()) {
          done_ = true;
          return std::nullopt;
        }
        if (!blocking_ok_) {
          readable_ = false;
          return std::nullopt;
        }
        reader_.fill();
        continue;
      }
      ++line_no_;
      try {
        if (auto c = parse_line(*line, defaults_))
          return c;
      } catch (const usage_error& e) {
        fail(line_no_, e.what());
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  bool done() const override { return done_; }
  int wait_fd() const override {
    return done_ || blocking_ok_ || readable_ ? -1 : fd_;
  }
  void on_readable() override {
    reader_.fill();
    readable_ = true;
  }
  const std::string& error() const override { return error_; }

private:
  void fail(uint64_t line, const std::string& what) {
    error_ = name_ + ", line " + std::to_string(line) + ": " + what;
    done_ = true;
  }

  line_reader reader_;
  int fd_;
  bool owns_fd_;
  std::string name_;
  cast_params defaults_;
  bool blocking_ok_;
  uint64_t line_no_ = 0;
  bool done_ = false;
  bool readable_ = false;
  std::string error_;
};

/// Reads a regular file through once and lists its bad lines (at most
/// max_reported_lines, then a count), so a bad file sends nothing.
std::vector<std::string> check_file(int fd, const std::string& name,
                                    const cast_params& defaults) {
  std::vector<std::string> problems;
  uint64_t bad = 0;
  uint64_t line_no = 0;
  line_reader reader(fd);
  for (;;) {
    std::optional<std::string> line;
    try {
      line = reader.next();
    } catch (const usage_error& e) {
      // A line too long to buffer: nothing after it can be read sensibly.
      problems.push_back(name + ", line " + std::to_string(line_no + 1) + ": " +
                         e.what());
      return problems;
    }
    if (!line) {
      if (reader.eof())
        break;
      reader.fill();
      continue;
    }
    ++line_no;
    try {
      parse_line(*line, defaults);
    } catch (const usage_error& e) {
      if (++bad <= static_cast<uint64_t>(max_reported_lines))
        problems.push_back(name + ", line " + std::to_string(line_no) + ": " +
                           e.what());
    }
  }
  if (bad > static_cast<uint64_t>(max_reported_lines))
    problems.push_back(name + ": " + std::to_string(bad) + " bad lines in all");
  return problems;
}

// ---------------------------------------------------------------------------

} // namespace

/// Builds a cast from a command and its arguments: the command line
/// (`allow_params` false) or a batch line (the three numbers may follow, and
/// KEY=VALUE words delay=S and transport=udp|tcp).
cast_spec make_cast(const std::vector<std::string_view>& all_words,
                    const cast_params& defaults, bool allow_params) {
  const std::string_view cmd = all_words.at(0);
  cast_spec c;
  c.params = defaults;
  size_t fixed = 0;
  const char* synopsis = "";
  if (cmd == "notify") {
    c.kind = msg::method::notify_zone_changed;
    fixed = 2;
    synopsis = allow_params ? "notify ZONE DESTINATION [TIMEOUT RETRY_INTERVAL "
                              "MAX_RETRIES] [delay=S] [transport=udp|tcp]"
                            : "notify ZONE DESTINATION";
  } else if (cmd == "poll") {
    c.kind = msg::method::poll_for_serial_number;
    fixed = 3;
    synopsis = allow_params ? "poll ZONE SERIAL DESTINATION[,DESTINATION...] "
                              "[TIMEOUT RETRY_INTERVAL MAX_RETRIES] [delay=S] "
                              "[transport=udp|tcp] [threshold=N] "
                              "[expect=serial|absent]"
                            : "poll ZONE SERIAL DESTINATION[,DESTINATION...]";
  } else if (cmd == "serial") {
    c.kind = msg::method::get_serial_number;
    fixed = 2;
    synopsis = allow_params ? "serial ZONE DESTINATION [TIMEOUT "
                              "RETRY_INTERVAL MAX_RETRIES] [delay=S] "
                              "[transport=udp|tcp]"
                            : "serial ZONE DESTINATION";
  } else if (cmd == "cancel") {
    // A cancel ends casts of its own connection: those of this batch.
    if (!allow_params)
      throw usage_error("cancel: only in a batch, where it ends a cast sent "
                        "before it on the same connection");
    c.kind = msg::method::cancel;
    if (all_words.size() != 2)
      throw usage_error("usage: cancel N (N: the cast's number in this batch, "
                        "from 1)");
    auto n = parse_uint(all_words[1], UINT64_MAX);
    if (!n || *n == 0)
      throw usage_error("cancel N: not a cast number (1, 2, ...): " +
                        quote_arg(all_words[1]));
    c.cancel_id = *n;
    return c;
  } else {
    throw usage_error("unknown command " + quote_arg(cmd) +
                      (allow_params
                           ? " (expected notify, poll, serial or cancel)"
                           : " (expected notify, poll, serial or batch)"));
  }
  // A batch line's KEY=VALUE words: after ZONE, where no other word has an
  // '=' (SERIAL, DESTINATION and the numbers cannot).
  std::vector<std::string_view> words;
  std::vector<std::string_view> seen_keys;
  const bool poll = c.kind == msg::method::poll_for_serial_number;
  for (size_t i = 0; i < all_words.size(); ++i) {
    const std::string_view w = all_words[i];
    const size_t eq = w.find('=');
    if (!allow_params || i < 2 || eq == std::string_view::npos) {
      words.push_back(w);
      continue;
    }
    const std::string_view key = w.substr(0, eq), value = w.substr(eq + 1);
    const bool known = key == "delay" || key == "transport" ||
                       (poll && (key == "threshold" || key == "expect"));
    if (!known)
      throw usage_error(
          "unknown key " + quote_arg(key) +
          (poll ? " (expected delay=S, transport=udp|tcp, threshold=N or "
                  "expect=serial|absent)"
                : " (expected delay=S or transport=udp|tcp)"));
    if (std::find(seen_keys.begin(), seen_keys.end(), key) != seen_keys.end())
      throw usage_error(std::string(key) + ": given twice");
    seen_keys.push_back(key);
    if (key == "delay")
      c.params.delay = delay_arg(key, value);
    else if (key == "transport")
      c.params.transport = transport_arg(key, value);
    else if (key == "threshold")
      c.params.threshold = threshold_arg(key, value);
    else
      c.params.expect = expect_arg(key, value);
  }
  size_t args = words.size() - 1;
  if (args != fixed && !(allow_params && args == fixed + 3))
    throw usage_error("usage: " + std::string(synopsis) + " (got " +
                      std::to_string(args) + " argument" +
                      (args == 1 ? "" : "s") + ")");
  c.zone = std::string(words[1]);
  size_t next = 2;
  if (c.kind == msg::method::poll_for_serial_number)
    c.serial = uint32_arg("SERIAL", words[next++]);
  c.destination = std::string(words[next++]);
  if (args == fixed + 3) {
    c.params.timeout = seconds_arg("TIMEOUT", words[next++]);
    c.params.retry_interval = seconds_arg("RETRY_INTERVAL", words[next++]);
    c.params.max_retries = uint32_arg("MAX_RETRIES", words[next++]);
  }
  return c;
}

std::optional<cast_spec> single_source::next() {
  if (!cast_)
    return std::nullopt;
  auto c = std::move(cast_);
  cast_.reset();
  return c;
}

batch_input open_batch(const std::string& path, const cast_params& defaults) {
  const bool is_stdin = path == "-";
  const std::string name = is_stdin ? "stdin" : "batch file " + quote_arg(path);
  int fd = STDIN_FILENO;
  if (!is_stdin) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw usage_error("batch FILE: cannot open " + quote_arg(path) + ": " +
                        std::strerror(errno));
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const off_t start = regular ? ::lseek(fd, 0, SEEK_CUR) : -1;
  const bool checked = regular && start >= 0;
  batch_input in;
  // Owns the descriptor from here on.
  in.source =
      std::make_unique<batch_source>(fd, !is_stdin, name, defaults, checked);
  if (checked) {
    // A file is checked whole first: a bad line sends nothing.
    in.problems = check_file(fd, name, defaults);
    if (!in.problems.empty()) {
      in.source.reset();
      return in;
    }
    if (::lseek(fd, start, SEEK_SET) != start)
      throw std::runtime_error(name +
                               ": cannot rewind: " + std::strerror(errno));
  }
  return in;
}

} // namespace minidns::ctl
