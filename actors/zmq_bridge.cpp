#include "actors/zmq_bridge.hpp"

#include "actors/request.hpp"
#include "actors/udp_io.hpp"
#include "messages/cast.hpp"
#include "metrics/registry.hpp"

#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <pthread.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

namespace minidns {

namespace {

/// A request ended: its reply for the ZeroMQ thread, if it has one.
struct out_item {
  uint64_t token = 0;
  std::string frame; ///< empty: nothing to send (a notify)
};

/// A request the ZeroMQ thread started and waits for.
struct live_request {
  caf::actor handle;
  std::string peer; ///< ZeroMQ routing id of the pool manager
};

/// Whether attempt timers are so late (`lag_ns`) that casts must wait in
/// ZeroMQ: the deadlines of accepted requests come before new work.
bool too_late(int64_t lag_ns) {
  return lag_ns > 2'000'000;
}

/// Most casts read per wake-up before the thread looks at its outbox again.
constexpr int read_burst = 1024;

bool is_power_of_two(uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

using clock = std::chrono::steady_clock;

/// Where libzmq looks for the ZAP handler (RFC 27).
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
constexpr const char* monitor_endpoint = "inproc://minidns-router-monitor";
constexpr int monitored_events =
    ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

/// After a pool manager's handshake, its routing id is attached to the
/// ROUTER a moment later: held replies are tried this often, this long.
constexpr auto held_retry_every = std::chrono::milliseconds(20);
constexpr auto held_retry_window = std::chrono::seconds(1);

/// A reply waiting for its pool manager to reconnect.
struct held_reply {
  std::string peer;
  std::string frame;
  clock::time_point expires;
};

/// What became of one attempt to send a reply.
enum class send_result { sent, full, gone, failed };

/// Receives one whole multipart message without waiting into `parts`
/// (cleared first; reused so that reading casts allocates no vector);
/// empty when none.
void receive_all(zmq::socket_t& s, std::vector<zmq::message_t>& parts) {
  parts.clear();
  zmq::message_t part;
  if (!s.recv(part, zmq::recv_flags::dontwait))
    return;
  bool more = part.more();
  parts.push_back(std::move(part));
  while (more) {
    zmq::message_t next;
    if (!s.recv(next, zmq::recv_flags::dontwait))
      break; // cannot happen: ZeroMQ delivers messages whole
    more = next.more();
    parts.push_back(std::move(next));
  }
}

std::string to_z85(const void* key32) {
  char text[41];
  zmq_z85_encode(text, static_cast<const uint8_t*>(key32), 32);
  return std::string(text, 40);
}

} // namespace

/// The ZeroMQ thread and the ROUTER socket it owns.
class zmq_link : public status_port,
                 public std::enable_shared_from_this<zmq_link> {
public:
  explicit zmq_link(const zmq_link_options& opts)
      : opts_(opts), ctx_(1), sock_(ctx_, zmq::socket_type::router),
        monitor_(ctx_, zmq::socket_type::pair) {
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0)
      throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    if (opts.curve)
      enable_curve(*opts.curve, opts.curve_clients);
    // Handshakes, refusals and reconnections, for the counters and for
    // replies held for pool managers that come back.
    if (zmq_socket_monitor(sock_.handle(), monitor_endpoint,
                           monitored_events) != 0)
      throw std::runtime_error(std::string("zmq_socket_monitor: ") +
                               zmq_strerror(zmq_errno()));
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_endpoint);
    // A ROUTER silently drops what it cannot route; we want to know.
    sock_.set(zmq::sockopt::router_mandatory, 1);
    // A pool manager that reconnects with its routing id takes it over at
    // once, even before the old connection is noticed as gone.
    sock_.set(zmq::sockopt::router_handover, 1);
    sock_.set(zmq::sockopt::linger, static_cast<int>(opts.linger.count()));
    sock_.set(zmq::sockopt::sndhwm, static_cast<int>(opts.hwm));
    sock_.set(zmq::sockopt::rcvhwm, static_cast<int>(opts.hwm));
    // Bigger frames cost the sender its connection (a documented silence);
    // those up to this size get an error reply.
    sock_.set(zmq::sockopt::maxmsgsize, int64_t{1} << 20);
    try {
      sock_.bind(opts.endpoint);
    } catch (const zmq::error_t& e) {
      ::close(wake_);
      throw std::runtime_error("minidns.endpoint: cannot bind '" +
                               opts.endpoint + "': " + e.what());
    }
    bound_ = sock_.get(zmq::sockopt::last_endpoint);
  }

