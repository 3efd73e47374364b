#pragma once
/// Building NOTIFY and SOA queries and checking replies. Pure functions on
/// byte buffers: no sockets, no allocation on the hot path.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace minidns::net {

/// The two kinds of query minidns sends.
enum class query_kind : uint8_t {
  notify, ///< opcode NOTIFY (4), AA set, QR and RD clear, question <zone> IN
          ///< SOA
  soa,    ///< opcode QUERY (0), all flags clear, question <zone> IN SOA
};

/// DNS RCODEs used by minidns (RFC 1035, RFC 2136).
enum rcode : uint8_t {
  rcode_noerror = 0,
  rcode_formerr = 1,
  rcode_servfail = 2,
  rcode_nxdomain = 3,
  rcode_notimp = 4,
  rcode_refused = 5,
  rcode_yxdomain = 6,
  rcode_yxrrset = 7,
  rcode_nxrrset = 8,
  rcode_notauth = 9,
  rcode_notzone = 10,
};

/// Mnemonic of a 4-bit RCODE ("NOERROR", "NOTAUTH", ...; "RCODE12" for
/// unassigned values).
std::string_view rcode_name(uint8_t rc) noexcept;

/// Largest SOA hint: TTL, two 255-octet names and five 32-bit numbers.
inline constexpr size_t max_soa_hint = 4 + 255 + 255 + 20;

/// Largest query minidns builds: header + 255-octet name + type + class,
/// and for a NOTIFY with an SOA hint an answer record (name pointer, type,
/// class, RDLENGTH, then the hint).
inline constexpr size_t max_query_size = 12 + 255 + 4 + 8 + max_soa_hint;

/// Writes a query for `qname_wire` (uncompressed wire format, validated by
/// name_to_wire) into `out`. A NOTIFY with `soa_hint` (TTL then SOA RDATA,
/// as messages::cast holds it) carries that SOA in its answer section (RFC
/// 1996 section 3.7). Returns the number of bytes written, or 0 when `cap`
/// is too small or the hint is malformed.
size_t build_query(query_kind kind, uint16_t id, std::string_view qname_wire,
                   uint8_t* out, size_t cap,
                   std::string_view soa_hint = {}) noexcept;

/// Reads the ID of a datagram (0 when shorter than a header). Used to find
/// the pending query before the full check.
uint16_t peek_id(const uint8_t* data, size_t len) noexcept;

/// What a query expects of its reply.
struct expected_reply {
  query_kind kind;
  uint16_t id;
  std::string_view qname_wire;
};

/// Whether a datagram is a reply to the query at all.
enum class reply_match : uint8_t {
  accepted,       ///< a reply to this query; see the other fields
  too_short,      ///< shorter than a DNS header
  not_response,   ///< QR clear
  wrong_id,       ///< ID differs
  wrong_opcode,   ///< opcode differs from the query's
  wrong_question, ///< question differs (name, type, class or count), or an
                  ///< empty question section with RCODE NOERROR
  malformed,      ///< question section cannot be parsed
};

/// The state of the answer section for SOA queries.
enum class soa_state : uint8_t {
  not_checked, ///< NOTIFY replies, and replies not accepted
  found,       ///< exactly one SOA of class IN owned by the zone; `serial` set
  none,        ///< no SOA owned by the zone in the answer section
  multiple,    ///< more than one SOA owned by the zone
  malformed,   ///< answer section truncated or unparsable
};

/// The result of checking a datagram against the query it may answer.
struct reply_info {
  reply_match match = reply_match::too_short;
  uint8_t rcode = 0; ///< header RCODE (4 bits); valid when accepted
  bool aa = false;   ///< authoritative answer
  bool tc = false;   ///< truncated
  bool tcp = false;  ///< came over TCP (set by the caller)
  soa_state soa = soa_state::not_checked;
  uint32_t serial = 0; ///< valid when soa == found
  /// A TSIG error the server reported for a signed query (16 BADSIG, 17
  /// BADKEY, 18 BADTIME, ...; set by the caller after net::tsig_verify);
  /// 0: none.
  uint16_t tsig_error = 0;
};

/// Checks an untrusted datagram against `q`. Never reads past `len`; safe on
/// any input (fuzzed). A reply with an empty question section is accepted
/// only when its RCODE is not NOERROR (NSD strips the question from some
/// error replies). For SOA queries with an accepted reply, scans the answer
/// section (following compression pointers, with loop protection) for SOA
/// records owned by the zone.
reply_info check_reply(const uint8_t* data, size_t len,
                       const expected_reply& q) noexcept;

} // namespace minidns::net
