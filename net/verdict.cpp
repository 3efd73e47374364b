#include "net/verdict.hpp"

#include "net/serial.hpp"

#include <cerrno>

namespace minidns::net {

namespace {

poll_outcome unusable(net::detail detail) {
  poll_outcome out;
  out.verdict = poll_verdict::unusable;
  out.detail = detail;
  return out;
}

} // namespace

notify_verdict classify_notify(uint8_t rcode) noexcept {
  switch (rcode) {
  case rcode_noerror:
    return notify_verdict::acknowledged;
  case rcode_formerr:
  case rcode_nxdomain:
  case rcode_notimp:
  case rcode_refused:
  case rcode_notauth:
    return notify_verdict::final_error;
  default:
    return notify_verdict::retry;
  }
}

poll_outcome classify_poll(const reply_info& reply,
                           uint32_t expected) noexcept {
  if (reply.rcode != rcode_noerror)
    return unusable(rcode_detail(reply.rcode));
  if (reply.tc)
    return unusable(reply.tcp ? detail::truncated_tcp : detail::truncated);
  if (!reply.aa)
    return unusable(detail::not_authoritative);
  switch (reply.soa) {
  case soa_state::found:
    break;
  case soa_state::none:
    return unusable(detail::no_soa);
  case soa_state::multiple:
    return unusable(detail::multiple_soa);
  case soa_state::malformed:
    return unusable(detail::malformed_answer);
  case soa_state::not_checked:
  default:
    // Not a checked SOA reply (e.g. a NOTIFY reply passed by mistake).
    return unusable(detail::no_soa);
  }

  poll_outcome out;
  out.has_serial = true;
  out.serial = reply.serial;
  switch (compare_serial(reply.serial, expected)) {
  case serial_order::equal:
    out.verdict = poll_verdict::reached;
    out.detail = detail::matched;
    break;
  case serial_order::greater:
    out.verdict = poll_verdict::reached;
    out.detail = detail::newer;
    break;
  case serial_order::less:
    out.verdict = poll_verdict::behind;
    out.detail = detail::lower_serial;
    break;
  case serial_order::undefined:
    out.verdict = poll_verdict::behind;
    out.detail = detail::serial_undefined;
    break;
  }
  return out;
}

poll_outcome classify_for(const reply_info& reply, poll_goal goal,
                          uint32_t expected) noexcept {
  if (goal == poll_goal::absent) {
    // RFC 1034 4.3.2: REFUSED and NOTAUTH come from a server that does not
    // serve the name; NXDOMAIN only counts from an authority (a parent
    // zone's server), not from a resolver's cache.
    if (reply.rcode == rcode_refused || reply.rcode == rcode_notauth ||
        (reply.rcode == rcode_nxdomain && reply.aa && !reply.tc)) {
      poll_outcome out;
      out.verdict = poll_verdict::reached;
      out.detail = rcode_detail(reply.rcode);
      return out;
    }
    if (reply.rcode == rcode_nxdomain && !reply.tc)
      return unusable(detail::not_authoritative);
  }
  auto out = classify_poll(reply, expected);
  if (!out.has_serial)
    return out;
  switch (goal) {
  case poll_goal::serial:
    break;
  case poll_goal::any_serial:
    out.verdict = poll_verdict::reached;
    out.detail = detail::serial_read;
    break;
  case poll_goal::absent:
    out.verdict = poll_verdict::behind;
    out.detail = detail::zone_served;
    break;
  }
  return out;
}

detail failure_detail(int err) noexcept {
  switch (err) {
  case ECONNREFUSED:
    return detail::port_unreachable;
  case EHOSTUNREACH:
  case EHOSTDOWN:
    return detail::host_unreachable;
  case ENETUNREACH:
  case ENETDOWN:
    return detail::network_unreachable;
  case EPERM:
  case EACCES:
    return detail::send_not_permitted;
  case EAFNOSUPPORT:
    return detail::address_family_not_supported;
  case ECONNRESET:
  case ECONNABORTED:
  case EPIPE:
  case ENOTCONN:
  case ETIMEDOUT:
    return detail::tcp_failed;
  default:
    return detail::send_failed;
  }
}

} // namespace minidns::net