  ~zmq_link() override {
    stop_now();
    ::close(wake_);
  }

  /// Starts the thread: it spawns a request actor in `sys` for every cast,
  /// with `udp` for its queries.
  void start(caf::actor_system& sys, bridge_actor bridge,
             std::shared_ptr<query_port> udp) {
    sys_ = &sys;
    bridge_ = std::move(bridge);
    udp_ = std::move(udp);
    self_ = shared_from_this();
    thread_ = std::thread([this] {
      // Named for top -H and profiles (it would inherit its creator's).
      pthread_setname_np(pthread_self(), "minidns-zmq");
      run();
    });
  }

  /// A request ended: hands its reply, if any, to the thread.
  void done(uint64_t token, std::string frame) override {
    bool was_empty;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      was_empty = outbox_.empty();
      outbox_.push_back({token, std::move(frame)});
    }
    if (was_empty)
      wake();
  }

  /// Refuse new casts; stop once every accepted one has its reply out.
  void start_draining() {
    draining_.store(true);
    wake();
  }

  /// The drain timeout expired: end every request still running.
  void force() {
    forcing_.store(true);
    wake();
  }

  void stop_now() {
    abort_.store(true);
    wake();
    if (thread_.joinable())
      thread_.join();
    // Requests hold the link as their status port; the link held itself
    // for them. Callers hold it too, so this is never the last reference.
    live_.clear();
    udp_.reset();
    self_.reset();
  }

  const std::string& endpoint() const { return bound_; }

  zmq_link_stats read_stats() const {
    zmq_link_stats s;
    s.casts = casts_.load(std::memory_order_relaxed);
    s.invalid = invalid_.load(std::memory_order_relaxed);
    s.replies = replies_.load(std::memory_order_relaxed);
    s.undeliverable = undeliverable_.load(std::memory_order_relaxed);
    s.held = held_now_.load(std::memory_order_relaxed);
    s.in_flight = in_flight_now_.load(std::memory_order_relaxed);
    s.max_in_flight = opts_.max_in_flight;
    s.held_delivered = held_delivered_.load(std::memory_order_relaxed);
    s.refused = refused_.load(std::memory_order_relaxed);
    s.intake_pauses = intake_pauses_.load(std::memory_order_relaxed);
    s.connected = static_cast<uint64_t>(
        std::max<int64_t>(0, connected_.load(std::memory_order_relaxed)));
    return s;
  }

