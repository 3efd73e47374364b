/// The UDP thread's sending (through flow control) and receiving
/// (matching replies and ICMP errors to attempts): see loop_impl.hpp.

#include "actors/udp/loop_impl.hpp"

#include <cerrno>
#include <sys/epoll.h>

namespace minidns {

void udp_io_loop::launch(table::request& req, uint64_t token, uint32_t attempt,
                         int64_t timeout_ns) {
  req.outstanding = attempt;
  auto& dest = req.peer;
  if (req.transport == net::transport::tcp) {
    launch_tcp(req, token, attempt, timeout_ns);
    return;
  }
  auto key = attempts_.choose(dest, dest.v6 ? v6_ : v4_, rng_);
  if (!key) {
    // No socket of that family, or no free ID for that destination.
    fail(req, token, attempt,
         (dest.v6 ? v6_ : v4_).empty() ? EAFNOSUPPORT : EADDRINUSE);
    return;
  }
  auto& out = batches_[key->socket].emplace_back();
  out.len = build(req, token, key->id, out.data, sizeof(out.data));
  if (out.len == 0) {
    batches_[key->socket].pop_back();
    fail(req, token, attempt, EMSGSIZE);
    return;
  }
  out.key = *key;
  out.kind = req.kind;
  out.to_len = dest.to_sockaddr(out.to);
  auto now = steady::now();
  attempts_.add(*key, req, token, attempt, now);
  start_timeout(req, token, attempt, timeout_ns, now);
  if (batches_[key->socket].size() == batch && !sockets_[key->socket].waiting)
    flush(key->socket);
}

void udp_io_loop::launch_tcp(table::request& req, uint64_t token,
                             uint32_t attempt, int64_t timeout_ns) {
  auto now = steady::now();
  if (!send_tcp(req, token, attempt, now))
    return;
  metrics::add(m_.queries[static_cast<size_t>(req.kind)]);
  start_timeout(req, token, attempt, timeout_ns, now);
}

void udp_io_loop::start_timeout(const table::request& req, uint64_t token,
                                uint32_t attempt, int64_t timeout_ns,
                                steady::time_point now) {
  // The timeout runs from here, not from when the datagram leaves at the
  // end of the turn: measured, timers started as datagrams left bunched
  // their deadlines into the flushes and tripled the p99 lateness with
  // 300,000 in flight (bench/RESULTS.md). A query that waited for flow
  // control starts its timeout here too, when it may leave.
  if (timeout_ns > 0)
    timers_.schedule({now + std::chrono::nanoseconds(timeout_ns), token,
                      attempt, timer_kind::attempt_timeout, req.kind});
}

bool udp_io_loop::send_tcp(table::request& req, uint64_t token,
                           uint32_t attempt, steady::time_point now) {
  int err = 0;
  metrics::add(m_.udp.tcp_queries);
  if (tcp_->send(req.peer, tcp_waiter{token, attempt, req.kind}, now, err))
    return true;
  fail(req, token, attempt, err);
  return false;
}

void udp_io_loop::launch_ready() {
  if (!flow_.has_ready() && !flow_due())
    return;
  auto now = steady::now();
  for (;;) {
    ready_.clear();
    flow_.take_ready(now, ready_);
    if (ready_.empty())
      return;
    for (auto& r : ready_) {
      auto* req = attempts_.find_request(r.query.token);
      if (req == nullptr)
        flow_.ended(r.destination, now);
      else
        launch(*req, r.query.token, r.query.attempt, r.query.timeout_ns);
    }
  }
}

bool udp_io_loop::flow_due() const {
  auto due = flow_.next_due();
  return due && *due <= steady::now();
}

void udp_io_loop::settle(table::request& req, uint32_t attempt) {
  if (attempt == 0 || req.outstanding != attempt)
    return;
  req.outstanding = 0;
  if (flow_.active()) // no clock read per reply while flow control is off
    flow_.ended(req.peer, steady::now());
}

void udp_io_loop::flush_all() {
  for (auto& [idx, out] : batches_)
    if (!out.empty() && !sockets_[idx].waiting)
      flush(idx);
}

void udp_io_loop::flush(uint32_t idx) {
  auto& out = batches_[idx];
  auto sent = send_datagrams(
      sockets_[idx].fd, out.size(), sendmmsg_hook_,
      [&out](size_t i) {
        auto& o = out[i];
        return datagram_out{o.data, o.len, &o.to, o.to_len};
      },
      [&](size_t i) {
        metrics::add(m_.queries[static_cast<size_t>(out[i].kind)]);
      },
      [&](size_t i, int err) {
        if (auto m = attempts_.find(out[i].key)) {
          attempts_.kill(out[i].key);
          fail(*m.req, m.att->token, m.att->number, err);
        }
      },
      [&](size_t, int) { metrics::add(m_.udp.send_retries); });
  if (sent < out.size()) {
    metrics::add(m_.udp.send_waits);
    out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(sent));
    wait_for_room(idx, true);
    return;
  }
  out.clear();
}

