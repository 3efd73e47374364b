#include "net/tsig.hpp"

#include <algorithm>
#include <cctype>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace minidns::net {

namespace {

constexpr size_t header_size = 12;
constexpr uint16_t type_tsig = 250;
constexpr uint16_t class_any = 255;

struct algorithm_info {
  tsig_algorithm id;
  std::string_view text;      ///< as key files write it
  std::string_view wire_name; ///< canonical wire format of its DNS name
  const EVP_MD* (*digest)();
};

using namespace std::string_view_literals;

const algorithm_info algorithms[] = {
    {tsig_algorithm::hmac_md5, "hmac-md5",
     "\x08hmac-md5\x07sig-alg\x03reg\x03int\x00"sv, EVP_md5},
    {tsig_algorithm::hmac_sha1, "hmac-sha1", "\x09hmac-sha1\x00"sv, EVP_sha1},
    {tsig_algorithm::hmac_sha224, "hmac-sha224", "\x0bhmac-sha224\x00"sv,
     EVP_sha224},
    {tsig_algorithm::hmac_sha256, "hmac-sha256", "\x0bhmac-sha256\x00"sv,
     EVP_sha256},
    {tsig_algorithm::hmac_sha384, "hmac-sha384", "\x0bhmac-sha384\x00"sv,
     EVP_sha384},
    {tsig_algorithm::hmac_sha512, "hmac-sha512", "\x0bhmac-sha512\x00"sv,
     EVP_sha512},
};

const algorithm_info& info(tsig_algorithm a) {
  return algorithms[static_cast<size_t>(a)];
}

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

void put48(std::string& out, uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xff);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Reads the (possibly compressed) name at `pos` in `msg[0, len)` as
/// lowercase uncompressed wire format; sets `next` after it as it appears.
/// False when it is malformed. Pointers must point backwards.
bool read_name(const uint8_t* msg, size_t len, size_t pos, std::string& out,
               size_t& next) {
  out.clear();
  bool jumped = false;
  size_t limit = pos; // a pointer must go before the run that holds it
  for (int hops = 0; hops < 128;) {
    if (pos >= len)
      return false;
    uint8_t l = msg[pos];
    if ((l & 0xC0) == 0xC0) {
      if (pos + 1 >= len)
        return false;
      size_t to = static_cast<size_t>(l & 0x3F) << 8 | msg[pos + 1];
      if (!jumped)
        next = pos + 2;
      jumped = true;
      if (to >= limit || to < header_size)
        return false;
      pos = limit = to;
      ++hops;
      continue;
    }
    if (l & 0xC0)
      return false;
    if (pos + 1 + l > len || out.size() + 1 + l > 255)
      return false;
    out += static_cast<char>(l);
    for (size_t i = 0; i < l; ++i)
      out += static_cast<char>(
          std::tolower(static_cast<unsigned char>(msg[pos + 1 + i])));
    pos += 1 + l;
    if (l == 0) {
      if (!jumped)
        next = pos;
      return true;
    }
  }
  return false;
}

/// Skips the name at `pos`; false when it does not fit.
bool skip_name(const uint8_t* msg, size_t len, size_t& pos) {
  while (pos < len) {
    uint8_t l = msg[pos];
    if ((l & 0xC0) == 0xC0) {
      pos += 2;
      return pos <= len;
    }
    if (l & 0xC0)
      return false;
    pos += 1 + l;
    if (l == 0)
      return pos <= len;
  }
  return false;
}

/// The HMAC of `data` with `key`.
std::string hmac(const tsig_key& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(info(key.algorithm).digest(), key.secret.data(),
           static_cast<int>(key.secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &n) == nullptr)
    return {};
  return std::string(reinterpret_cast<char*>(out), n);
}

/// The TSIG variables (RFC 8945 section 4.3.3) after the message.
void append_variables(std::string& data, const tsig_key& key,
                      uint64_t time_signed, uint16_t fudge, uint16_t error,
                      std::string_view other) {
  data += key.name_wire;
  put16(data, class_any);
  data.append(4, '\0'); // TTL
  data += info(key.algorithm).wire_name;
  put48(data, time_signed);
  put16(data, fudge);
  put16(data, error);
  put16(data, static_cast<uint16_t>(other.size()));
  data += other;
}

} // namespace

uint16_t tsig_keyring::find(std::string_view name) const {
  std::string n;
  for (char c : name)
    n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.empty() || n.back() != '.')
    n += '.';
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i].name == n)
      return static_cast<uint16_t>(i + 1);
  return 0;
}

std::optional<tsig_algorithm> parse_tsig_algorithm(std::string_view text) {
  auto t = lower(text);
  if (!t.empty() && t.back() == '.')
    t.pop_back();
  if (t == "hmac-md5.sig-alg.reg.int")
    return tsig_algorithm::hmac_md5;
  for (const auto& a : algorithms)
    if (t == a.text)
      return a.id;
  return std::nullopt;
}

std::string_view tsig_algorithm_text(tsig_algorithm a) noexcept {
  return info(a).text;
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=') {
      ++pad;
      continue;
    } else if (std::isspace(static_cast<unsigned char>(c)))
      continue;
    else
      return std::nullopt;
    if (pad > 0)
      return std::nullopt; // data after padding
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero and fewer than a byte; padding at most two.
  if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

