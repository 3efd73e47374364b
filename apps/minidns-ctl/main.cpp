/// minidns-ctl: the command-line pool manager of minidns. Sends notify and
/// poll casts to minidns over a ZeroMQ DEALER (docs/protocol.md) and prints
/// every reply as one line of JSON on stdout.
///
/// Exit codes: 0 every poll ended SUCCESS and no error reply came; 1 an
/// ERROR, an error reply or a client-side timeout; 2 a usage error; 3
/// minidns could not be reached at all.

#include "messages/cast.hpp"
#include "net/keys.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>
#include <zmq.hpp>

namespace {

namespace msg = minidns::messages;
namespace net = minidns::net;
using clock_type = std::chrono::steady_clock;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

/// Added to every poll's client-side deadline: time a cast may spend queued
/// in ZeroMQ and in minidns before minidns works on it.
constexpr double queueing_margin_seconds = 5;
/// Client-side deadlines are capped here (about 31 years) to stay far from
/// overflowing the clock; minidns refuses such casts at once anyway.
constexpr double max_deadline_seconds = 1e9;
/// ZeroMQ linger at exit while minidns is connected: casts still queued
/// locally get this long to leave.
constexpr int linger_ms = 2000;
/// Messages moved per wake-up before the loop looks at everything else.
constexpr int burst = 256;
/// Batch lines longer than this are refused.
constexpr size_t max_line_bytes = size_t{1} << 20;
/// Bad batch lines listed before giving up on a file.
constexpr int max_reported_lines = 10;

constexpr const char* usage_text =
    R"(Usage: minidns-ctl [OPTIONS] COMMAND ARGS

Sends casts to minidns and prints every reply as one line of JSON.

Commands:
  notify ZONE DESTINATION
  poll ZONE SERIAL DESTINATION
  batch FILE        FILE or '-' for stdin; one cast per line:
                      notify ZONE DESTINATION [TIMEOUT RETRY_INTERVAL MAX_RETRIES]
                      poll ZONE SERIAL DESTINATION [TIMEOUT RETRY_INTERVAL MAX_RETRIES]
                    blank lines and lines starting with '#' are skipped
  keygen PATH       writes a new CURVE key pair to PATH (mode 0600) and its
                    public key to PATH.pub; prints the public key

Options (before or after the command; --NAME=VALUE or --NAME VALUE):
  --endpoint=ENDPOINT    minidns ZeroMQ endpoint (default tcp://127.0.0.1:5358)
  --timeout=S            seconds per attempt (default 2)
  --retry-interval=S     seconds between attempts (default 1)
  --max-retries=N        resends after the first attempt (default 3)
  --grace=S              seconds to wait for error replies at the end (default 1)
  --window=N             polls awaiting a reply at once (default 1000)
  --progress=S           batch: a progress line on stderr every S seconds
                         (default 1 when stderr is a terminal, else 0: off)
  --curve-server-key=K   minidns's CURVE public key (Z85) or a file holding it
  --curve-key-file=FILE  this client's CURVE key pair (from keygen); both
                         CURVE options or neither
  --help                 show this text

ZONE, DESTINATION and the ranges of the numbers are checked by minidns, whose
error replies are printed like any other reply.

Exit status: 0 all polls SUCCESS and no error reply; 1 an ERROR, an error
reply or a client-side timeout; 2 usage error; 3 minidns not reachable.
)";

/// A usage error; its message names the argument. Exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The numeric fields of a cast.
struct cast_params {
  double timeout = 2;        ///< seconds per attempt
  double retry_interval = 1; ///< seconds between attempts
  uint32_t max_retries = 3;  ///< resends after the first attempt
};

/// One cast to send, as the user wrote it.
struct cast_spec {
  msg::method kind = msg::method::notify_zone_changed;
  std::string zone;
  std::optional<uint32_t> serial; ///< polls only
  std::string destination;
  cast_params params;
};

/// The command line.
struct options {
  std::string endpoint = "tcp://127.0.0.1:5358";
  cast_params params;
  double grace = 1;
  uint64_t window = 1000;
  std::optional<double> progress; ///< seconds between progress lines
  std::string curve_server_key; ///< Z85; empty: no CURVE
  net::key_pair curve_keys;     ///< this client's, with curve_server_key
  bool help = false;
  std::vector<std::string> positional; ///< the command and its arguments
};

// ---------------------------------------------------------------------------
// Numbers and text

std::string quote_arg(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (s.size() > 64)
    out += "...";
  return out + "'";
}

/// A finite decimal number (no sign restriction: ranges are minidns's).
std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end || !std::isfinite(v))
    return std::nullopt;
  return v;
}

