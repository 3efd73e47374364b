#include "net/verdict.hpp"

#include "net/serial.hpp"

#include <cerrno>

namespace minidns::net {

namespace {

/// "rcode <NAME>" for every 4-bit RCODE: poll_outcome::detail is a
/// string_view and must outlive the call, so these are static literals.
constexpr std::string_view rcode_details[16] = {
    "rcode NOERROR", "rcode FORMERR", "rcode SERVFAIL", "rcode NXDOMAIN",
    "rcode NOTIMP",  "rcode REFUSED", "rcode YXDOMAIN", "rcode YXRRSET",
    "rcode NXRRSET", "rcode NOTAUTH", "rcode NOTZONE",  "rcode RCODE11",
    "rcode RCODE12", "rcode RCODE13", "rcode RCODE14",  "rcode RCODE15"};

poll_outcome unusable(std::string_view detail) {
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
    return unusable("truncated");
  if (!reply.aa)
    return unusable("not authoritative");
  switch (reply.soa) {
  case soa_state::found:
    break;
  case soa_state::none:
    return unusable("no SOA");
  case soa_state::multiple:
    return unusable("multiple SOA");
  case soa_state::malformed:
    return unusable("malformed answer");
  case soa_state::not_checked:
  default:
    // Not a checked SOA reply (e.g. a NOTIFY reply passed by mistake).
    return unusable("no SOA");
  }

  poll_outcome out;
  out.has_serial = true;
  out.serial = reply.serial;
  switch (compare_serial(reply.serial, expected)) {
  case serial_order::equal:
    out.verdict = poll_verdict::reached;
    out.detail = "matched";
    break;
  case serial_order::greater:
    out.verdict = poll_verdict::reached;
    out.detail = "newer";
    break;
  case serial_order::less:
    out.verdict = poll_verdict::behind;
    out.detail = "lower serial";
    break;
  case serial_order::undefined:
    out.verdict = poll_verdict::behind;
    out.detail = "serial undefined";
    break;
  }
  return out;
}

std::string_view rcode_detail(uint8_t rcode) noexcept {
  return rcode < 16 ? rcode_details[rcode] : std::string_view("rcode UNKNOWN");
}

std::string_view failure_detail(int err) noexcept {
  switch (err) {
  case ECONNREFUSED:
    return "port unreachable";
  case EHOSTUNREACH:
  case EHOSTDOWN:
    return "host unreachable";
  case ENETUNREACH:
  case ENETDOWN:
    return "network unreachable";
  case EPERM:
  case EACCES:
    return "send not permitted";
  case EAFNOSUPPORT:
    return "address family not supported";
  default:
    return "send failed";
  }
}

} // namespace minidns::net
