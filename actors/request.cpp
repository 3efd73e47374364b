#include "actors/request.hpp"

#include "actors/light_actor.hpp"
#include "metrics/registry.hpp"
#include "net/dns_name.hpp"
#include "net/verdict.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_actor.hpp>
#include <chrono>
#include <cstring>
#include <spdlog/spdlog.h>

namespace minidns {

namespace {

/// The request actor: a light_actor (CAF's address, handle and scheduling,
/// without scheduled_actor's machinery) holding a request_state, with the
/// handlers of request_actor's interface.
class request final : public light_actor {
public:
  explicit request(caf::actor_config& cfg) : light_actor(cfg) {}
  request_state state;
  const char* name() const override { return request_state::name; }

  /// Ended: lets go of the UDP side, the sink and the stop flag at once
  /// (the UDP thread may hold an ended request a little longer, and the
  /// UDP side holding it must not keep itself alive through it).
  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    if (!light_actor::cleanup(std::move(reason), host))
      return false;
    state.udp.reset();
    state.sink.reset();
    state.stop.reset();
    return true;
  }

  /// A reference to this request, for the UDP side to answer.
  caf::strong_actor_ptr strong_self() const {
    return caf::strong_actor_ptr{ctrl()};
  }

protected:
  void handle(caf::type_erased_tuple& msg) override;
};

using self_ptr = request*;

bool is_poll(const request_state& st) {
  return messages::is_poll(st.cast.kind);
}

size_t method_index(const request_state& st) {
  return is_poll(st) ? 1 : 0;
}

bool debug_enabled() {
  return spdlog::default_logger_raw()->should_log(spdlog::level::debug);
}

/// Lets at most `per_second` log lines through each second, from any
/// thread, and counts the rest: a dead DNS server must not turn every one
/// of its zones' polls into a log line (the metrics count them all).
class log_budget {
public:
  explicit log_budget(uint32_t per_second) : per_second_(per_second) {}

  /// True when a line may be logged now; `suppressed` is then the number
  /// of lines held back since the last one let through.
  bool take(uint64_t& suppressed) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    auto window = window_.load(std::memory_order_relaxed);
    if (now != window &&
        window_.compare_exchange_strong(window, now, std::memory_order_relaxed))
      used_.store(0, std::memory_order_relaxed);
    if (used_.fetch_add(1, std::memory_order_relaxed) < per_second_) {
      suppressed = held_back_.exchange(0, std::memory_order_relaxed);
      return true;
    }
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

private:
  const uint32_t per_second_;
  std::atomic<int64_t> window_{0};
  std::atomic<uint32_t> used_{0};
  std::atomic<uint64_t> held_back_{0};
};

/// Failed requests (ERROR polls, NOTIFYs given up or refused) logged per
/// second at most.
log_budget failure_lines{50};

/// " (N similar lines not logged)" or "".
std::string held_back(uint64_t n) {
  return n == 0 ? std::string{}
                : fmt::format(" ({} similar line(s) not logged)", n);
}

std::string describe(const request_state& st) {
  return fmt::format("{} {} -> {}", is_poll(st) ? "poll" : "notify",
                     net::wire_to_text(st.cast.zone_wire),
                     st.cast.destination.to_string());
}

void send_attempt(self_ptr self) {
  auto& st = self->state;
  // Decided elsewhere: the cancel that ends this request is on its way.
  if (st.stop && st.stop->load(std::memory_order_acquire))
    return;
  ++st.attempt;
  st.outstanding = true;
  dns_query q;
  q.token = st.token;
  q.attempt = st.attempt;
  q.kind = is_poll(st) ? net::query_kind::soa : net::query_kind::notify;
  q.destination = st.cast.destination;
  q.transport = st.cast.transport.value_or(net::transport::udp);
  q.qname_wire = st.cast.zone_wire;
  q.soa_hint = st.cast.soa_hint;
  q.tsig = st.cast.tsig;
  // The UDP thread keeps the attempt's timer (from when it takes the query):
  // cheaper than CAF's clock, and gone with the request.
  q.timeout_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(st.cast.timeout)
          .count();
  st.udp->query(self->strong_self(), std::move(q));
}

/// Ends the request: counts its outcome, frees its query IDs and hands
/// `frame` (empty for none) to the sink.
void end(self_ptr self, std::string frame, bool success, net::detail detail) {
  auto& st = self->state;
  auto& m = metrics::global();
  m.request_ended(static_cast<metrics::method_label>(method_index(st)), success,
                  detail);
  m.duration[method_index(st)].observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                    st.started)
          .count());
  st.udp->release(st.token);
  st.sink->done(st.token, std::move(frame),
                request_end{success, detail, st.last_serial, st.last_detail});
  self->quit(caf::make_error(caf::exit_reason::normal));
}

