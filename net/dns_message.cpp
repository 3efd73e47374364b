#include "net/dns_message.hpp"

#include "net/dns_name.hpp"

namespace minidns::net {

namespace {

constexpr size_t header_size = 12;
constexpr uint16_t type_soa = 6;
constexpr uint16_t class_in = 1;
constexpr uint8_t opcode_query = 0;
constexpr uint8_t opcode_notify = 4;

// Header flag bits (RFC 1035 4.1.1), in the 16-bit flags word.
constexpr uint16_t flag_qr = 0x8000;
constexpr uint16_t flag_aa = 0x0400;
constexpr uint16_t flag_tc = 0x0200;

// A name of at most 255 octets has at most 127 labels, so no valid name
// needs more pointers than that.
constexpr int max_pointer_hops = 127;

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint8_t opcode_of(query_kind kind) {
  return kind == query_kind::notify ? opcode_notify : opcode_query;
}

/// A name read from a message, decompressed into a fixed buffer.
struct name_buf {
  uint8_t wire[max_name_wire];
  size_t size = 0;

  std::string_view view() const {
    return {reinterpret_cast<const char*>(wire), size};
  }
};

/// Reads the name at `pos` in `msg[0, end)` into `out`. On success sets
/// `next` to the offset just after the name as it appears at `pos` (after
/// the first pointer, if any). With `allow_pointers`, follows compression
/// pointers; each must point strictly before the start of the label run
/// that contains it (so the walk always moves backwards and terminates) and
/// not into the header, and at most `max_pointer_hops` are followed.
/// Rejects the reserved label types 0x40 and 0x80 and names over 255
/// octets. Never reads at or past `end`.
bool read_name_at(const uint8_t* msg, size_t end, size_t pos,
                  bool allow_pointers, name_buf& out, size_t& next) {
  out.size = 0;
  bool jumped = false;
  int hops = 0;
  size_t run_start = pos;
  for (;;) {
    if (pos >= end)
      return false;
    const uint8_t len = msg[pos];
    if ((len & 0xC0) == 0xC0) {
      if (!allow_pointers || pos + 1 >= end)
        return false;
      const size_t target = ((len & 0x3Fu) << 8) | msg[pos + 1];
      if (target >= run_start || target < header_size ||
          ++hops > max_pointer_hops)
        return false;
      if (!jumped) {
        next = pos + 2;
        jumped = true;
      }
      pos = target;
      run_start = target;
      continue;
    }
    if ((len & 0xC0) != 0)
      return false; // 0x40 (extended) and 0x80 (reserved) label types
    if (out.size + 1 + len > max_name_wire)
      return false;
    if (len == 0) {
      out.wire[out.size++] = 0;
      if (!jumped)
        next = pos + 1;
      return true;
    }
    if (pos + 1 + len > end)
      return false;
    out.wire[out.size++] = len;
    for (size_t k = 0; k < len; ++k)
      out.wire[out.size++] = msg[pos + 1 + k];
    pos += 1 + len;
  }
}

/// Result of scanning the answer section for the zone's SOA.
struct soa_scan {
  soa_state state = soa_state::none;
  uint32_t serial = 0;
};

/// Scans `ancount` RRs starting at `pos`. Any RR that does not fit in the
/// datagram makes the whole section malformed, as does an SOA owned by the
/// zone whose RDATA is not exactly MNAME, RNAME and five 32-bit fields.
soa_scan scan_answers(const uint8_t* msg, size_t end, size_t pos,
                      uint16_t ancount, std::string_view zone) {
  soa_scan result;
  unsigned count = 0;
  name_buf name;
  for (unsigned i = 0; i < ancount; ++i) {
    size_t after = 0;
    if (!read_name_at(msg, end, pos, true, name, after) || end - after < 10)
      return {soa_state::malformed, 0};
    const uint16_t type = get16(msg + after);
    const uint16_t klass = get16(msg + after + 2);
    const uint16_t rdlength = get16(msg + after + 8);
    const size_t rdata = after + 10;
    if (end - rdata < rdlength)
      return {soa_state::malformed, 0};
    const size_t rdata_end = rdata + rdlength;
    if (type == type_soa && klass == class_in &&
        wire_names_equal(name.view(), zone)) {
      // MNAME and RNAME may be compressed, but their bytes in this RR must
      // stay within RDATA; exactly 20 octets of fixed fields must follow.
      name_buf rdname;
      size_t p = rdata;
      for (int k = 0; k < 2; ++k) {
        size_t q = 0;
        if (!read_name_at(msg, rdata_end, p, true, rdname, q))
          return {soa_state::malformed, 0};
        p = q;
      }
      if (rdata_end - p != 20)
        return {soa_state::malformed, 0};
      ++count;
      result.serial = get32(msg + p);
    }
    pos = rdata_end;
  }
  if (count == 0)
    result.state = soa_state::none;
  else if (count == 1)
    result.state = soa_state::found;
  else
    result = {soa_state::multiple, 0};
  return result;
}

} // namespace

std::string_view rcode_name(uint8_t rc) noexcept {
  static constexpr std::string_view names[16] = {
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "RCODE11",
      "RCODE12",  "RCODE13", "RCODE14",  "RCODE15"};
  // Header RCODEs are 4 bits; larger values only exist with EDNS, which
  // minidns does not use.
  if (rc >= 16)
    return "UNKNOWN";
  return names[rc];
}

size_t build_query(query_kind kind, uint16_t id, std::string_view qname_wire,
                   uint8_t* out, size_t cap,
                   std::string_view soa_hint) noexcept {
  if (qname_wire.empty() || qname_wire.size() > max_name_wire || out == nullptr)
    return 0;
  const bool hint = kind == query_kind::notify && !soa_hint.empty();
  // TTL, two names of at least one octet, five numbers.
  if (hint && (soa_hint.size() < 4 + 2 + 20 || soa_hint.size() > max_soa_hint))
    return 0;
  const size_t question = header_size + qname_wire.size() + 4;
  const size_t total = question + (hint ? 12 + soa_hint.size() - 4 : 0);
  if (cap < total)
    return 0;
  const uint16_t flags = static_cast<uint16_t>(opcode_of(kind) << 11) |
                         (kind == query_kind::notify ? flag_aa : uint16_t{0});
  put16(out, id);
  put16(out + 2, flags);
  put16(out + 4, 1);  // QDCOUNT
  put16(out + 6, 0);  // ANCOUNT
  put16(out + 8, 0);  // NSCOUNT
  put16(out + 10, 0); // ARCOUNT
  size_t pos = header_size;
  for (char c : qname_wire)
    out[pos++] = static_cast<uint8_t>(c);
  put16(out + pos, type_soa);
  put16(out + pos + 2, class_in);
  if (!hint)
    return total;
  put16(out + 6, 1); // ANCOUNT
  pos = question;
  put16(out + pos, 0xC000 | header_size); // the owner: the zone's name
  put16(out + pos + 2, type_soa);
  put16(out + pos + 4, class_in);
  for (size_t i = 0; i < 4; ++i) // TTL
    out[pos + 6 + i] = static_cast<uint8_t>(soa_hint[i]);
  put16(out + pos + 10, static_cast<uint16_t>(soa_hint.size() - 4));
  pos += 12;
  for (size_t i = 4; i < soa_hint.size(); ++i)
    out[pos++] = static_cast<uint8_t>(soa_hint[i]);
  return total;
}

uint16_t peek_id(const uint8_t* data, size_t len) noexcept {
  if (data == nullptr || len < header_size)
    return 0;
  return get16(data);
}

reply_info check_reply(const uint8_t* data, size_t len,
                       const expected_reply& q) noexcept {
  reply_info info;
  if (data == nullptr || len < header_size) {
    info.match = reply_match::too_short;
    return info;
  }
  const uint16_t flags = get16(data + 2);
  info.rcode = static_cast<uint8_t>(flags & 0x0F);
  info.aa = (flags & flag_aa) != 0;
  info.tc = (flags & flag_tc) != 0;
  if ((flags & flag_qr) == 0) {
    info.match = reply_match::not_response;
    return info;
  }
  if (get16(data) != q.id) {
    info.match = reply_match::wrong_id;
    return info;
  }
  if (((flags >> 11) & 0x0F) != opcode_of(q.kind)) {
    info.match = reply_match::wrong_opcode;
    return info;
  }

  const uint16_t qdcount = get16(data + 4);
  const uint16_t ancount = get16(data + 6);
  size_t pos = header_size;
  if (qdcount == 0) {
    // NSD strips the question from some error replies to NOTIFY; an empty
    // question with NOERROR proves nothing about which query it answers.
    if (info.rcode == rcode_noerror) {
      info.match = reply_match::wrong_question;
      return info;
    }
  } else if (qdcount > 1) {
    info.match = reply_match::wrong_question;
    return info;
  } else {
    // The question is the first name in the message, so there is nothing
    // before it that a pointer could legitimately refer to: a pointer here
    // is malformed.
    name_buf qname;
    size_t after = 0;
    if (!read_name_at(data, len, pos, false, qname, after) || len - after < 4) {
      info.match = reply_match::malformed;
      return info;
    }
    if (get16(data + after) != type_soa ||
        get16(data + after + 2) != class_in ||
        !wire_names_equal(qname.view(), q.qname_wire)) {
      info.match = reply_match::wrong_question;
      return info;
    }
    pos = after + 4;
  }

  info.match = reply_match::accepted;
  if (q.kind == query_kind::soa) {
    const soa_scan scan = scan_answers(data, len, pos, ancount, q.qname_wire);
    info.soa = scan.state;
    info.serial = scan.serial;
  }
  return info;
}

} // namespace minidns::net
