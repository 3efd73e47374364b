#pragma once
/// DNS over TCP framing (RFC 1035 section 4.2.2, RFC 7766): each message
/// is preceded by its length as two bytes in network order. The framer
/// collects a connection's bytes as they arrive, in pieces of any size,
/// and hands out whole messages. Pure: no sockets.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace minidns {

/// Splits a byte stream into length-prefixed DNS messages.
class stream_framer {
public:
  /// Appends bytes read from the connection.
  void feed(const uint8_t* data, size_t n) {
    buf_.append(reinterpret_cast<const char*>(data), n);
  }

  /// The next whole message, or false when it has not fully arrived. The
  /// view stays valid until the next call to feed() or next().
  bool next(std::string_view& msg) {
    if (start_ > 0 && start_ == buf_.size()) {
      buf_.clear();
      start_ = 0;
    }
    if (buf_.size() - start_ < 2)
      return false;
    auto hi = static_cast<uint8_t>(buf_[start_]);
    auto lo = static_cast<uint8_t>(buf_[start_ + 1]);
    size_t len = size_t{hi} << 8 | lo;
    if (buf_.size() - start_ - 2 < len)
      return false;
    msg = std::string_view(buf_).substr(start_ + 2, len);
    start_ += 2 + len;
    return true;
  }

  /// Bytes received and not yet handed out (a partial message).
  size_t pending() const { return buf_.size() - start_; }

  /// Drops what was handed out; call when no view is in use.
  void compact() {
    buf_.erase(0, start_);
    start_ = 0;
  }

private:
  std::string buf_;
  size_t start_ = 0;
};

/// Appends `msg` to `out` framed for TCP. False when it is too long for
/// the two-byte length (over 65,535 bytes).
inline bool append_framed(std::string& out, const uint8_t* msg, size_t len) {
  if (len > 0xffff)
    return false;
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len & 0xff));
  out.append(reinterpret_cast<const char*>(msg), len);
  return true;
}

} // namespace minidns
