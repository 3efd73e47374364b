#include "apps/minidns-ctl/runner.hpp"

#include "apps/minidns-ctl/client_codec.hpp"
#include "apps/minidns-ctl/ledger.hpp"
#include "messages/wire.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <msgpack.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <zmq.hpp>

namespace minidns::ctl {
namespace {

namespace msg = minidns::messages;
using clock_type = ledger::clock_type;

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

clock_type::duration to_duration(double seconds) {
  return std::chrono::duration_cast<clock_type::duration>(
      std::chrono::duration<double>(seconds));
}

/// How long minidns may take to end a cast, as seen from here: delay +
/// (timeout + retry_interval) * (max_retries + 1) + grace + a margin.
double deadline_seconds(const cast_params& p, double grace) {
  double per_attempt =
      std::max(p.timeout, 0.0) + std::max(p.retry_interval, 0.0);
  double s = p.delay.value_or(0) +
             per_attempt * (static_cast<double>(p.max_retries) + 1) + grace +
             queueing_margin_seconds;
  return std::min(s, max_deadline_seconds);
}

/// {"tool":"minidns-ctl"}, the context of every cast.
const std::string& tool_context() {
  static const std::string raw = [] {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_map(1);
    pk.pack(std::string_view("tool"));
    pk.pack(std::string_view("minidns-ctl"));
    return std::string(buf.data(), buf.size());
  }();
  return raw;
}

/// Adds the optional fields of `p` that were given (`delay`, `transport`,
/// `want_status`, `tsig_key`)
/// to `frame`, a cast encode_cast built: they follow its entries, and its
/// map header (a fixmap: encode_cast writes at most 8 entries) counts them.
void add_optional_fields(std::string& frame, const cast_params& p) {
  const unsigned extra = (p.delay ? 1U : 0U) + (p.transport ? 1U : 0U) +
                         (p.want_status ? 1U : 0U) + (p.tsig_key ? 1U : 0U);
  if (extra == 0)
    return;
  const auto head = static_cast<unsigned char>(frame.at(0));
  if ((head & 0xf0U) != 0x80U || (head & 0x0fU) + extra > 15)
    throw std::logic_error("minidns-ctl: encode_cast did not write a fixmap");
  frame[0] = static_cast<char>(head + extra);
  msg::string_stream stream{frame};
  msg::packer pk(stream);
  if (p.delay) {
    msg::pack_str(pk, msg::key_delay);
    pk.pack_double(*p.delay); // msgpack-c writes integral values as ints
  }
  if (p.transport) {
    msg::pack_str(pk, msg::key_transport);
    msg::pack_str(pk, *p.transport);
  }
  if (p.want_status) {
    msg::pack_str(pk, msg::key_want_status);
    pk.pack_true();
  }
  if (p.tsig_key) {
    msg::pack_str(pk, msg::key_tsig_key);
    msg::pack_str(pk, *p.tsig_key);
  }
}

/// Whether minidns answers `c` with an update_status (a poll, or a notify
/// that asks for one): the ledger waits for those.
bool expects_status(const cast_spec& c) {
  return msg::is_poll(c.kind) || c.params.want_status;
}

/// The pool poll fields of `c`: DEST1,DEST2,... as `destinations`,
/// --threshold and --expect (polls only). Null when there are none.
std::unique_ptr<msg::cast_extras> extras_of(const cast_spec& c) {
  if (!msg::is_poll(c.kind))
    return nullptr;
  auto x = std::make_unique<msg::cast_extras>();
  if (c.destination.find(',') != std::string::npos) {
    std::string_view rest = c.destination;
    for (;;) {
      auto comma = rest.find(',');
      x->destinations.emplace_back(rest.substr(0, comma));
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
  }
  x->threshold = c.params.threshold;
  if (c.kind == msg::method::poll_for_serial_number && c.params.expect)
    x->expect = *c.params.expect;
  if (x->destinations.empty() && !x->threshold && x->expect.empty())
    return nullptr;
  return x;
}

/// The msgpack encoding of a cast number (a request_id).
std::string packed_id(uint64_t n) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_uint64(n);
  return std::string(buf.data(), buf.size());
}

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
      for (const auto& line : ledger_.expire(now))
        print_line(line);