/// A decimal integer in 0..max.
std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) {
  uint64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end || v > max)
    return std::nullopt;
  return v;
}

double seconds_arg(std::string_view name, std::string_view value) {
  auto v = parse_double(value);
  if (!v)
    throw usage_error(std::string(name) +
                      ": not a finite number of seconds: " + quote_arg(value));
  return *v;
}

/// A client-side duration (--grace, --progress): 0..3600 seconds.
double client_seconds_arg(std::string_view name, std::string_view value) {
  auto v = parse_double(value);
  if (!v || *v < 0 || *v > 3600)
    throw usage_error(std::string(name) +
                      ": not a number of seconds in 0..3600: " +
                      quote_arg(value));
  return *v;
}

uint32_t uint32_arg(std::string_view name, std::string_view value) {
  auto v = parse_uint(value, UINT32_MAX);
  if (!v)
    throw usage_error(std::string(name) +
                      ": not an integer in 0..4294967295: " + quote_arg(value));
  return static_cast<uint32_t>(*v);
}

/// Seconds for people: at most 3 decimals, no trailing zeros.
std::string format_seconds(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  std::string out = buf;
  while (!out.empty() && out.back() == '0')
    out.pop_back();
  if (!out.empty() && out.back() == '.')
    out.pop_back();
  return out;
}

clock_type::duration to_duration(double seconds) {
  return std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(seconds));
}

/// How long minidns may take to end a cast, as seen from here:
/// (timeout + retry_interval) * (max_retries + 1) + grace + a margin.
double deadline_seconds(const cast_params& p, double grace) {
  double per_attempt =
      std::max(p.timeout, 0.0) + std::max(p.retry_interval, 0.0);
  double s = per_attempt * (static_cast<double>(p.max_retries) + 1) + grace +
             queueing_margin_seconds;
  return std::min(s, max_deadline_seconds);
}

/// The msgpack encoding of a non-negative integer, smallest form.
std::string msgpack_uint(uint64_t v) {
  std::string out;
  auto big_endian = [&](uint8_t tag, int bytes) {
    out += static_cast<char>(tag);
    for (int i = bytes - 1; i >= 0; --i)
      out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  if (v < 0x80)
    out += static_cast<char>(v);
  else if (v <= 0xff)
    big_endian(0xcc, 1);
  else if (v <= 0xffff)
    big_endian(0xcd, 2);
  else if (v <= 0xffffffff)
    big_endian(0xce, 4);
  else
    big_endian(0xcf, 8);
  return out;
}

/// Reads back a non-negative msgpack integer (the echoed request_id).
std::optional<uint64_t> read_msgpack_uint(std::string_view raw) {
  if (raw.empty())
    return std::nullopt;
  auto b = static_cast<uint8_t>(raw[0]);
  if (raw.size() == 1 && b < 0x80)
    return b;
  int bytes = 0;
  bool is_signed = false;
  switch (b) {
  case 0xcc:
    bytes = 1;
    break;
  case 0xcd:
    bytes = 2;
    break;
  case 0xce:
    bytes = 4;
    break;
  case 0xcf:
    bytes = 8;
    break;
  case 0xd0:
    bytes = 1, is_signed = true;
    break;
  case 0xd1:
    bytes = 2, is_signed = true;
    break;
  case 0xd2:
    bytes = 4, is_signed = true;
    break;
  case 0xd3:
    bytes = 8, is_signed = true;
    break;
  default:
    return std::nullopt;
  }
  if (raw.size() != static_cast<size_t>(bytes) + 1)
    return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<uint8_t>(raw[1 + i]);
  if (is_signed && (static_cast<uint8_t>(raw[1]) & 0x80))
    return std::nullopt; // negative
  return v;
}

/// {"tool":"minidns-ctl"}, the context of every cast.
const std::string& tool_context() {
  // fixmap 1, fixstr 4 "tool", fixstr 11 "minidns-ctl"
  static const std::string raw = std::string{'\x81', '\xa4'} + "tool" +
                                 std::string{'\xab'} + "minidns-ctl";
  return raw;
}

// ---------------------------------------------------------------------------
// Command line

/// Reads a CURVE key file named by option `name`.
net::key_pair read_key_file(std::string_view name, std::string_view path,
                            bool need_secret) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in)
    throw usage_error(std::string(name) + ": cannot read " + quote_arg(path) +
                      ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  auto f = net::parse_key_file(text.str(), need_secret);
  if (!f.keys)
    throw usage_error(std::string(name) + ": " + quote_arg(path) + ": " +
                      f.error);
  return *f.keys;
}

