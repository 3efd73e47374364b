#pragma once
/// The ZeroMQ thread's class, shared by its two source files: loop.cpp (the
/// loop and the drain) and intake.cpp (reading casts, fair intake across
/// pool managers, NOTIFY coalescing, starting requests, sending their
/// replies). Private to actors/zmq/.

#include "actors/handoff.hpp"
#include "actors/request.hpp"
#include "actors/zmq/connections.hpp"
#include "actors/zmq/drain.hpp"
#include "actors/zmq/intake_queues.hpp"
#include "actors/zmq/loop.hpp"
#include "actors/zmq/memory_trim.hpp"
#include "actors/zmq/notify_coalescer.hpp"
#include "actors/zmq/pool_tally.hpp"
#include "actors/zmq/reply_router.hpp"
#include "messages/cast.hpp"
#include "metrics/registry.hpp"

#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

namespace minidns {

namespace zmq_loop_detail {

/// Whether attempt timers are so late (`lag_ns`) that casts must wait in
/// ZeroMQ: the deadlines of accepted requests come before new work.
inline bool too_late(int64_t lag_ns) {
  return lag_ns > 2'000'000;
}

/// Most casts read per wake-up before the thread looks at its outbox again.
constexpr int read_burst = 1024;

/// A request ended: its reply for the ZeroMQ thread, if it has one.
struct out_item {
  uint64_t token = 0;
  std::string frame; ///< empty: nothing to send (a notify)
  request_end end;   ///< for the NOTIFY casts merged into it
};

/// A NOTIFY cast waiting to follow an identical one that runs.
struct waiting_notify {
  messages::cast cast;
  std::string peer;
};

/// A NOTIFY cast merged into a waiting one that wants its status.
struct rider {
  std::string peer;
  std::string reply_prefix;
};

/// A request the ZeroMQ thread started and waits for.
struct live_request {
  caf::actor handle;      ///< null once told to stop (cancel_atom)
  std::string peer;       ///< ZeroMQ routing id of the pool manager
  std::string request_id; ///< raw msgpack, for cancel (empty: none)
};

/// A poll across several destinations: one request per destination, one
/// status for all of them.
struct pool_poll {
  std::string peer;
  std::string reply_prefix;     ///< messages::pool_status_prefix
  std::string request_id;       ///< raw msgpack, for cancel (empty: none)
  std::vector<std::string> raw; ///< each destination as the cast wrote it
  pool_tally tally;
  /// Set once the outcome is decided: the requests still running send no
  /// more queries (request_state::stop).
  std::shared_ptr<std::atomic<bool>> stop;
  std::vector<uint64_t> tokens; ///< the requests, by destination
  size_t running = 0;           ///< requests not ended yet
  bool told = false;            ///< those running were told to stop
};

/// A cancel whose reply waits for the ends of the casts it cancelled, so
/// that their statuses reach the pool manager before it.
struct pending_cancel {
  std::string peer;
  std::string request_id;
  uint64_t count = 0;   ///< casts it ended
  uint64_t waiting = 0; ///< of which not ended yet
};

/// The one status of a cast that ends before it starts (refused while
/// draining, busy, cancelled in the queue): ERROR with `detail`, and
/// `reason` as "error" when not empty. A pool poll's lists every
/// destination as PENDING.
std::string unstarted_status(messages::cast& c, std::string_view detail,
                             std::string_view reason = {});

} // namespace zmq_loop_detail

using namespace zmq_loop_detail;

/// The ZeroMQ thread and the ROUTER socket it owns. Each turn of its loop
/// (run) waits on the socket, the outbox's eventfd, the socket monitor and
/// the ZAP handler; sends the replies of ended requests; reads casts while
/// intake is open; and asks the drain whether to stop.
class zmq_bridge_loop : public status_port,
                        public std::enable_shared_from_this<zmq_bridge_loop> {
public:
  using clock = std::chrono::steady_clock;

  explicit zmq_bridge_loop(const zmq_bridge_options& opts)
      : opts_(opts),
        m_(opts.metrics != nullptr ? *opts.metrics : metrics::global()),
        ctx_(1), sock_(ctx_, zmq::socket_type::router),
        router_(
            {opts.reply_hold, opts.reply_hold_max},
            [this](const std::string& peer, const std::string& frame) {
              return send_now(peer, frame);
            },
            [](const char* why, uint64_t n) {
              if (is_power_of_two(n))
                spdlog::warn("dropped a reply: {}; {} dropped so far", why, n);
            },
            [](uint64_t held) {
              spdlog::debug("holding a reply for a pool manager that is "
                            "not connected ({} held)",
                            held);
            }),
        drain_(opts.linger), intake_(opts.max_queued_per_pool_manager) {
    // CURVE (when set) and the socket monitor: who may connect, and when
    // a pool manager may be back for its held replies.
    watch_.emplace(ctx_, sock_, opts.curve, opts.curve_clients, m_.zmq);
    m_.zmq.max_in_flight.store(opts.max_in_flight, std::memory_order_relaxed);
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
      throw std::runtime_error("minidns.endpoint: cannot bind '" +
                               opts.endpoint + "': " + e.what());
    }
    bound_ = sock_.get(zmq::sockopt::last_endpoint);
  }