private:
  /// Makes the ROUTER a CURVE server and binds the ZAP handler that lets in
  /// only the listed public keys.
  void enable_curve(const net::key_pair& keys,
                    const std::vector<std::string>& clients) {
    for (auto& k : clients) {
      uint8_t bin[32];
      if (zmq_z85_decode(bin, k.c_str()) == nullptr)
        throw std::runtime_error("minidns.curve-clients-file: bad key " + k);
      allowed_keys_.emplace(reinterpret_cast<char*>(bin), 32);
    }
    zap_.emplace(ctx_, zmq::socket_type::rep);
    zap_->set(zmq::sockopt::linger, 0);
    zap_->bind(zap_endpoint);
    sock_.set(zmq::sockopt::curve_server, 1);
    // 41 bytes: the Z85 text with its terminating NUL.
    if (zmq_setsockopt(sock_.handle(), ZMQ_CURVE_SECRETKEY,
                       keys.secret_key.c_str(), 41) != 0)
      throw std::runtime_error("minidns.curve-key-file: secret key refused: " +
                               std::string(zmq_strerror(zmq_errno())));
    sock_.set(zmq::sockopt::zap_domain, "minidns");
  }

  /// Answers ZAP requests (RFC 27): 200 for a listed CURVE key, 400 for
  /// anything else.
  void serve_zap() {
    for (;;) {
      std::vector<zmq::message_t> req;
      receive_all(*zap_, req);
      if (req.empty())
        return;
      auto frame = [&](size_t i) {
        return i < req.size() ? req[i].to_string() : std::string{};
      };
      std::string why;
      std::string user;
      if (req.size() < 6 || frame(0) != "1.0")
        why = "malformed ZAP request";
      else if (frame(5) != "CURVE")
        why = "mechanism " + frame(5) + ", not CURVE";
      else if (req.size() < 7 || req[6].size() != 32)
        why = "no CURVE public key";
      else if (user = to_z85(req[6].data()); !allowed_keys_.count(
                   std::string(static_cast<const char*>(req[6].data()), 32)))
        why = "public key " + user + " not in minidns.curve-clients-file";
      if (why.empty()) {
        spdlog::debug("pool manager {} authenticated as {}", frame(3), user);
      } else {
        auto n = zap_denied_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (is_power_of_two(n))
          spdlog::warn("refused a pool manager from {}: {} ({} refused so "
                       "far)",
                       frame(3), why, n);
      }
      // Version, request id, status code, status text, user id, metadata.
      const std::string reply[] = {"1.0",
                                   frame(1),
                                   why.empty() ? "200" : "400",
                                   why.empty() ? "OK" : "not allowed",
                                   user,
                                   ""};
      try {
        for (size_t k = 0; k < std::size(reply); ++k)
          zap_->send(zmq::buffer(reply[k]), k + 1 < std::size(reply)
                                                ? zmq::send_flags::sndmore
                                                : zmq::send_flags::none);
      } catch (const zmq::error_t& e) {
        spdlog::error("ZAP reply: {}", e.what());
      }
    }
  }

  /// Reads the ROUTER's monitor events.
  void read_monitor(clock::time_point now) {
    for (;;) {
      std::vector<zmq::message_t> ev;
      receive_all(monitor_, ev);
      if (ev.empty())
        return;
      if (ev[0].size() < 6)
        continue;
      uint16_t event;
      std::memcpy(&event, ev[0].data(), 2);
      switch (event) {
      case ZMQ_EVENT_ACCEPTED:
        connected_.fetch_add(1, std::memory_order_relaxed);
        break;
      case ZMQ_EVENT_DISCONNECTED:
        connected_.fetch_sub(1, std::memory_order_relaxed);
        break;
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        // Perhaps a pool manager coming back for its held replies.
        if (!held_.empty())
          held_retry_until_ = now + held_retry_window;
        break;
      default: {
        auto n = refused_.fetch_add(1, std::memory_order_relaxed) + 1;
        // Refused keys are logged by the ZAP handler, with the key.
        if (is_power_of_two(n) && event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
          spdlog::warn("a connection failed the ZeroMQ {} handshake ({}); "
                       "{} refused so far",
                       opts_.curve ? "CURVE" : "NULL",
                       event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                           ? "protocol error or wrong mechanism"
                           : "closed before it was done",
                       n);
      }
      }
    }
  }
  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof(one));
  }

  void run() {
    std::vector<out_item> work;
    clock::time_point give_up{};
    while (!abort_.load()) {
      bool draining = draining_.load();
      // Attempt timers running late (the UDP thread is saturated): take
      // no new casts until it has caught up; they wait in ZeroMQ.
      auto lag = udp_->timer_lag_ns();
      bool timers_late = too_late(lag);
      if (timers_late && !paused_ && !draining) {
        auto n = intake_pauses_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (is_power_of_two(n))
          spdlog::warn("attempt timers are {} ms late: new casts wait in "
                       "ZeroMQ until they catch up (pause {})",
                       lag / 1'000'000, n);
      }
      paused_ = timers_late;
      bool can_read =
          draining || (in_flight_ < opts_.max_in_flight && !timers_late);
      zmq::pollitem_t items[] = {
          {sock_.handle(), 0, static_cast<short>(can_read ? ZMQ_POLLIN : 0), 0},
          {nullptr, wake_, ZMQ_POLLIN, 0},
          {monitor_.handle(), 0, ZMQ_POLLIN, 0},
          {zap_ ? zap_->handle() : nullptr, 0,
           static_cast<short>(zap_ ? ZMQ_POLLIN : 0), 0},
      };
      try {
        auto wait = poll_timeout(clock::now());
        if (timers_late && !draining &&
            (wait.count() < 0 || wait > std::chrono::milliseconds(1)))
          wait = std::chrono::milliseconds(1); // look again soon
        zmq::poll(items, zap_ ? 4 : 3, wait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue;
        spdlog::critical("zmq_poll: {}", e.what());
        break;
      }
      auto now = clock::now();
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_, &v, sizeof(v));
      }
      if (zap_ && (items[3].revents & ZMQ_POLLIN))
        serve_zap();
      if (items[2].revents & ZMQ_POLLIN)
        read_monitor(now);
      {
        std::lock_guard<std::mutex> guard{mtx_};
        work.swap(outbox_);
      }
      for (auto& item : work) {
        auto req = live_.find(item.token);
        if (req == live_.end())
          continue; // cannot happen: every request ends once
        auto peer = std::move(req->second.peer);
        live_.erase(req);
        if (item.frame.empty())
          --in_flight_; // a notify ended: nothing to send
        else
          send_reply(std::move(peer), std::move(item.frame), true);
      }
      work.clear();
      if (forcing_.load() && !forced_) {
        forced_ = true;
        if (!live_.empty())
          spdlog::warn(
              "drain timeout: ending {} request(s) with ERROR shutdown",
              live_.size());
        for (auto& [token, req] : live_)
          caf::anon_send(caf::actor_cast<request_actor>(req.handle),
                         shutdown_atom::value);
      }
      retry_backlog();
      expire_held(now);
      if (!held_.empty() && now < held_retry_until_ && now >= next_held_try_)
        retry_held(now);
      read_casts();
      in_flight_now_.store(in_flight_, std::memory_order_relaxed);
      // `draining` was read before the outbox was taken: every request
      // that ended before the drain began is out of live_ by now.
      if (draining) {
        if (!drain_logged_) {
          drain_logged_ = true;
          spdlog::info("draining: {} request(s) in flight", live_.size());
        }
        if (in_flight_ == 0 && held_.empty())
          break;
        // Only replies that pool managers do not take are left: give them
        // the linger time, then drop them loudly.
        if (in_flight_ == backlog_count_) {
          if (give_up == clock::time_point{})
            give_up = now + opts_.linger;
          if (now >= give_up) {
            drop_leftovers();
            break;
          }
        }
      }
    }
    sock_.close(); // linger applies: queued replies still go out
    if (!abort_.load() && bridge_)
      caf::anon_send(bridge_, stopped_atom::value);
  }

  /// How long zmq_poll may wait: for ever, unless replies wait for a pool
  /// manager's pipe, for a reconnection or for their hold time to end.
  std::chrono::milliseconds poll_timeout(clock::time_point now) const {
    using std::chrono::milliseconds;
    milliseconds t{-1};
    auto at_most = [&](milliseconds m) {
      if (m.count() < 0)
        m = milliseconds(0);
      if (t.count() < 0 || m < t)
        t = m;
    };
    if (!backlog_.empty())
      at_most(milliseconds(5));
    if (draining_.load() && in_flight_ == backlog_count_)
      at_most(milliseconds(5)); // the linger deadline
    if (!held_.empty()) {
      at_most(std::chrono::duration_cast<milliseconds>(
                  held_.front().expires - now) +
              milliseconds(1));
      if (now < held_retry_until_)
        at_most(held_retry_every);
    }
    return t;
  }

  /// At the end of the linger time: drops what pool managers did not take.
  void drop_leftovers() {
    auto n = backlog_count_ + held_.size();
    if (n > 0)
      spdlog::error("dropping {} replies that pool managers did not take "
                    "within the linger time ({} for pool managers that had "
                    "disconnected)",
                    n, held_.size());
    undeliverable_.fetch_add(n);
    backlog_.clear();
    backlog_count_ = 0;
    in_flight_ = 0;
    held_.clear();
    held_peers_.clear();
    held_now_.store(0);
  }

  void read_casts() {
    for (int i = 0; i < read_burst; ++i) {
      bool draining = draining_.load(std::memory_order_relaxed);
      if (!draining && in_flight_ >= opts_.max_in_flight)
        return;
      if (!draining && i % 64 == 0 && too_late(udp_->timer_lag_ns()))
        return;
      // The ROUTER puts the sender's routing id first.
      auto& parts = parts_;
      receive_all(sock_, parts);
      if (parts.empty())
        return;
      std::string peer(static_cast<const char*>(parts[0].data()),
                       parts[0].size());
      if (held_peers_.count(peer)) // it is back: deliver what it missed
        held_retry_until_ = clock::now() + held_retry_window;
      if (parts.size() != 2) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        metrics::add(metrics::global().invalid[0]); // "frame"
        send_reply(
            std::move(peer),
            messages::encode_error(
                "frame: expected one frame holding one msgpack map, got " +
                std::to_string(parts.size() - 1) + " frames"));
        continue;
      }
      auto decoded = messages::decode_cast(parts[1].data(), parts[1].size(),
                                           &opts_.allowed);
      if (!decoded.ok) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        metrics::add(metrics::global().invalid[metrics::invalid_reason_index(
            decoded.error)]);
        spdlog::info("invalid cast: {}", decoded.error);
        send_reply(std::move(peer), std::move(decoded.error_reply));
        continue;
      }
      auto& c = *decoded.ok;
      if (draining) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        if (c.kind == messages::method::poll_for_serial_number)
          send_reply(std::move(peer),
                     messages::finish_status(std::move(c.reply_prefix),
                                             messages::status::error,
                                             std::nullopt, "shutdown"));
        else
          send_reply(std::move(peer),
                     messages::encode_error("draining: minidns is shutting "
                                            "down; the cast was not carried "
                                            "out",
                                            c.request_id));
        continue;
      }
      ++in_flight_;
      casts_.fetch_add(1, std::memory_order_relaxed);
      metrics::add(metrics::global().casts[c.kind ==
                                                   messages::method::
                                                       poll_for_serial_number
                                               ? 1
                                               : 0]);
      // The request starts here, on this thread: its first attempt goes
      // straight to the UDP engine, and its actor first runs when that
      // attempt is answered or times out.
      auto token = next_token_++;
      auto handle =
          start_request(*sys_, token, std::move(c), udp_,
                        std::static_pointer_cast<status_port>(self_));
      live_.emplace(token, live_request{caf::actor_cast<caf::actor>(handle),
                                        std::move(peer)});
    }
  }

  /// Sends or queues one reply; never blocks. `counted`: the reply ends a
  /// request that holds an in-flight slot. A queued reply holds a slot until
  /// it is sent, so that pool managers that do not read cannot grow the
  /// queues without bound; each pool manager has its own queue, so that one
  /// that does not read holds up no other.
  void send_reply(std::string peer, std::string frame, bool counted = false) {
    auto queue = backlog_.find(peer);
    if (queue == backlog_.end() && try_send(peer, frame)) {
      if (counted)
        --in_flight_;
      return;
    }
    if (!counted)
      ++in_flight_;
    backlog_[std::move(peer)].push_back(std::move(frame));
    ++backlog_count_;
  }

  void retry_backlog() {
    for (auto i = backlog_.begin(); i != backlog_.end();) {
      auto& queue = i->second;
      while (!queue.empty() && try_send(i->first, queue.front())) {
        queue.pop_front();
        --backlog_count_;
        --in_flight_;
      }
      i = queue.empty() ? backlog_.erase(i) : std::next(i);
    }
  }

  /// False when the pool manager's pipe is full (try again later). A reply
  /// to a pool manager that is gone is held for its return (the frame is
  /// moved out) or, with holding off, dropped and counted.
  bool try_send(const std::string& peer, std::string& frame) {
    switch (send_now(peer, frame)) {
    case send_result::sent:
      return true;
    case send_result::full:
      return false;
    case send_result::gone:
      if (opts_.reply_hold.count() > 0 && opts_.reply_hold_max > 0)
        hold(peer, std::move(frame));
      else
        count_dropped("its pool manager is not connected");
      return true;
    case send_result::failed:
      count_dropped("ZeroMQ refused it");
      return true;
    }
    return true;
  }

  send_result send_now(const std::string& peer, const std::string& frame) {
    try {
      if (!sock_.send(zmq::buffer(peer),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return send_result::full;
      sock_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      replies_.fetch_add(1, std::memory_order_relaxed);
      return send_result::sent;
    } catch (const zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH)
        return send_result::gone;
      spdlog::error("sending a reply: {}", e.what());
      return send_result::failed;
    }
  }

  void count_dropped(const char* why) {
    auto n = undeliverable_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (is_power_of_two(n))
      spdlog::warn("dropped a reply: {}; {} dropped so far", why, n);
  }

  /// Keeps a reply for a pool manager that disconnected, in arrival order
  /// (which is also expiry order); the oldest goes when the store is full.
  void hold(const std::string& peer, std::string frame) {
    if (held_.size() >= opts_.reply_hold_max)
      drop_oldest_held("more than minidns.reply-hold-max replies held");
    held_.push_back({peer, std::move(frame), clock::now() + opts_.reply_hold});
    ++held_peers_[peer];
    held_now_.store(held_.size(), std::memory_order_relaxed);
    spdlog::debug("holding a reply for a pool manager that is not connected "
                  "({} held)",
                  held_.size());
  }

  void drop_oldest_held(const char* why) {
    auto& h = held_.front();
    if (auto i = held_peers_.find(h.peer); i != held_peers_.end() &&
                                           --i->second == 0)
      held_peers_.erase(i);
    held_.pop_front();
    held_now_.store(held_.size(), std::memory_order_relaxed);
    count_dropped(why);
  }

  void expire_held(clock::time_point now) {
    while (!held_.empty() && held_.front().expires <= now)
      drop_oldest_held("its pool manager did not reconnect within "
                       "minidns.reply-hold");
  }

  /// Tries to deliver held replies; those whose pool manager is back but
  /// cannot take more yet move to its backlog queue.
  void retry_held(clock::time_point now) {
    next_held_try_ = now + held_retry_every;
    std::unordered_set<std::string> still_gone;
    std::deque<held_reply> keep;
    for (auto& h : held_) {
      if (still_gone.count(h.peer)) {
        keep.push_back(std::move(h));
        continue;
      }
      auto r = backlog_.count(h.peer) ? send_result::full
                                      : send_now(h.peer, h.frame);
      if (r == send_result::gone) {
        still_gone.insert(h.peer);
        keep.push_back(std::move(h));
        continue;
      }
      if (auto i = held_peers_.find(h.peer); --i->second == 0)
        held_peers_.erase(i);
      if (r == send_result::sent) {
        held_delivered_.fetch_add(1, std::memory_order_relaxed);
      } else if (r == send_result::full) {
        backlog_[h.peer].push_back(std::move(h.frame));
        ++backlog_count_;
        ++in_flight_;
      } else {
        count_dropped("ZeroMQ refused it");
      }
    }
    held_.swap(keep);
    held_now_.store(held_.size(), std::memory_order_relaxed);
  }

  zmq_link_options opts_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  zmq::socket_t monitor_;            ///< the ROUTER's socket events
  std::optional<zmq::socket_t> zap_; ///< the ZAP handler, with CURVE
  std::unordered_set<std::string> allowed_keys_; ///< binary public keys
  std::string bound_;
  int wake_ = -1;
  bridge_actor bridge_;
  caf::actor_system* sys_ = nullptr;
  std::shared_ptr<query_port> udp_;
  bool paused_ = false; ///< intake held back for late timers
  std::vector<zmq::message_t> parts_; ///< the cast being read
  std::atomic<uint64_t> intake_pauses_{0};
  std::shared_ptr<zmq_link> self_; ///< handed to requests as status port
  std::thread thread_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> abort_{false};
  std::atomic<bool> forcing_{false};

  std::mutex mtx_;
  std::vector<out_item> outbox_;

  // Owned by the ZeroMQ thread.
  uint64_t in_flight_ = 0; ///< requests running plus replies queued
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, live_request> live_; ///< by token
  bool forced_ = false;
  bool drain_logged_ = false;
  std::unordered_map<std::string, std::deque<std::string>> backlog_;
  uint64_t backlog_count_ = 0; ///< replies in backlog_
  std::deque<held_reply> held_; ///< for pool managers that disconnected
  std::unordered_map<std::string, size_t> held_peers_; ///< count per peer
  clock::time_point held_retry_until_{};
  clock::time_point next_held_try_{};

  std::atomic<uint64_t> casts_{0};
  std::atomic<uint64_t> invalid_{0};
  std::atomic<uint64_t> replies_{0};
  std::atomic<uint64_t> undeliverable_{0};
  std::atomic<uint64_t> held_now_{0};
  std::atomic<uint64_t> in_flight_now_{0};
  std::atomic<uint64_t> held_delivered_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> zap_denied_{0};
  std::atomic<int64_t> connected_{0};
};

