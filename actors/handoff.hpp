#pragma once
/// The one way other threads hand work to a loop thread (the UDP and the
/// ZeroMQ thread): a queue under a mutex plus an eventfd that the loop
/// polls beside its sockets. A push that makes the queue non-empty tells
/// its caller to wake the loop; later pushes need no syscall, since the
/// loop takes the whole queue at once. No CAF, no sockets.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace minidns {

/// A queue from any thread to one loop thread, with its wake-up fd.
template <class T>
class handoff {
public:
  /// Throws std::runtime_error when no eventfd can be made.
  handoff() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0)
      throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
  ~handoff() { ::close(fd_); }
  handoff(const handoff&) = delete;
  handoff& operator=(const handoff&) = delete;

  /// The fd the loop polls for reading: readable after wake().
  int fd() const noexcept { return fd_; }

  /// Adds `x`; true when the queue was empty, so that the loop may be
  /// asleep and the caller should wake() it (unless it is the loop).
  bool push(T x) {
    std::lock_guard<std::mutex> guard{mtx_};
    bool was_empty = items_.empty();
    items_.push_back(std::move(x));
    return was_empty;
  }

  /// Makes fd() readable until the loop calls clear().
  void wake() noexcept {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof(one));
  }

  /// The loop: fd() is not readable any more.
  void clear() noexcept {
    uint64_t v;
    [[maybe_unused]] auto n = ::read(fd_, &v, sizeof(v));
  }

  /// The loop: moves everything queued into `out` (which it has emptied),
  /// in push order.
  void take(std::vector<T>& out) {
    std::lock_guard<std::mutex> guard{mtx_};
    out.swap(items_);
  }

  /// Whether nothing is queued.
  bool empty() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return items_.empty();
  }

private:
  int fd_;
  mutable std::mutex mtx_;
  std::vector<T> items_;
};

} // namespace minidns