size_t tsig_sign(uint8_t* msg, size_t len, size_t cap, const tsig_key& key,
                 uint64_t now, std::string& mac) {
  if (len < header_size)
    return 0;
  std::string data(reinterpret_cast<const char*>(msg), len);
  append_variables(data, key, now, tsig_fudge, 0, {});
  mac = hmac(key, data);
  if (mac.empty())
    return 0;
  const auto& alg = info(key.algorithm).wire_name;
  std::string rr = key.name_wire;
  put16(rr, type_tsig);
  put16(rr, class_any);
  rr.append(4, '\0'); // TTL
  const size_t rdlen = alg.size() + 6 + 2 + 2 + mac.size() + 2 + 2 + 2;
  put16(rr, static_cast<uint16_t>(rdlen));
  rr += alg;
  put48(rr, now);
  put16(rr, tsig_fudge);
  put16(rr, static_cast<uint16_t>(mac.size()));
  rr += mac;
  rr += static_cast<char>(msg[0]); // original ID
  rr += static_cast<char>(msg[1]);
  put16(rr, 0); // error
  put16(rr, 0); // other len
  if (len + rr.size() > cap)
    return 0;
  std::copy(rr.begin(), rr.end(), msg + len);
  uint16_t ar = static_cast<uint16_t>(get16(msg + 10) + 1);
  msg[10] = static_cast<uint8_t>(ar >> 8);
  msg[11] = static_cast<uint8_t>(ar & 0xff);
  return len + rr.size();
}

tsig_check tsig_verify(const uint8_t* msg, size_t len, const tsig_key& key,
                       std::string_view request_mac, uint64_t now) {
  tsig_check r;
  if (msg == nullptr || len < header_size)
    return {tsig_status::malformed, 0};
  const size_t qd = get16(msg + 4), an = get16(msg + 6), ns = get16(msg + 8),
               ar = get16(msg + 10);
  if (ar == 0)
    return r; // missing
  size_t pos = header_size;
  for (size_t i = 0; i < qd; ++i) {
    if (!skip_name(msg, len, pos) || pos + 4 > len)
      return {tsig_status::malformed, 0};
    pos += 4;
  }
  // Every record but the last; the TSIG record must be the last one.
  const size_t records = an + ns + ar;
  size_t last = 0;
  for (size_t i = 0; i < records; ++i) {
    last = pos;
    if (!skip_name(msg, len, pos) || pos + 10 > len)
      return {tsig_status::malformed, 0};
    uint16_t type = get16(msg + pos);
    size_t rdlen = get16(msg + pos + 8);
    if (type == type_tsig && i + 1 != records)
      return {tsig_status::malformed, 0}; // a TSIG record not last
    pos += 10 + rdlen;
    if (pos > len)
      return {tsig_status::malformed, 0};
  }
  std::string owner;
  size_t p = 0;
  if (!read_name(msg, len, last, owner, p) || p + 10 > len)
    return {tsig_status::malformed, 0};
  if (get16(msg + p) != type_tsig)
    return r; // missing
  if (get16(msg + p + 2) != class_any)
    return {tsig_status::malformed, 0};
  const size_t rd = p + 10;
  const size_t rd_end = rd + get16(msg + p + 8);
  std::string alg;
  size_t q = 0;
  if (!read_name(msg, rd_end, rd, alg, q) || q + 10 > rd_end)
    return {tsig_status::malformed, 0};
  uint64_t time_signed = 0;
  for (int i = 0; i < 6; ++i)
    time_signed = time_signed << 8 | msg[q + i];
  const uint16_t fudge = get16(msg + q + 6);
  const size_t mac_size = get16(msg + q + 8);
  size_t m = q + 10;
  if (m + mac_size + 6 > rd_end)
    return {tsig_status::malformed, 0};
  std::string_view mac(reinterpret_cast<const char*>(msg + m), mac_size);
  m += mac_size;
  const uint16_t original_id = get16(msg + m);
  const uint16_t error = get16(msg + m + 2);
  const size_t other_len = get16(msg + m + 4);
  if (m + 6 + other_len != rd_end)
    return {tsig_status::malformed, 0};
  std::string_view other(reinterpret_cast<const char*>(msg + m + 6), other_len);
  if (owner != key.name_wire || alg != info(key.algorithm).wire_name)
    return {tsig_status::wrong_key, error};
  // BADSIG and BADKEY come unsigned: the server could not sign.
  if (error != 0 && mac_size == 0)
    return {tsig_status::server_error, error};
  // The MAC covers the request's MAC, the reply without its TSIG record
  // (original ID, ARCOUNT less one) and the TSIG variables.
  std::string data;
  put16(data, static_cast<uint16_t>(request_mac.size()));
  data += request_mac;
  data.append(reinterpret_cast<const char*>(msg), last);
  data[2 + request_mac.size()] = static_cast<char>(original_id >> 8);
  data[3 + request_mac.size()] = static_cast<char>(original_id & 0xff);
  const uint16_t ar_less = static_cast<uint16_t>(ar - 1);
  data[2 + request_mac.size() + 10] = static_cast<char>(ar_less >> 8);
  data[2 + request_mac.size() + 11] = static_cast<char>(ar_less & 0xff);
  append_variables(data, key, time_signed, fudge, error, other);
  const std::string expected = hmac(key, data);
  if (expected.empty() || mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0)
    return {tsig_status::bad_mac, error};
  if (error != 0)
    return {tsig_status::server_error, error}; // BADTIME comes signed
  const uint64_t skew =
      now > time_signed ? now - time_signed : time_signed - now;
  if (skew > fudge)
    return {tsig_status::bad_time, 0};
  return {tsig_status::ok, 0};
}

std::string_view tsig_error_name(uint16_t error) noexcept {
  switch (error) {
  case 16:
    return "BADSIG";
  case 17:
    return "BADKEY";
  case 18:
    return "BADTIME";
  case 19:
    return "BADMODE";
  case 20:
    return "BADNAME";
  case 21:
    return "BADALG";
  case 22:
    return "BADTRUNC";
  default:
    return "error";
  }
}

} // namespace minidns::net