      bool blocked = false; // a cast waits for room in ZeroMQ
      bool more_now = false;
      for (int i = 0; i < burst; ++i) {
        if (!next_ && !stop_sending_)
          next_ = src_.next();
        if (!next_)
          break;
        if (expects_status(*next_) && ledger_.polls_waiting() >= opt_.window)
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
      if (auto deadline = ledger_.next_deadline())
        wake_at(*deadline);

      if (!sending && ledger_.polls_waiting() == 0) {
        const bool cancels = ledger_.cancels_waiting() > 0;
        if (ledger_.sent_count() == 0 && !cancels)
          break;
        if (!end_since_)
          end_since_ = now;
        // Polls have all ended. Notifies get a reply only when they fail,
        // and only once they have left: that needs a connection. A
        // cancel's reply follows the statuses of the casts it ended; both
        // get the grace time.
        if (ledger_.notifies_sent() == 0 && !cancels)
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
          ledger_.print_progress(seconds_since_start(now));
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
  /// Encodes (once) and tries to send next_. False when ZeroMQ has no room.
  bool send_next(clock_type::time_point now) {
    const bool cancel = next_->kind == msg::method::cancel;
    if (frame_.empty() && cancel) {
      frame_ = msg::encode_cancel(packed_id(next_->cancel_id));
    } else if (frame_.empty()) {
      auto extras = extras_of(*next_);
      frame_ = msg::encode_cast(
          next_->kind, next_->zone, next_->serial, next_->destination,
          next_->params.timeout, next_->params.retry_interval,
          next_->params.max_retries, tool_context(), ledger_.next_request_id(),
          next_->kind == msg::method::notify_zone_changed && next_->params.soa
              ? &*next_->params.soa
              : nullptr,
          extras.get());
      add_optional_fields(frame_, next_->params);
    }
    if (!sock_.send(zmq::buffer(frame_), zmq::send_flags::dontwait))
      return false;
    frame_.clear();
    last_progress_ = now;
    if (cancel) {
      // Not a cast of its own: its reply ("cancelled") is printed, and the
      // casts it ends answer as they end.
      ledger_.cancel_sent();
      next_.reset();
      return true;
    }
    double secs = deadline_seconds(next_->params, opt_.grace);
    auto deadline = now + to_duration(secs);
    ledger_.sent(expects_status(*next_), deadline, secs);
    if (ledger_.sent_count() == 1)
      reach_deadline_ = deadline;
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
                 static_cast<unsigned long long>(ledger_.sent_count()));
    next_.reset();
    frame_.clear();
  }

  /// Reads the replies ZeroMQ has (up to a burst).
  void read_replies() {
    for (int i = 0; i < burst; ++i) {
      zmq::message_t m;
      if (!sock_.recv(m, zmq::recv_flags::dontwait))
        return;
      on_reply(m.data(), m.size());
    }
  }

  /// Prints one reply and counts it.
  void on_reply(const void* data, size_t size) {
    ever_connected_ = true;
    last_progress_ = clock_type::now();
    print_line(msg::msgpack_to_json(data, size));
    ledger_.on_reply(data, size);
  }

  /// Follows the connection: handshakes, disconnections, refusals.
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

  /// One line on stdout; after a failed write (a closed pipe), none.
  void print_line(const std::string& line) {
    if (stdout_broken_)
      return;
    std::string out = line;
    out += '\n';
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() ||
        std::fflush(stdout) != 0)
      stdout_broken_ = true;
  }

  double seconds_since_start(clock_type::time_point now) const {
    return std::chrono::duration<double>(now - start_).count();
  }

  /// Explains what went wrong, prints a batch's summary and returns the
  /// exit code.
  int finish() {
    // Casts still queued here go nowhere without minidns: do not wait.
    if (!connected_ || gave_up_)
      sock_.set(zmq::sockopt::linger, 0);
    auto elapsed = seconds_since_start(clock_type::now());
    if (!src_.error().empty())
      std::fprintf(stderr, "minidns-ctl: %s\n", src_.error().c_str());
    bool unreachable = ledger_.sent_count() > 0 && !ever_connected_;
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
    if (is_batch_)
      ledger_.print_summary(
          ever_connected_ && !not_connected_at_end_ && !gave_up_, elapsed);
    if (!src_.error().empty())
      return exit_usage;
    if (unreachable)
      return exit_unreachable;
    if (ledger_.failure() || gave_up_ || not_connected_at_end_)
      return exit_failure;
    return exit_ok;
  }

  const options& opt_;
  cast_source& src_;
  bool is_batch_;
  clock_type::duration progress_every_{0}; ///< 0: no progress lines
  clock_type::time_point next_progress_;

  zmq::context_t ctx_{1};
  zmq::socket_t sock_;
  zmq::socket_t monitor_;

  std::optional<cast_spec> next_; ///< the next cast, not sent yet
  std::string frame_;             ///< next_ encoded, once tried
  bool stop_sending_ = false;
  bool gave_up_ = false;

  ledger ledger_; ///< what was sent and what came back

  bool connected_ = false, ever_connected_ = false;
  bool not_connected_at_end_ = false;
  bool handshake_failed_ = false; ///< minidns refused us (CURVE, mechanism)
  bool stdout_broken_ = false;
  clock_type::time_point start_, last_progress_, reach_deadline_;
  std::optional<clock_type::time_point> end_since_, grace_since_;
};

} // namespace

int run_casts(const options& opt, cast_source& src, bool is_batch) {
  runner r(opt, src, is_batch);
  r.connect();
  return r.run();
}

} // namespace minidns::ctl
