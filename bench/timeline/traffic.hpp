#pragma once
/// What --mode=timeline sends and what each cast must get back: the four
/// classes of casts (answered, silent, refused, lagging), the scripted
/// zones that pick a class, the silent sockets, the rate schedule and the
/// check of a reply against its class (bench/mode_timeline.cpp).

#include "apps/minidns-ctl/client_codec.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace minidns::bench {

/// The classes of casts, by the reply they must get.
enum cast_class : uint8_t {
  answered = 0,
  silent = 1,
  refused = 2,
  lagging = 3
};
constexpr size_t classes = 4;
constexpr const char* class_names[classes] = {"answered", "silent", "refused",
                                              "lagging"};

/// Retries of the casts to the silent sockets and the scripted responder:
/// one resend exercises the retry path at the least cost.
constexpr uint32_t scripted_retries = 1;

/// Queries outstanding per silent socket at the peak rate, at most: half of
/// minidns's default max-outstanding-per-destination.
constexpr double silent_outstanding_per_socket = 250;

/// Zone j of the scripted ones (silent, refused, lagging): "r00042.soak.".
std::string script_zone(unsigned j);

/// The serial a poll of scripted zone j asks for.
uint32_t script_serial(unsigned j);

/// The index j of a query for "r%05u.soak." (any case); false for any other
/// name.
bool script_index(const uint8_t* d, size_t len, unsigned& j);

/// UDP sockets on 127.0.0.1 that are never read: DNS servers that never
/// answer (the kernel drops what does not fit in their buffers).
class silent_sockets {
public:
  /// Binds `n` sockets to free ports; dies when it cannot.
  explicit silent_sockets(size_t n);
  ~silent_sockets();
  silent_sockets(const silent_sockets&) = delete;
  silent_sockets& operator=(const silent_sockets&) = delete;

  /// The "127.0.0.1:PORT" of socket i.
  std::string dest(size_t i) const;
  /// How many there are.
  size_t size() const { return ports_.size(); }

private:
  std::vector<int> fds_;
  std::vector<uint16_t> ports_;
};

/// The rate schedule: --rate, or --overload-rate between --overload-from
/// and --overload-to, for --duration seconds.
struct schedule {
  double rate = 0, duration = 0;          ///< casts/s; s
  double over_rate = 0, from = 0, to = 0; ///< over_rate 0: none

  /// Casts due in the first `s` seconds.
  double due_at(double s) const {
    s = std::clamp(s, 0.0, duration);
    double due = rate * s;
    if (over_rate > 0)
      due += (over_rate - rate) * std::max(0.0, std::min(s, to) - from);
    return due;
  }
  /// The second at which cast `i` (from 0) is due.
  double time_of(double i) const {
    if (over_rate <= 0 || i <= rate * from)
      return i / rate;
    double at_to = rate * from + over_rate * (to - from);
    if (i <= at_to)
      return from + (i - rate * from) / over_rate;
    return to + (i - at_to) / rate;
  }
  /// The highest rate of the schedule.
  double peak() const { return std::max(rate, over_rate); }
};

/// Parses --mix "A,S,R,L" (percent, sum 100) into 100 slots, each class
/// spread evenly over them; dies on a bad --mix.
std::array<uint8_t, 100> parse_mix(const std::string& text,
                                   std::array<unsigned, classes>& pct);

/// A cast sent and not yet answered.
struct pending {
  int64_t sent;  ///< now_ns()
  uint32_t zone; ///< in its class
  uint8_t cls;   ///< cast_class
};

/// Checks a reply to a cast of class `cls` for zone `zone`; empty when
/// right, else what is wrong.
std::string check_class(const messages::reply& r, uint8_t cls, unsigned zone,
                        unsigned zones);

} // namespace minidns::bench
