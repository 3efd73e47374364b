#pragma once
/// TSIG (RFC 8945): signing a query and checking the signature of its reply,
/// as pure functions over message bytes, with the time passed in (so a test
/// moves the clock). The HMACs are OpenSSL's.
///
/// Why not ldns's TSIG functions: ldns 1.8.3 (Debian 12) has no
/// hmac-sha224, misspells hmac-sha384 ("hmac-shac384."), reads the clock
/// itself and does not check the time window. The tests check these
/// functions against ldns where ldns works (hmac-sha256), and against BIND,
/// Knot and NSD.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minidns::net {

/// The HMAC algorithms of RFC 8945 section 6.
enum class tsig_algorithm : uint8_t {
  hmac_md5, ///< accepted for old servers; logged as weak
  hmac_sha1,
  hmac_sha224,
  hmac_sha256,
  hmac_sha384,
  hmac_sha512,
};

/// The algorithm named `text` as tsig-keygen and BIND write it
/// ("hmac-sha256", case-insensitive; "hmac-md5" or
/// "hmac-md5.sig-alg.reg.int"); nullopt when unknown.
std::optional<tsig_algorithm> parse_tsig_algorithm(std::string_view text);

/// The algorithm's name as written in key files ("hmac-sha256").
std::string_view tsig_algorithm_text(tsig_algorithm a) noexcept;

/// One key: its name, algorithm and secret.
struct tsig_key {
  std::string name;      ///< presentation format, lowercase, trailing dot
  std::string name_wire; ///< canonical (lowercase) uncompressed wire format
  tsig_algorithm algorithm = tsig_algorithm::hmac_sha256;
  std::string secret; ///< the raw secret (decoded from base64)
};

/// The keys minidns signs with, read once at start and never changed:
/// shared read-only by the ZeroMQ thread (names) and the UDP thread
/// (secrets). A cast names a key; its index + 1 travels with the request.
struct tsig_keyring {
  std::vector<tsig_key> keys;

  /// The index + 1 of the key named `name` (case-insensitive, trailing dot
  /// optional); 0 when there is none.
  uint16_t find(std::string_view name) const;

  /// The key of index + 1 `id` (from find()); null for 0 or out of range.
  const tsig_key* get(uint16_t id) const {
    return id == 0 || id > keys.size() ? nullptr : &keys[id - 1];
  }
};

/// Decodes standard base64 (RFC 4648; whitespace ignored, padding
/// optional); nullopt when `text` is not base64.
std::optional<std::string> decode_base64(std::string_view text);

/// Most bytes a TSIG record adds to a query: a 255-octet key name, the
/// fixed fields, the longest algorithm name and a 64-byte MAC.
inline constexpr size_t max_tsig_size = 255 + 10 + 26 + 16 + 64;

/// Seconds of clock difference a signature allows (RFC 8945 recommends
/// 300).
inline constexpr uint16_t tsig_fudge = 300;

/// Signs the message `msg[0, len)` (a query built by build_query, room for
/// `cap` bytes) with `key` at `now` (seconds since the epoch): appends the
/// TSIG record and counts it in ARCOUNT. Returns the new length and sets
/// `mac` to the request's MAC (needed to check the reply); 0 when `cap` is
/// too small or `len` is no DNS header.
size_t tsig_sign(uint8_t* msg, size_t len, size_t cap, const tsig_key& key,
                 uint64_t now, std::string& mac);

/// What the TSIG record of a reply says.
enum class tsig_status : uint8_t {
  ok,           ///< signed with the key over the request's MAC, in time
  missing,      ///< no TSIG record: unsigned
  malformed,    ///< a TSIG record that cannot be read, or not the last one
  wrong_key,    ///< signed with another key name or algorithm
  bad_mac,      ///< the MAC is not the key's
  bad_time,     ///< signed outside the time window (fudge)
  server_error, ///< the server reports a TSIG error (`error`: BADSIG...)
};

/// The result of tsig_verify.
struct tsig_check {
  tsig_status status = tsig_status::missing;
  uint16_t error = 0; ///< the record's error field (16 BADSIG, 17 BADKEY,
                      ///< 18 BADTIME, ...) with server_error
};

/// Checks the TSIG record of the reply `msg[0, len)` to a query signed
/// with `key` whose MAC was `request_mac`, at `now`. An error reply
/// (BADSIG, BADKEY: RFC 8945 section 5.3.2 leaves those unsigned) is
/// `server_error`; a signed one must carry a valid MAC too. Never reads
/// past `len` (fuzzed).
tsig_check tsig_verify(const uint8_t* msg, size_t len, const tsig_key& key,
                       std::string_view request_mac, uint64_t now);

/// The name of a TSIG error code ("BADSIG", "BADKEY", "BADTIME", ...).
std::string_view tsig_error_name(uint16_t error) noexcept;

} // namespace minidns::net