/// Parses argv. Options may come before or after the command; "--" ends
/// them.
options parse_args(int argc, char** argv) {
  options opt;
  // --help wins over everything else on the line.
  for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i)
    if (std::string_view(argv[i]) == "--help" ||
        std::string_view(argv[i]) == "-h") {
      opt.help = true;
      return opt;
    }
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    bool looks_like_option = arg.size() > 1 && arg[0] == '-' &&
                             !(arg[1] >= '0' && arg[1] <= '9') && !options_done;
    if (!looks_like_option) {
      opt.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    static const char* const with_value[] = {
        "--endpoint",      "--timeout",          "--retry-interval",
        "--max-retries",   "--grace",            "--window",
        "--curve-server-key", "--curve-key-file", "--progress"};
    bool known = std::any_of(std::begin(with_value), std::end(with_value),
                             [&](const char* n) { return name == n; });
    if (!known)
      throw usage_error("unknown option " + quote_arg(name));
    if (!value) {
      if (i + 1 >= argc)
        throw usage_error(std::string(name) + ": needs a value");
      value = argv[++i];
    }
    if (name == "--endpoint") {
      if (value->empty())
        throw usage_error("--endpoint: empty");
      opt.endpoint = std::string(*value);
    } else if (name == "--timeout") {
      opt.params.timeout = seconds_arg(name, *value);
    } else if (name == "--retry-interval") {
      opt.params.retry_interval = seconds_arg(name, *value);
    } else if (name == "--max-retries") {
      opt.params.max_retries = uint32_arg(name, *value);
    } else if (name == "--grace") {
      opt.grace = client_seconds_arg(name, *value);
    } else if (name == "--window") {
      auto v = parse_uint(*value, 10'000'000);
      if (!v || *v == 0)
        throw usage_error("--window: not an integer in 1..10000000: " +
                          quote_arg(*value));
      opt.window = *v;
    } else if (name == "--progress") {
      opt.progress = client_seconds_arg(name, *value);
    } else if (name == "--curve-server-key") {
      if (net::is_z85_key(*value))
        opt.curve_server_key = std::string(*value);
      else
        opt.curve_server_key =
            read_key_file(name, *value, false).public_key;
    } else if (name == "--curve-key-file") {
      opt.curve_keys = read_key_file(name, *value, true);
    }
  }
  if (opt.curve_server_key.empty() != opt.curve_keys.public_key.empty())
    throw usage_error(opt.curve_server_key.empty()
                          ? "--curve-key-file: needs --curve-server-key"
                          : "--curve-server-key: needs --curve-key-file (the "
                            "client's key pair; see keygen)");
  return opt;
}