std::shared_ptr<zmq_link> bind_zmq_link(const zmq_link_options& opts) {
  return std::make_shared<zmq_link>(opts);
}

std::string bound_endpoint(const zmq_link& link) {
  return link.endpoint();
}

zmq_link_stats stats(const zmq_link& link) {
  return link.read_stats();
}

zmq_bridge_state::~zmq_bridge_state() {
  if (link)
    link->stop_now();
}

bridge_actor::behavior_type
zmq_bridge(bridge_actor::stateful_pointer<zmq_bridge_state> self,
           std::shared_ptr<zmq_link> link, std::shared_ptr<query_port> udp,
           caf::timespan drain_timeout, std::function<void()> on_stopped) {
  auto& st = self->state;
  st.link = std::move(link);
  st.drain_timeout = drain_timeout;
  st.on_stopped = std::move(on_stopped);
  st.link->start(self->system(), caf::actor_cast<bridge_actor>(self),
                 std::move(udp));
  return {
      [=](drain_atom) {
        auto& s = self->state;
        if (s.draining) {
          // A second signal: do not wait for the drain timeout.
          self->send(self, force_atom::value);
          return;
        }
        s.draining = true;
        spdlog::info("draining: up to {} ms for the requests in flight",
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         s.drain_timeout)
                         .count());
        s.link->start_draining();
        self->delayed_send(self, s.drain_timeout, force_atom::value);
      },
      [=](force_atom) { self->state.link->force(); },
      [=](stopped_atom) {
        auto& s = self->state;
        spdlog::info("all replies flushed; ZeroMQ socket closed");
        if (s.on_stopped)
          s.on_stopped();
        self->quit();
      },
  };
}

} // namespace minidns
