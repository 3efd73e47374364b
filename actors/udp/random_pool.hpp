#pragma once
/// Unpredictable 16-bit numbers for query IDs and socket choice, refilled
/// from getrandom() in bulk so that the hot path makes no syscall.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <sys/random.h>

namespace minidns {

/// A buffer of random bytes from the kernel, handed out two at a time.
class random_pool {
public:
  /// The next random 16-bit number.
  uint16_t next16() {
    if (pos_ + 2 > sizeof(buf_))
      refill();
    uint16_t v;
    std::memcpy(&v, buf_ + pos_, 2);
    pos_ += 2;
    return v;
  }

private:
  void refill() {
    size_t got = 0;
    while (got < sizeof(buf_)) {
      auto n = getrandom(buf_ + got, sizeof(buf_) - got, 0);
      if (n > 0)
        got += static_cast<size_t>(n);
      else if (errno != EINTR)
        throw std::runtime_error("getrandom failed");
    }
    pos_ = 0;
  }
  uint8_t buf_[4096];
  size_t pos_ = sizeof(buf_);
};

} // namespace minidns