/// Writes a new CURVE key pair to `path` (0600, never over an existing
/// file) and the public key to `path`.pub. Returns the exit code.
int keygen(const std::string& path) {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    std::fprintf(stderr, "minidns-ctl: keygen: %s\n",
                 zmq_strerror(zmq_errno()));
    return exit_failure;
  }
  net::key_pair keys{pub, sec};
  auto write = [](const std::string& file, const std::string& text,
                  mode_t mode) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    mode);
    if (fd < 0)
      throw usage_error("keygen: cannot create " + quote_arg(file) + ": " +
                        std::strerror(errno));
    bool ok = ::write(fd, text.data(), text.size()) ==
              static_cast<ssize_t>(text.size());
    ok = ::close(fd) == 0 && ok;
    if (!ok)
      throw std::runtime_error("keygen: cannot write " + quote_arg(file));
  };
  write(path, net::format_key_file(keys), 0600);
  write(path + ".pub", net::format_key_file({keys.public_key, ""}), 0644);
  std::printf("%s\n", keys.public_key.c_str());
  return exit_ok;
}

/// Builds a cast from a command and its arguments: the command line
/// (`allow_params` false) or a batch line (the three numbers may follow).
cast_spec make_cast(const std::vector<std::string_view>& words,
                    const cast_params& defaults, bool allow_params) {
  const std::string_view cmd = words.at(0);
  cast_spec c;
  c.params = defaults;
  size_t fixed = 0;
  const char* synopsis = "";
  if (cmd == "notify") {
    c.kind = msg::method::notify_zone_changed;
    fixed = 2;
    synopsis = allow_params ? "notify ZONE DESTINATION [TIMEOUT RETRY_INTERVAL "
                              "MAX_RETRIES]"
                            : "notify ZONE DESTINATION";
  } else if (cmd == "poll") {
    c.kind = msg::method::poll_for_serial_number;
    fixed = 3;
    synopsis = allow_params ? "poll ZONE SERIAL DESTINATION [TIMEOUT "
                              "RETRY_INTERVAL MAX_RETRIES]"
                            : "poll ZONE SERIAL DESTINATION";
  } else {
    throw usage_error("unknown command " + quote_arg(cmd) +
                      (allow_params ? " (expected notify or poll)"
                                    : " (expected notify, poll or batch)"));
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

// ---------------------------------------------------------------------------
// Where casts come from

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
  explicit single_source(cast_spec c) : cast_(std::move(c)) {}
  std::optional<cast_spec> next() override {
    if (!cast_)
      return std::nullopt;
    auto c = std::move(cast_);
    cast_.reset();
    return c;
  }
  bool done() const override { return !cast_; }
  const std::string& error() const override { return error_; }

private:
  std::optional<cast_spec> cast_;
  std::string error_;
};

/// A batch file or stdin, streamed line by line.
class batch_source : public cast_source {
public:
  /// `blocking_ok` for regular files: reads need no poll.
  batch_source(int fd, std::string name, cast_params defaults, bool blocking_ok)
      : reader_(fd), fd_(fd), name_(std::move(name)), defaults_(defaults),
        blocking_ok_(blocking_ok) {}

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
// The conversation with minidns

/// Sends the casts, matches replies, keeps time.
class runner {
public:
  runner(const options& opt, cast_source& src, bool is_batch)
      : opt_(opt), src_(src), is_batch_(is_batch),
        sock_(ctx_, zmq::socket_type::dealer),
        monitor_(ctx_, zmq::socket_type::pair) {}

  /// Connects; a syntactically invalid endpoint is a usage error.
  void connect() {
    sock_.set(zmq::sockopt::linger, linger_ms);
    if (!opt_.curve_server_key.empty()) {
      sock_.set(zmq::sockopt::curve_serverkey, opt_.curve_server_key);
      sock_.set(zmq::sockopt::curve_publickey, opt_.curve_keys.public_key);
      sock_.set(zmq::sockopt::curve_secretkey, opt_.curve_keys.secret_key);
    }
    const char* monitor_addr = "inproc://minidns-ctl-monitor";
    if (zmq_socket_monitor(sock_.handle(), monitor_addr,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
      throw zmq::error_t();
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_addr);
    try {
      sock_.connect(opt_.endpoint);
    } catch (const zmq::error_t& e) {
      throw usage_error("--endpoint: cannot connect to " +
                        quote_arg(opt_.endpoint) + ": " + e.what());
    }
  }

  /// Runs until every cast is sent and answered (or timed out) and the
  /// grace time has passed. Returns the exit code.
  int run() {
    start_ = clock_type::now();
    last_progress_ = start_;
    double every = opt_.progress.value_or(::isatty(STDERR_FILENO) ? 1.0 : 0.0);
    if (is_batch_ && every > 0) {
      progress_every_ = std::chrono::duration_cast<clock_type::duration>(
          std::chrono::duration<double>(every));
      next_progress_ = start_ + progress_every_;
    }
    for (;;) {
      auto now = clock_type::now();
      expire_polls(now);

      bool blocked = false; // a cast waits for room in ZeroMQ
      bool more_now = false;
      for (int i = 0; i < burst; ++i) {
        if (!next_ && !stop_sending_)
          next_ = src_.next();
        if (!next_)
          break;
        if (next_->kind == msg::method::poll_for_serial_number &&
            pending_.size() >= opt_.window)
          break;
        if (!send_next(now)) {
          blocked = true;
          break;
        }
        if (i + 1 == burst)
          more_now = true;
      }
      bool sending = !stop_sending_ && (next_ || !src_.done());

      std::optional<clock_type::time_point> wake;
      auto wake_at = [&](clock_type::time_point t) {
        if (!wake || t < *wake)
          wake = t;
      };
      if (!deadlines_.empty())
        wake_at(deadlines_.begin()->first);

      if (!sending && pending_.empty()) {
        if (sent_ == 0)
          break;
        if (!end_since_)
          end_since_ = now;
        // Polls have all ended. Notifies get a reply only when they fail,
        // and only once they have left: that needs a connection.
        if (notifies_sent_ == 0)
          break;
        if (connected_ || grace_since_) {
          if (!grace_since_)
            grace_since_ = now;
          auto end = *grace_since_ + to_duration(opt_.grace);
          if (now >= end)
            break;
          wake_at(end);
        } else {
          // Not connected (yet, or any more): queued casts have not left.
          // Wait for a reconnection as long as the grace time, for a first
          // connection as long as the first cast's deadline.
          auto end = *end_since_ + to_duration(opt_.grace);
          if (!ever_connected_)
            end = std::max(end, reach_deadline_);
          if (now >= end) {
            not_connected_at_end_ = true;
            break;
          }
          wake_at(end);
        }
      }

      if (blocked) {
        auto limit = last_progress_ +
                     to_duration(deadline_seconds(next_->params, opt_.grace));
        if (now >= limit) {
          give_up_sending(now);
          continue;
        }
        wake_at(limit);
      }

      if (progress_every_.count() > 0) {
        if (now >= next_progress_) {
          print_progress(now);
          next_progress_ = now + progress_every_;
        }
        wake_at(next_progress_);
      }

      long timeout_ms = -1;
      if (more_now) {
        timeout_ms = 0;
      } else if (wake) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - now);
        timeout_ms =
            std::clamp<long>(static_cast<long>(left.count()), 0, 3'600'000);
      }
      zmq::pollitem_t items[3] = {
          {sock_.handle(), 0,
           static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0},
          {monitor_.handle(), 0, ZMQ_POLLIN, 0},
          {nullptr, src_.wait_fd(), ZMQ_POLLIN, 0},
      };
      size_t n_items = src_.wait_fd() >= 0 && !stop_sending_ ? 3 : 2;
      try {
        zmq::poll(items, n_items, std::chrono::milliseconds(timeout_ms));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue;
        throw;
      }
      if (items[1].revents & ZMQ_POLLIN)
        read_monitor();
      // A refused handshake is refused again on every reconnection.
      if (handshake_failed_ && !ever_connected_)
        break;
      if (items[0].revents & ZMQ_POLLIN)
        read_replies();
      if (n_items == 3 && (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        src_.on_readable();
    }
    return finish();
  }

private:
  /// State of a poll awaiting its reply.
  struct pending_poll {
    clock_type::time_point deadline;
    double seconds; ///< the deadline, relative, for the timeout message
  };

  /// Encodes (once) and tries to send next_. False when ZeroMQ has no room.
  bool send_next(clock_type::time_point now) {
    uint64_t seq = sent_ + 1;
    if (frame_.empty())
      frame_ = msg::encode_cast(
          next_->kind, next_->zone, next_->serial, next_->destination,
          next_->params.timeout, next_->params.retry_interval,
          next_->params.max_retries, tool_context(), msgpack_uint(seq));
    if (!sock_.send(zmq::buffer(frame_), zmq::send_flags::dontwait))
      return false;
    frame_.clear();
    sent_ = seq;
    last_progress_ = now;
    double secs = deadline_seconds(next_->params, opt_.grace);
    if (sent_ == 1)
      reach_deadline_ = now + to_duration(secs);
    bool is_poll = next_->kind == msg::method::poll_for_serial_number;
    is_poll_.push_back(is_poll);
    notify_failed_.push_back(false);
    if (is_poll) {
      auto deadline = now + to_duration(secs);
      pending_.emplace(seq, pending_poll{deadline, secs});
      deadlines_.emplace(deadline, seq);
    } else {
      ++notifies_sent_;
    }
    next_.reset();
    return true;
  }

  /// minidns takes no casts: stop sending, let what was sent end.
  void give_up_sending(clock_type::time_point now) {
    stop_sending_ = true;
    gave_up_ = true;
    double waited = std::chrono::duration<double>(now - last_progress_).count();
    std::fprintf(stderr,
                 "minidns-ctl: minidns took no cast for %s s; stopped after "
                 "sending %llu cast(s)\n",
                 format_seconds(waited).c_str(),
                 static_cast<unsigned long long>(sent_));
    next_.reset();
    frame_.clear();
  }

  /// Polls whose deadline passed get a client_timeout line.
  void expire_polls(clock_type::time_point now) {
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      uint64_t seq = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      auto it = pending_.find(seq);
      if (it == pending_.end())
        continue;
      print_line("{\"method\":\"client_timeout\",\"request_id\":" +
                 std::to_string(seq) +
                 ",\"error\":\"no reply from minidns within " +
                 format_seconds(it->second.seconds) + " s\"}");
      pending_.erase(it);
      ++timeouts_;
      failure_ = true;
    }
  }

  void read_replies() {
    for (int i = 0; i < burst; ++i) {
      zmq::message_t m;
      if (!sock_.recv(m, zmq::recv_flags::dontwait))
        return;
      on_reply(m.data(), m.size());
    }
  }

  void on_reply(const void* data, size_t size) {
    ever_connected_ = true;
    last_progress_ = clock_type::now();
    print_line(msg::msgpack_to_json(data, size));
    std::string err;
    auto r = msg::decode_reply(data, size, err);
    if (!r) {
      ++errors_;
      failure_ = true;
      return;
    }
    bool is_status = r->method == "update_status";
    bool success = is_status && r->status == "SUCCESS";
    bool error = r->method == "error" || (is_status && !success);
    if (!success && !error)
      return; // a method this version does not know: printed, no more
    auto seq = read_msgpack_uint(r->raw_request_id);
    if (!seq || *seq == 0 || *seq > sent_) {
      if (error) {
        ++errors_;
        failure_ = true;
      }
      return;
    }
    if (error)
      failure_ = true;
    if (auto it = pending_.find(*seq); it != pending_.end()) {
      deadlines_.erase({it->second.deadline, *seq});
      pending_.erase(it);
      if (success)
        ++poll_success_;
      else
        ++errors_;
      return;
    }
    size_t idx = *seq - 1;
    if (!is_poll_[idx] && error && !notify_failed_[idx]) {
      notify_failed_[idx] = true;
      ++notify_errors_;
      ++errors_;
    }
    // Otherwise a late reply to a poll that already ended: printed only.
  }

  void read_monitor() {
    for (int i = 0; i < burst; ++i) {
      zmq::message_t ev;
      if (!monitor_.recv(ev, zmq::recv_flags::dontwait))
        return;
      bool more = ev.more();
      while (more) {
        zmq::message_t part;
        if (!monitor_.recv(part, zmq::recv_flags::dontwait))
          break;
        more = part.more();
      }
      if (ev.size() < 2)
        continue;
      uint16_t event = 0;
      std::memcpy(&event, ev.data(), sizeof event);
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        connected_ = true;
        ever_connected_ = true;
        last_progress_ = clock_type::now();
      } else if (event == ZMQ_EVENT_DISCONNECTED) {
        connected_ = false;
      } else {
        handshake_failed_ = true;
      }
    }
  }

  void print_line(const std::string& line) {
    if (stdout_broken_)
      return;
    std::string out = line;
    out += '\n';
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() ||
        std::fflush(stdout) != 0)
      stdout_broken_ = true;
  }

  int finish() {
    // Casts still queued here go nowhere without minidns: do not wait.
    if (!connected_ || gave_up_)
      sock_.set(zmq::sockopt::linger, 0);
    auto elapsed =
        std::chrono::duration<double>(clock_type::now() - start_).count();
    if (!src_.error().empty())
      std::fprintf(stderr, "minidns-ctl: %s\n", src_.error().c_str());
    bool unreachable = sent_ > 0 && !ever_connected_;
    if (unreachable && handshake_failed_) {
      std::fprintf(stderr,
                   "minidns-ctl: minidns at %s refused the ZeroMQ handshake "
                   "(%s)\n",
                   opt_.endpoint.c_str(),
                   opt_.curve_server_key.empty()
                       ? "it wants CURVE: see --curve-server-key"
                       : "wrong --curve-server-key, or this client's key is "
                         "not in minidns.curve-clients-file");
    } else if (unreachable) {
      std::fprintf(stderr,
                   "minidns-ctl: could not reach minidns at %s (no "
                   "connection within %s s)\n",
                   opt_.endpoint.c_str(), format_seconds(elapsed).c_str());
    } else if (not_connected_at_end_) {
      std::fprintf(stderr,
                   "minidns-ctl: lost the connection to minidns at %s; casts "
                   "may not have been delivered\n",
                   opt_.endpoint.c_str());
    }
    if (is_batch_) {
      uint64_t success = poll_success_;
      if (ever_connected_ && !not_connected_at_end_ && !gave_up_)
        success += notifies_sent_ - notify_errors_;
      std::fprintf(stderr,
                   "sent %llu, success %llu, error %llu, timeout %llu, "
                   "elapsed %.3f s\n",
                   static_cast<unsigned long long>(sent_),
                   static_cast<unsigned long long>(success),
                   static_cast<unsigned long long>(errors_),
                   static_cast<unsigned long long>(timeouts_), elapsed);
    }
    if (!src_.error().empty())
      return exit_usage;
    if (unreachable)
      return exit_unreachable;
    if (failure_ || gave_up_ || not_connected_at_end_)
      return exit_failure;
    return exit_ok;
  }

  const options& opt_;
  cast_source& src_;
  bool is_batch_;
  clock_type::duration progress_every_{0}; ///< 0: no progress lines
  clock_type::time_point next_progress_;

  /// One line on stderr: how far the batch is.
  void print_progress(clock_type::time_point now) {
    double elapsed = std::chrono::duration<double>(now - start_).count();
    uint64_t done = poll_success_ + errors_ + timeouts_;
    std::fprintf(stderr,
                 "progress: sent %llu, done %llu (success %llu, error %llu, "
                 "timeout %llu), in flight %zu, %.0f/s\n",
                 static_cast<unsigned long long>(sent_),
                 static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(poll_success_),
                 static_cast<unsigned long long>(errors_),
                 static_cast<unsigned long long>(timeouts_), pending_.size(),
                 elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0);
  }
  zmq::context_t ctx_{1};
  zmq::socket_t sock_;
  zmq::socket_t monitor_;

  std::optional<cast_spec> next_; ///< the next cast, not sent yet
  std::string frame_;             ///< next_ encoded, once tried
  bool stop_sending_ = false;
  bool gave_up_ = false;

  uint64_t sent_ = 0;               ///< casts sent; also the last request_id
  std::vector<bool> is_poll_;       ///< by request_id - 1
  std::vector<bool> notify_failed_; ///< by request_id - 1
  std::unordered_map<uint64_t, pending_poll> pending_;
  std::set<std::pair<clock_type::time_point, uint64_t>> deadlines_;

  uint64_t notifies_sent_ = 0, notify_errors_ = 0;
  uint64_t poll_success_ = 0, errors_ = 0, timeouts_ = 0;
  bool failure_ = false;

  bool connected_ = false, ever_connected_ = false;
  bool not_connected_at_end_ = false;
  bool handshake_failed_ = false; ///< minidns refused us (CURVE, mechanism)
  bool stdout_broken_ = false;
  clock_type::time_point start_, last_progress_, reach_deadline_;
  std::optional<clock_type::time_point> end_since_, grace_since_;
};

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  options opt;
  try {
    opt = parse_args(argc, argv);
    if (opt.help) {
      std::fputs(usage_text, stdout);
      return exit_ok;
    }
    if (opt.positional.empty())
      throw usage_error("missing COMMAND (notify, poll, batch or keygen)");
    if (opt.positional[0] == "keygen") {
      if (opt.positional.size() != 2)
        throw usage_error("usage: keygen PATH");
      return keygen(opt.positional[1]);
    }
  } catch (const usage_error& e) {
    std::fprintf(stderr, "minidns-ctl: %s\nTry 'minidns-ctl --help'.\n",
                 e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minidns-ctl: %s\n", e.what());
    return exit_failure;
  }

  int fd = -1;
  bool close_fd = false;
  try {
    std::unique_ptr<cast_source> src;
    const std::string& cmd = opt.positional[0];
    bool is_batch = cmd == "batch";
    if (is_batch) {
      if (opt.positional.size() != 2)
        throw usage_error("usage: batch FILE (FILE or '-' for stdin)");
      const std::string& path = opt.positional[1];
      std::string name =
          path == "-" ? "stdin" : "batch file " + quote_arg(path);
      if (path == "-") {
        fd = STDIN_FILENO;
      } else {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
          throw usage_error("batch FILE: cannot open " + quote_arg(path) +
                            ": " + std::strerror(errno));
        close_fd = true;
      }
      struct stat st {};
      bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
      off_t start = regular ? ::lseek(fd, 0, SEEK_CUR) : -1;
      if (regular && start >= 0) {
        // A file is checked whole first: a bad line sends nothing.
        auto problems = check_file(fd, name, opt.params);
        if (!problems.empty()) {
          for (auto& p : problems)
            std::fprintf(stderr, "minidns-ctl: %s\n", p.c_str());
          if (close_fd)
            ::close(fd);
          return exit_usage;
        }
        if (::lseek(fd, start, SEEK_SET) != start)
          throw std::runtime_error(name +
                                   ": cannot rewind: " + std::strerror(errno));
      }
      src = std::make_unique<batch_source>(fd, name, opt.params,
                                           regular && start >= 0);
    } else {
      std::vector<std::string_view> words(opt.positional.begin(),
                                          opt.positional.end());
      src =
          std::make_unique<single_source>(make_cast(words, opt.params, false));
    }
    runner r(opt, *src, is_batch);
    r.connect();
    int rc = r.run();
    if (close_fd)
      ::close(fd);
    return rc;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "minidns-ctl: %s\nTry 'minidns-ctl --help'.\n",
                 e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minidns-ctl: %s\n", e.what());
    return exit_failure;
  }
}