/// Ends the request with a status: the reply for polls, a log line for
/// failures.
void finish(self_ptr self, messages::status status, net::detail detail) {
  auto& st = self->state;
  std::string frame;
  if (st.cast.wants_status)
    frame = messages::finish_status(std::move(st.cast.reply_prefix), status,
                                    st.last_serial, net::to_string(detail));
  end(self, std::move(frame), status == messages::status::success, detail);
  // Logged once the request has ended (the state lives until this handler
  // returns): whoever reads a request's last line may rely on its end.
  uint64_t skipped = 0;
  if (detail == net::detail::cancelled)
    return; // asked for: the cancel is logged once for all it ended
  if (is_poll(st)) {
    if (status == messages::status::error) {
      if (failure_lines.take(skipped))
        spdlog::warn("{}: ERROR after {} attempt(s): {} (last serial {}){}",
                     describe(st), st.attempt, net::to_string(detail),
                     st.last_serial ? std::to_string(*st.last_serial) : "none",
                     held_back(skipped));
    } else if (debug_enabled()) {
      spdlog::debug("{}: SUCCESS ({}) serial {}", describe(st),
                    net::to_string(detail), st.last_serial.value_or(0));
    }
  } else if (status == messages::status::error && failure_lines.take(skipped)) {
    spdlog::warn("{}: gave up after {} attempt(s): {}{}", describe(st),
                 st.attempt, net::to_string(detail), held_back(skipped));
  }
}

/// Sends the next attempt after `wait`: at once when it is zero, else when
/// the pause the UDP thread keeps (with the attempt timers) is over.
void next_attempt_after(self_ptr self, std::chrono::microseconds wait) {
  auto& st = self->state;
  if (wait.count() == 0) {
    send_attempt(self);
    return;
  }
  st.udp->pause(
      self->strong_self(), st.token, st.attempt,
      std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count());
}

/// The current attempt failed (timeout, send error, unsettling answer):
/// schedule the next one or end with ERROR.
void attempt_failed(self_ptr self) {
  auto& st = self->state;
  st.outstanding = false;
  if (st.attempt >= 1 + uint64_t{st.cast.max_retries}) {
    finish(self, messages::status::error, st.last_detail);
    return;
  }
  next_attempt_after(self, st.cast.retry_interval);
}

/// A notify's update_status when its cast asked for one (want_status),
/// else none.
std::string notify_status(request_state& st, messages::status status,
                          net::detail detail) {
  if (!st.cast.wants_status)
    return {};
  return messages::finish_status(std::move(st.cast.reply_prefix), status,
                                 std::nullopt, net::to_string(detail));
}

void on_notify_answer(self_ptr self, uint32_t attempt,
                      const net::reply_info& info) {
  auto& st = self->state;
  switch (net::classify_notify(info.rcode)) {
  case net::notify_verdict::acknowledged:
    end(self,
        notify_status(st, messages::status::success, net::detail::acknowledged),
        true, net::detail::acknowledged);
    if (debug_enabled()) // after the end, as in finish()
      spdlog::debug("{}: acknowledged", describe(st));
    return;
  case net::notify_verdict::final_error:
    // A refusal is an answer, not a failure to get one: no resend.
    end(self,
        notify_status(st, messages::status::error,
                      net::rcode_detail(info.rcode)),
        false, net::rcode_detail(info.rcode));
    if (uint64_t skipped = 0; failure_lines.take(skipped))
      spdlog::warn("{}: refused with {}; not resending{}", describe(st),
                   net::rcode_name(info.rcode), held_back(skipped));
    return;
  case net::notify_verdict::retry:
    st.last_detail = net::rcode_detail(info.rcode);
    if (attempt == st.attempt && st.outstanding)
      attempt_failed(self);
    return;
  }
}

