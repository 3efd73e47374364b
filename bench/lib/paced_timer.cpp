#include "bench/lib/paced_timer.hpp"

#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace minidns::bench {

paced_timer::paced_timer(int64_t start_ns, int64_t tick_ns) {
  ::prctl(PR_SET_TIMERSLACK, 1UL);
  fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec its{};
  its.it_value.tv_sec = start_ns / 1000000000;
  its.it_value.tv_nsec = start_ns % 1000000000;
  its.it_interval.tv_sec = tick_ns / 1000000000;
  its.it_interval.tv_nsec = tick_ns % 1000000000;
  ::timerfd_settime(fd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

paced_timer::~paced_timer() {
  if (fd_ >= 0)
    ::close(fd_);
}

void paced_timer::take() {
  uint64_t expirations = 0;
  [[maybe_unused]] auto r = ::read(fd_, &expirations, sizeof(expirations));
}

void paced_timer::stop() {
  itimerspec its{};
  ::timerfd_settime(fd_, 0, &its, nullptr);
}

} // namespace minidns::bench