  ~zmq_bridge_loop() override { stop_now(); }

  void start(caf::actor_system& sys, zmq_bridge_actor bridge,
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
  void done(uint64_t token, std::string frame, request_end end) override {
    if (outbox_.push({token, std::move(frame), end}))
      outbox_.wake();
  }

  void start_draining() {
    draining_.store(true);
    outbox_.wake();
  }

  void force() {
    forcing_.store(true);
    outbox_.wake();
  }

  void stop_now() {
    abort_.store(true);
    outbox_.wake();
    if (thread_.joinable())
      thread_.join();
    // Requests hold the loop as their status port; the loop held itself
    // for them. Callers hold it too, so this is never the last reference.
    live_.clear();
    udp_.reset();
    self_.reset();
  }

  const std::string& endpoint() const { return bound_; }

private:
  // -- the loop ------------------------------------------------------------

  void run();

  /// Most casts read and not started, all pool managers together.
  uint64_t read_ahead() const {
    return opts_.max_in_flight + opts_.max_queued_per_pool_manager;
  }

  /// Requests running or waiting to start: what the drain waits for and
  /// the memory trim watches settle.
  uint64_t requests_held() const { return live_.size() + waiting_.size(); }

  /// Requests running plus replies queued: what max-in-flight bounds.
  uint64_t in_flight() const {
    return requests_held() + router_.queued() + riders_count_;
  }

  /// Whether attempt timers run late (the UDP thread is saturated): then
  /// no new casts are taken until it has caught up; they wait in ZeroMQ.
  bool intake_paused() {
    auto lag = udp_->timer_lag_ns();
    bool late = too_late(lag);
    if (late && !paused_) {
      auto n = m_.zmq.intake_pauses.fetch_add(1, std::memory_order_relaxed) + 1;
      if (is_power_of_two(n))
        spdlog::warn("attempt timers are {} ms late: new casts wait in "
                     "ZeroMQ until they catch up (pause {})",
                     lag / 1'000'000, n);
    }
    paused_ = late;
    return late;
  }

  /// How long zmq_poll may wait: for ever, unless replies wait for a pool
  /// manager's pipe, a reconnection or their hold time, the drain's linger
  /// deadline, late timers make intake look again soon, or memory is due
  /// a look after work (memory_trim).
  std::chrono::milliseconds poll_timeout(bool timers_late) const {
    using std::chrono::milliseconds;
    const auto now = clock::now();
    auto t = router_.next_wakeup(now);
    auto d = drain_.next_wakeup();
    if (d && (!t || *d < *t))
      t = d;
    if (timers_late && (!t || *t > milliseconds(1)))
      t = milliseconds(1);
    auto m = trim_.next_wakeup(now);
    if (m && (!t || *m < *t))
      t = m;
    return t.value_or(milliseconds(-1));
  }

  /// Sends the replies of the requests that ended.
  void send_replies(clock::time_point now);

  /// Tells the NOTIFY casts merged into request `token` (those that want
  /// a status) how it ended.
  void tell_riders(uint64_t token, const request_end& end,
                   clock::time_point now);

  /// The drain timeout expired: every request still running ends now.
  void end_requests() {
    if (!live_.empty())
      spdlog::warn("drain timeout: ending {} request(s) with ERROR shutdown",
                   live_.size());
    for (auto& [token, req] : live_)
      if (req.handle) // null: told to stop already (its pool poll decided)
        caf::anon_send(caf::actor_cast<request_actor>(req.handle),
                       shutdown_atom::value);
    // NOTIFYs waiting to follow one never start: they end as it does.
    auto now = clock::now();
    const request_end shut{false, net::detail::shutdown, std::nullopt,
                           net::detail::shutdown};
    for (auto token : coalescer_.drop_waiting()) {
      auto w = waiting_.find(token);
      if (w == waiting_.end())
        continue;
      if (w->second.cast.wants_status)
        router_.route(std::move(w->second.peer),
                      messages::finish_status(
                          std::move(w->second.cast.reply_prefix),
                          messages::status::error, std::nullopt, "shutdown"),
                      now);
      waiting_.erase(w);
      tell_riders(token, shut, now);
    }
  }

  /// At the end of the linger time: drops what pool managers did not take.
  void drop_leftovers() {
    auto held = router_.held();
    auto n = router_.drop_all();
    if (n > 0)
      spdlog::error("dropping {} replies that pool managers did not take "
                    "within the linger time ({} for pool managers that had "
                    "disconnected)",
                    n, held);
    publish();
  }

  /// Looks at memory and hands what is resident but not in use back to
  /// the system when that is much and the load (requests running or
  /// waiting) has settled (memory_trim): after a burst, RSS comes down.
  void look_at_heap(clock::time_point now);

  /// Makes the thread's figures readable from other threads.
  void publish() {
    auto& z = m_.zmq;
    z.in_flight.store(in_flight(), std::memory_order_relaxed);
    z.queued.store(intake_.size(), std::memory_order_relaxed);
    z.held.store(router_.held(), std::memory_order_relaxed);
    z.undeliverable.store(router_.counts().dropped, std::memory_order_relaxed);
    z.held_delivered.store(router_.counts().held_delivered,
                           std::memory_order_relaxed);
  }

  // -- casts ---------------------------------------------------------------

  void read_casts(clock::time_point now);

  /// Decodes the cast in parts_[1] and starts its request, or answers with
  /// an error naming the field (or the drain).
  void take_cast(std::string peer, clock::time_point now);

  /// Answers a cast of a pool manager whose queue is full at once, naming
  /// the limit, so that it can go to another instance.
  void busy(std::string peer, messages::cast c, clock::time_point now);

  /// The drain began: casts read but not started are refused like casts
  /// that come now.
  void refuse_queued(clock::time_point now);

  /// Refuses cast `c` from `peer` because minidns is shutting down: a
  /// status with detail shutdown, or an error for a notify.
  void refuse_draining(std::string peer, messages::cast c,
                       clock::time_point now);

  /// Starts queued casts round-robin across pool managers while there is
  /// room: below max-in-flight in all, or below its share for a pool
  /// manager (max-in-flight / pool managers with work), so that one pool
  /// manager's backlog never holds up another's casts.
  void start_ready();

  /// Starts cast `c` from `peer`, unless an identical NOTIFY runs
  /// (notify_coalescer).
  void admit(std::string peer, messages::cast c);

  /// Starts the request for cast `c` from `peer`, here, on this thread: its
  /// first attempt goes straight to the UDP thread, and its actor first
  /// runs when that attempt is answered or times out.
  void start_now(uint64_t token, messages::cast c, std::string peer,
                 std::shared_ptr<const std::atomic<bool>> stop = {});

  /// The config's defaults for the cast's destination: the transport
  /// (minidns.tcp-destinations) and the TSIG key (minidns.tsig-destinations)
  /// when the cast names none.
  void apply_defaults(messages::cast& c) const;

  /// Starts a poll across several destinations (`c.pool`): one request
  /// per destination, tallied under `token`.
  void start_pool(uint64_t token, messages::cast c, std::string peer);

  /// The request of destination `index` of pool poll `pool` ended.
  void pool_request_ended(uint64_t pool, uint32_t index, const request_end& end,
                          clock::time_point now);

  /// Pool poll `id` is decided: stops its requests still running; once
  /// all have ended, sends its status.
  void settle_pool(uint64_t id, clock::time_point now);

  /// Takes cancel `c` from `peer`: ends the casts it names.
  void cancel(std::string peer, messages::cast c, clock::time_point now);

  /// A cast that a cancel waits for (request or pool poll `token`) ended.
  void cancel_target_ended(uint64_t token, clock::time_point now);

  /// One try to hand a reply to ZeroMQ; never blocks.
  send_result send_now(const std::string& peer, const std::string& frame) {
    try {
      if (!sock_.send(zmq::buffer(peer),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return send_result::full;
      sock_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      metrics::add(m_.zmq.replies);
      return send_result::sent;
    } catch (const zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH)
        return send_result::gone;
      spdlog::error("sending a reply: {}", e.what());
      return send_result::failed;
    }
  }

  zmq_bridge_options opts_;
  metrics::registry& m_; ///< where the thread counts
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::optional<connection_watch> watch_; ///< CURVE and the monitor
  std::string bound_;
  zmq_bridge_actor bridge_;
  caf::actor_system* sys_ = nullptr;
  std::shared_ptr<query_port> udp_;
  std::shared_ptr<zmq_bridge_loop> self_; ///< handed to requests as port
  std::thread thread_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> abort_{false};
  std::atomic<bool> forcing_{false};

  handoff<out_item> outbox_; ///< replies from requests, any thread

  // Owned by the ZeroMQ thread.
  reply_router router_;
  drain_machine drain_;
  bool paused_ = false; ///< intake held back for late timers
  bool drain_logged_ = false;
  memory_trim trim_; ///< when to return freed memory
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, live_request> live_; ///< by token
  intake_queues<messages::cast> intake_; ///< read, not started: per peer
  std::unordered_map<std::string, uint64_t> per_peer_; ///< live_ per peer
  notify_coalescer coalescer_; ///< NOTIFYs: one stream per zone and server
  std::unordered_map<uint64_t, waiting_notify> waiting_; ///< to follow one
  /// Merged NOTIFY casts that want a status, by the token they ride with.
  std::unordered_map<uint64_t, std::vector<rider>> riders_;
  size_t riders_count_ = 0;
  std::unordered_map<uint64_t, pool_poll> pools_; ///< by their own token
  /// Requests of pool polls: token -> (pool poll, destination index).
  std::unordered_map<uint64_t, std::pair<uint64_t, uint32_t>> pool_of_;
  std::unordered_map<uint64_t, pending_cancel> cancels_; ///< by number
  /// Casts that cancels wait for: token -> the cancel's number.
  std::unordered_map<uint64_t, uint64_t> cancelling_;
  uint64_t next_cancel_ = 1;
  std::vector<out_item> work_;        ///< the outbox being sent
  std::vector<zmq::message_t> parts_; ///< the cast being read
};

} // namespace minidns