void on_poll_answer(self_ptr self, uint32_t attempt,
                    const net::reply_info& info) {
  auto& st = self->state;
  auto outcome = net::classify_for(info, st.cast.goal, st.cast.serial);
  if (outcome.has_serial)
    st.last_serial = outcome.serial;
  if (outcome.verdict == net::poll_verdict::reached) {
    finish(self, messages::status::success, outcome.detail);
    return;
  }
  st.last_detail = outcome.detail;
  // A late reply to an earlier attempt informs, but does not change the
  // schedule of the current one.
  if (attempt == st.attempt && st.outstanding)
    attempt_failed(self);
}

/// Fills the state of a request that has not run yet.
void init(request_state& st, uint64_t token, messages::cast cast,
          std::shared_ptr<query_port> udp, std::shared_ptr<status_port> sink,
          std::shared_ptr<const std::atomic<bool>> stop) {
  st.token = token;
  st.stop = std::move(stop);
  st.cast = std::move(cast);
  st.udp = std::move(udp);
  st.sink = std::move(sink);
  st.started = std::chrono::steady_clock::now();
}

void on_answer(self_ptr self, uint32_t attempt, const net::reply_info& info) {
  if (info.tsig_error != 0) {
    // The server refused our signature (RFC 8945 5.2): asking again with
    // the same key gets the same answer.
    finish(self, messages::status::error, net::tsig_detail(info.tsig_error));
    return;
  }
  if (is_poll(self->state))
    on_poll_answer(self, attempt, info);
  else
    on_notify_answer(self, attempt, info);
}

void on_send_error(self_ptr self, uint32_t attempt, int err) {
  auto& s = self->state;
  if (attempt != s.attempt || !s.outstanding)
    return;
  if (debug_enabled())
    spdlog::debug("{}: attempt {} failed: {}", describe(s), attempt,
                  std::strerror(err));
  s.last_detail = net::failure_detail(err);
  attempt_failed(self);
}

void on_timeout(self_ptr self, uint32_t attempt) {
  auto& s = self->state;
  if (attempt != s.attempt || !s.outstanding)
    return;
  s.last_detail = net::detail::timeout;
  metrics::add(metrics::global().timeouts[method_index(s)]);
  attempt_failed(self);
}

void on_retry(self_ptr self, uint32_t attempt) {
  auto& s = self->state;
  if (attempt == s.attempt && !s.outstanding)
    send_attempt(self);
}

/// The handlers of request_actor's interface (actors/interfaces.hpp), one
/// line each.
void request::handle(caf::type_erased_tuple& m) {
  if (m.match_elements<answer_atom, uint32_t, net::reply_info>())
    on_answer(this, m.get_as<uint32_t>(1), m.get_as<net::reply_info>(2));
  else if (m.match_elements<send_error_atom, uint32_t, int>())
    on_send_error(this, m.get_as<uint32_t>(1), m.get_as<int>(2));
  else if (m.match_elements<timeout_atom, uint32_t>())
    on_timeout(this, m.get_as<uint32_t>(1));
  else if (m.match_elements<retry_atom, uint32_t>())
    on_retry(this, m.get_as<uint32_t>(1));
  else if (m.match_elements<shutdown_atom>())
    finish(this, messages::status::error, net::detail::shutdown);
  else if (m.match_elements<cancel_atom>())
    finish(this, messages::status::error, net::detail::cancelled);
  else
    spdlog::debug("{}: unexpected message {} dropped", describe(state),
                  caf::to_string(m));
}

} // namespace

request_actor start_request(caf::actor_system& sys, uint64_t token,
                            messages::cast cast,
                            std::shared_ptr<query_port> udp,
                            std::shared_ptr<status_port> sink,
                            std::shared_ptr<const std::atomic<bool>> stop) {
  caf::actor_config cfg;
  auto handle = caf::make_actor<request, request_actor>(sys.next_actor_id(),
                                                        sys.node(), &sys, cfg);
  // The actor does not run before its first message, and none can come
  // before attempt 1 (or its delay) is handed over below: until then its
  // state is this thread's.
  auto self =
      static_cast<request*>(caf::actor_cast<caf::abstract_actor*>(handle));
  self->launch();
  init(self->state, token, std::move(cast), std::move(udp), std::move(sink),
       std::move(stop));
  next_attempt_after(self, self->state.cast.delay); // `delay`: 0 by default
  return handle;
}

} // namespace minidns
