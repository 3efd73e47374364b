#pragma once
/// Small text helpers shared by the parsers in net/ for their error messages.

#include <string>
#include <string_view>

namespace minidns::net {

/// `s` between single quotes, as error messages show user input.
inline std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

} // namespace minidns::net