void udp_io_loop::wait_for_room(uint32_t idx, bool on) {
  epoll_event ev{};
  ev.events = on ? uint32_t{EPOLLIN | EPOLLOUT} : uint32_t{EPOLLIN};
  ev.data.u32 = idx;
  if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, sockets_[idx].fd, &ev) == 0)
    sockets_[idx].waiting = on;
}

void udp_io_loop::read_errors(uint32_t idx) {
  icmp_error e;
  for (int i = 0; i < 64; ++i) {
    auto r = read_error_queue(sockets_[idx].fd, e);
    if (r == error_queue::empty)
      return;
    auto m = r == error_queue::ours
                 ? attempts_.find(wire_key{e.peer, idx, e.id})
                 : table::match{};
    if (!m) {
      metrics::add(m_.udp.icmp_unmatched);
      continue;
    }
    metrics::add(m_.udp.icmp_matched);
    settle(*m.req, m.att->number);
    tell(m.req->owner, send_error_atom::value, m.att->number, e.err);
    for (auto ride : sharing_.closed(m.att->token, m.att->number))
      if (auto* rider = attempts_.find_request(ride.token))
        tell(rider->owner, send_error_atom::value, ride.attempt, e.err);
  }
}

void udp_io_loop::receive(uint32_t idx) {
  for (int round = 0; round < max_read_rounds; ++round) {
    auto n = reader_.read(sockets_[idx].fd);
    metrics::add(m_.udp.received, n);
    for (size_t i = 0; i < n; ++i)
      accept(idx, reader_.data(i), reader_.size(i), reader_.from(i));
    if (n < datagram_reader::batch)
      return;
  }
}

void udp_io_loop::accept(uint32_t idx, const uint8_t* data, size_t len,
                         const std::optional<net::endpoint>& peer) {
  wire_key key{peer.value_or(net::endpoint{}), idx, net::peek_id(data, len)};
  auto m = peer && len >= 12 ? attempts_.find(key) : table::match{};
  if (!m) {
    metrics::add(m_.udp.unmatched);
    return;
  }
  auto info = net::check_reply(
      data, len, net::expected_reply{m.req->kind, key.id, m.req->qname});
  if (info.match != net::reply_match::accepted) {
    metrics::add(m_.udp.mismatched);
    return;
  }
  if (info.tc && m.att->number == m.req->outstanding) {
    metrics::add(m_.rcodes[info.rcode & 0xf]);
    // Truncated (RFC 7766): the same attempt asks again over TCP, with a
    // fresh ID; its timeout goes on. A copy of the truncated datagram
    // must not ask a second time.
    attempts_.kill(key);
    send_tcp(*m.req, m.att->token, m.att->number, steady::now());
    return;
  }
  // TC=1 above settles nothing, so it is not checked: it only moves the
  // attempt to TCP, where the whole reply is.
  if (m.req->tsig != 0 &&
      !signed_ok(*m.req, m.att->token, key.id, data, len, info))
    return;
  metrics::add(m_.rcodes[info.rcode & 0xf]);
  settle(*m.req, m.att->number);
  m_.rtt[static_cast<size_t>(m.req->kind)].observe(
      std::chrono::duration<double>(steady::now() - m.att->sent_at).count());
  tell(m.req->owner, answer_atom::value, m.att->number, info);
  if (m.req->kind == net::query_kind::soa)
    tell_riders(m.att->token, m.att->number, info);
}

