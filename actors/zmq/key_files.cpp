#include "actors/zmq/key_files.hpp"

#include "net/text.hpp"

#include <algorithm>
#include <cstdint>

namespace minidns::curve {

using net::quoted;

namespace {

constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// One line of a key file: "name = "value"" (quotes optional) or a bare
/// value (empty name).
struct entry {
  std::string_view name;
  std::string_view value;
  std::string error;
};

entry parse_line(std::string_view line) {
  entry e;
  auto eq = line.find('=');
  // Z85 has '=' in its alphabet: only "name =" with a known name splits.
  if (eq != std::string_view::npos) {
    auto name = trim(line.substr(0, eq));
    if (name == "public-key" || name == "secret-key") {
      e.name = name;
      line = trim(line.substr(eq + 1));
    }
  }
  if (line.size() >= 2 && line.front() == '"' && line.back() == '"')
    line = line.substr(1, line.size() - 2);
  e.value = line;
  return e;
}

std::string at_line(size_t n, const std::string& what) {
  return "line " + std::to_string(n) + ": " + what;
}

/// Calls f(line_number, line) for every line that is neither blank nor a
/// comment; stops at the first non-empty string f returns and returns it.
template <class F>
std::string each_line(std::string_view text, F f) {
  size_t n = 0;
  while (!text.empty()) {
    ++n;
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text =
        nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    // '#' is a Z85 digit too, but too big to start a 32-bit group: no key
    // starts with it.
    if (line.empty() || line.front() == '#')
      continue;
    if (auto err = f(n, line); !err.empty())
      return err;
  }
  return {};
}

} // namespace

bool is_z85_key(std::string_view s) {
  if (s.size() != 40)
    return false;
  // Each group of five characters encodes 32 bits: its value must fit.
  for (size_t g = 0; g < 40; g += 5) {
    uint64_t v = 0;
    for (size_t i = g; i < g + 5; ++i) {
      auto d = z85_alphabet.find(s[i]);
      if (d == std::string_view::npos)
        return false;
      v = v * 85 + d;
    }
    if (v > UINT32_MAX)
      return false;
  }
  return true;
}

key_file parse_key_file(std::string_view text, bool need_secret) {
  key_file out;
  key_pair kp;
  out.error = each_line(text, [&](size_t n, std::string_view line) {
    auto e = parse_line(line);
    if (e.name.empty())
      return at_line(n, "expected public-key = \"...\" or secret-key = "
                        "\"...\", got " +
                            quoted(line.substr(0, 60)));
    auto& slot = e.name == "public-key" ? kp.public_key : kp.secret_key;
    if (!slot.empty())
      return at_line(n, std::string(e.name) + " given twice");
    if (!is_z85_key(e.value))
      return at_line(n, std::string(e.name) +
                            " is not a 40-character Z85 CURVE key");
    slot = std::string(e.value);
    return std::string{};
  });
  if (!out.error.empty())
    return out;
  if (kp.public_key.empty())
    out.error = "no public-key line";
  else if (need_secret && kp.secret_key.empty())
    out.error = "no secret-key line";
  else
    out.keys = std::move(kp);
  return out;
}

key_list parse_key_list(std::string_view text) {
  key_list out;
  out.error = each_line(text, [&](size_t n, std::string_view line) {
    auto e = parse_line(line);
    if (e.name == "secret-key")
      return at_line(n, "a secret key does not belong in a list of public "
                        "keys");
    if (!is_z85_key(e.value))
      return at_line(n, "not a 40-character Z85 CURVE public key: " +
                            quoted(e.value.substr(0, 60)));
    if (std::find(out.keys.begin(), out.keys.end(), e.value) == out.keys.end())
      out.keys.emplace_back(e.value);
    return std::string{};
  });
  if (!out.error.empty())
    out.keys.clear();
  return out;
}

std::string format_key_file(const key_pair& keys) {
  std::string out = keys.secret_key.empty()
                        ? "# minidns CURVE public key\n"
                        : "# minidns CURVE key pair: keep this file secret\n";
  out += "public-key = \"" + keys.public_key + "\"\n";
  if (!keys.secret_key.empty())
    out += "secret-key = \"" + keys.secret_key + "\"\n";
  return out;
}

} // namespace minidns::curve
