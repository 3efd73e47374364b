#include "apps/minidns-ctl/common.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace minidns::ctl {
namespace {

/// A finite decimal number (no sign restriction: ranges are minidns's).
std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end || !std::isfinite(v))
    return std::nullopt;
  return v;
}

} // namespace

std::string quote_arg(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (s.size() > 64)
    out += "...";
  return out + "'";
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) {
  uint64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc{} || p != end || v > max)
    return std::nullopt;
  return v;
}

double seconds_arg(std::string_view name, std::string_view value) {
  auto v = parse_double(value);
  if (!v)
    throw usage_error(std::string(name) +
                      ": not a finite number of seconds: " + quote_arg(value));
  return *v;
}

double client_seconds_arg(std::string_view name, std::string_view value) {
  auto v = parse_double(value);
  if (!v || *v < 0 || *v > 3600)
    throw usage_error(
        std::string(name) +
        ": not a number of seconds in 0..3600: " + quote_arg(value));
  return *v;
}

double delay_arg(std::string_view name, std::string_view value) {
  auto v = parse_double(value);
  if (!v || *v < 0 || *v > messages::max_delay_seconds)
    throw usage_error(std::string(name) + ": not a number of seconds in 0.." +
                      format_seconds(messages::max_delay_seconds) + ": " +
                      quote_arg(value));
  return *v;
}

std::string transport_arg(std::string_view name, std::string_view value) {
  if (value != "udp" && value != "tcp")
    throw usage_error(std::string(name) +
                      ": expected udp or tcp: " + quote_arg(value));
  return std::string(value);
}

uint32_t uint32_arg(std::string_view name, std::string_view value) {
  auto v = parse_uint(value, UINT32_MAX);
  if (!v)
    throw usage_error(std::string(name) +
                      ": not an integer in 0..4294967295: " + quote_arg(value));
  return static_cast<uint32_t>(*v);
}

messages::soa_hint soa_arg(std::string_view name, std::string_view value) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : value) {
    if (ch == ' ' || ch == '\t') {
      if (!word.empty())
        words.push_back(std::move(word));
      word.clear();
    } else {
      word += ch;
    }
  }
  if (!word.empty())
    words.push_back(std::move(word));
  if (words.size() != 8)
    throw usage_error(std::string(name) +
                      ": expected 'MNAME RNAME SERIAL REFRESH RETRY EXPIRE "
                      "MINIMUM TTL', got " +
                      quote_arg(value));
  messages::soa_hint soa;
  soa.mname = words[0];
  soa.rname = words[1];
  uint32_t* numbers[] = {&soa.serial, &soa.refresh, &soa.retry,
                         &soa.expire, &soa.minimum, &soa.ttl};
  for (size_t i = 0; i < 6; ++i)
    *numbers[i] = uint32_arg(name, words[2 + i]);
  return soa;
}

std::string format_seconds(double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  std::string out = buf;
  while (!out.empty() && out.back() == '0')
    out.pop_back();
  if (!out.empty() && out.back() == '.')
    out.pop_back();
  return out;
}

unsigned threshold_arg(std::string_view name, std::string_view value) {
  auto n = parse_uint(value, 100);
  if (!n || *n == 0)
    throw usage_error(std::string(name) +
                      ": not an integer in 1..100: " + quote_arg(value));
  return static_cast<unsigned>(*n);
}

std::string expect_arg(std::string_view name, std::string_view value) {
  if (value != "serial" && value != "absent")
    throw usage_error(std::string(name) + ": expected serial or absent, got " +
                      quote_arg(value));
  return std::string(value);
}

} // namespace minidns::ctl