void udp_io_loop::fail(table::request& req, uint64_t token, uint32_t attempt,
                       int err) {
  metrics::add(m_.udp.send_errors);
  settle(req, attempt);
  tell(req.owner, send_error_atom::value, attempt, err);
  if (req.kind == net::query_kind::soa)
    for (auto r : sharing_.closed(token, attempt))
      if (auto* rider = attempts_.find_request(r.token))
        tell(rider->owner, send_error_atom::value, r.attempt, err);
}

void udp_io_loop::tell_riders(uint64_t token, uint32_t attempt,
                              const net::reply_info& info) {
  for (auto r : sharing_.answered(token, attempt))
    if (auto* rider = attempts_.find_request(r.token)) {
      metrics::add(m_.udp.shared_answers);
      tell(rider->owner, answer_atom::value, r.attempt, info);
    }
}

bool udp_io_loop::accept_tcp(const tcp_waiter& w, uint16_t id,
                             std::string_view msg) {
  auto* req = attempts_.find_request(w.token);
  if (req == nullptr)
    return true; // the request ended meanwhile
  auto info =
      net::check_reply(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(),
                       net::expected_reply{w.kind, id, req->qname});
  if (info.match != net::reply_match::accepted) {
    metrics::add(m_.udp.mismatched);
    return false;
  }
  if (req->tsig != 0 && !signed_ok(*req, w.token, id,
                                   reinterpret_cast<const uint8_t*>(msg.data()),
                                   msg.size(), info))
    return false; // the signed reply may still come
  info.tcp = true;
  metrics::add(m_.rcodes[info.rcode & 0xf]);
  settle(*req, w.attempt);
  tell(req->owner, answer_atom::value, w.attempt, info);
  if (req->kind == net::query_kind::soa)
    tell_riders(w.token, w.attempt, info);
  return true;
}

size_t udp_io_loop::build(const table::request& req, uint64_t token,
                          uint16_t id, uint8_t* out, size_t cap) {
  size_t len =
      net::build_query(req.kind, id, req.qname, out, cap, req.soa_hint);
  if (len == 0 || req.tsig == 0)
    return len;
  const auto* key = keys_ ? keys_->get(req.tsig) : nullptr;
  if (key == nullptr)
    return 0;
  // Every attempt (and its TCP retry) is signed afresh: a new ID and time.
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string mac;
  len = net::tsig_sign(out, len, cap, *key, static_cast<uint64_t>(now), mac);
  if (len == 0)
    return 0;
  auto& macs = macs_[token];
  // Late replies to the last few queries still count; older ones are
  // dropped as unsigned.
  if (macs.size() == 8)
    macs.erase(macs.begin());
  macs.push_back({id, std::move(mac)});
  return len;
}

bool udp_io_loop::signed_ok(const table::request& req, uint64_t token,
                            uint16_t id, const uint8_t* data, size_t len,
                            net::reply_info& info) {
  const auto* key = keys_ ? keys_->get(req.tsig) : nullptr;
  auto macs = macs_.find(token);
  const signed_query* q = nullptr;
  if (key != nullptr && macs != macs_.end())
    for (const auto& s : macs->second)
      if (s.id == id)
        q = &s;
  if (q == nullptr) {
    metrics::add(m_.udp.tsig_dropped);
    return false;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto check =
      net::tsig_verify(data, len, *key, q->mac, static_cast<uint64_t>(now));
  if (check.status == net::tsig_status::ok)
    return true;
  if (check.status == net::tsig_status::server_error) {
    info.tsig_error = check.error;
    return true;
  }
  metrics::add(m_.udp.tsig_dropped);
  return false;
}

} // namespace minidns
