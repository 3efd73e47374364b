#include "actors/zmq_bridge.hpp"

#include "actors/request.hpp"
#include "messages/cast.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace minidns {

namespace {

/// A request ended: its reply for the ZeroMQ thread, if it has one.
struct out_item {
  std::string peer;
  std::string frame; ///< empty: nothing to send (a notify)
};

/// Most casts read per wake-up before the thread looks at its outbox again.
constexpr int read_burst = 1024;

bool is_power_of_two(uint64_t n) {
  return n != 0 && (n & (n - 1)) == 0;
}

} // namespace

/// The ZeroMQ thread and the ROUTER socket it owns.
class zmq_link {
public:
  explicit zmq_link(const zmq_link_options& opts)
      : opts_(opts), ctx_(1), sock_(ctx_, zmq::socket_type::router) {
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0)
      throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    // A ROUTER silently drops what it cannot route; we want to know.
    sock_.set(zmq::sockopt::router_mandatory, 1);
    sock_.set(zmq::sockopt::linger, static_cast<int>(opts.linger.count()));
    sock_.set(zmq::sockopt::sndhwm, static_cast<int>(opts.hwm));
    sock_.set(zmq::sockopt::rcvhwm, static_cast<int>(opts.hwm));
    // Bigger frames cost the sender its connection (a documented silence);
    // those up to this size get an error reply.
    sock_.set(zmq::sockopt::maxmsgsize, int64_t{1} << 20);
    try {
      sock_.bind(opts.endpoint);
    } catch (const zmq::error_t& e) {
      ::close(wake_);
      throw std::runtime_error("minidns.endpoint: cannot bind '" +
                               opts.endpoint + "': " + e.what());
    }
    bound_ = sock_.get(zmq::sockopt::last_endpoint);
  }

  ~zmq_link() {
    stop_now();
    ::close(wake_);
  }

  void start(bridge_actor bridge) {
    bridge_ = std::move(bridge);
    thread_ = std::thread([this] { run(); });
  }

  /// Hands a request's end, with its reply if any, to the thread.
  void push(out_item item) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      was_empty = outbox_.empty();
      outbox_.push_back(std::move(item));
    }
    if (was_empty)
      wake();
  }

  /// Refuse new casts; stop once every accepted one has its reply out.
  void start_draining() {
    draining_.store(true);
    wake();
  }

  void stop_now() {
    abort_.store(true);
    wake();
    if (thread_.joinable())
      thread_.join();
  }

  const std::string& endpoint() const { return bound_; }

  zmq_link_stats read_stats() const {
    zmq_link_stats s;
    s.casts = casts_.load(std::memory_order_relaxed);
    s.invalid = invalid_.load(std::memory_order_relaxed);
    s.replies = replies_.load(std::memory_order_relaxed);
    s.undeliverable = undeliverable_.load(std::memory_order_relaxed);
    return s;
  }

private:
  void wake() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof(one));
  }

  void run() {
    std::vector<out_item> work;
    std::chrono::steady_clock::time_point give_up{};
    while (!abort_.load()) {
      bool draining = draining_.load();
      bool can_read = draining || in_flight_ < opts_.max_in_flight;
      zmq::pollitem_t items[] = {
          {sock_.handle(), 0, static_cast<short>(can_read ? ZMQ_POLLIN : 0), 0},
          {nullptr, wake_, ZMQ_POLLIN, 0},
      };
      // With replies waiting on a full pipe, look again soon.
      auto timeout = backlog_.empty() ? std::chrono::milliseconds(-1)
                                      : std::chrono::milliseconds(5);
      try {
        zmq::poll(items, 2, timeout);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue;
        spdlog::critical("zmq_poll: {}", e.what());
        break;
      }
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_, &v, sizeof(v));
      }
      {
        std::lock_guard<std::mutex> guard{mtx_};
        work.swap(outbox_);
      }
      for (auto& item : work) {
        if (item.frame.empty())
          --in_flight_; // a notify ended: nothing to send
        else
          send_reply(std::move(item.peer), std::move(item.frame), true);
      }
      work.clear();
      retry_backlog();
      read_casts();
      if (draining_.load()) {
        if (in_flight_ == 0)
          break;
        // Only replies that pool managers do not take are left: give them
        // the linger time, then drop them loudly.
        if (in_flight_ == backlog_count_) {
          auto now = std::chrono::steady_clock::now();
          if (give_up == std::chrono::steady_clock::time_point{})
            give_up = now + opts_.linger;
          if (now >= give_up) {
            spdlog::error("dropping {} replies that pool managers did not "
                          "take within the linger time",
                          backlog_count_);
            undeliverable_.fetch_add(backlog_count_);
            backlog_.clear();
            backlog_count_ = 0;
            in_flight_ = 0;
            break;
          }
        }
      }
    }
    sock_.close(); // linger applies: queued replies still go out
    if (!abort_.load() && bridge_)
      caf::anon_send(bridge_, stopped_atom::value);
  }

  void read_casts() {
    for (int i = 0; i < read_burst; ++i) {
      bool draining = draining_.load(std::memory_order_relaxed);
      if (!draining && in_flight_ >= opts_.max_in_flight)
        return;
      zmq::message_t id;
      if (!sock_.recv(id, zmq::recv_flags::dontwait))
        return;
      std::vector<zmq::message_t> parts;
      bool more = id.more();
      while (more) {
        zmq::message_t part;
        if (!sock_.recv(part, zmq::recv_flags::dontwait))
          break; // cannot happen: ZeroMQ delivers messages whole
        more = part.more();
        parts.push_back(std::move(part));
      }
      std::string peer(static_cast<const char*>(id.data()), id.size());
      if (parts.size() != 1) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        send_reply(
            std::move(peer),
            messages::encode_error(
                "frame: expected one frame holding one msgpack map, got " +
                std::to_string(parts.size()) + " frames"));
        continue;
      }
      auto decoded = messages::decode_cast(parts[0].data(), parts[0].size(),
                                           &opts_.allowed);
      if (!decoded.ok) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("invalid cast: {}", decoded.error);
        send_reply(std::move(peer), std::move(decoded.error_reply));
        continue;
      }
      auto& c = *decoded.ok;
      if (draining) {
        invalid_.fetch_add(1, std::memory_order_relaxed);
        if (c.kind == messages::method::poll_for_serial_number)
          send_reply(std::move(peer),
                     messages::finish_status(std::move(c.reply_prefix),
                                             messages::status::error,
                                             std::nullopt, "shutdown"));
        else
          send_reply(std::move(peer),
                     messages::encode_error("draining: minidns is shutting "
                                            "down; the cast was not carried "
                                            "out",
                                            c.request_id));
        continue;
      }
      ++in_flight_;
      casts_.fetch_add(1, std::memory_order_relaxed);
      caf::anon_send(bridge_, cast_atom::value, std::move(c), std::move(peer));
    }
  }

  /// Sends or queues one reply; never blocks. `counted`: the reply ends a
  /// request that holds an in-flight slot. A queued reply holds a slot until
  /// it is sent, so that pool managers that do not read cannot grow the
  /// queues without bound; each pool manager has its own queue, so that one
  /// that does not read holds up no other.
  void send_reply(std::string peer, std::string frame, bool counted = false) {
    auto queue = backlog_.find(peer);
    if (queue == backlog_.end() && try_send(peer, frame)) {
      if (counted)
        --in_flight_;
      return;
    }
    if (!counted)
      ++in_flight_;
    backlog_[std::move(peer)].push_back(std::move(frame));
    ++backlog_count_;
  }

  void retry_backlog() {
    for (auto i = backlog_.begin(); i != backlog_.end();) {
      auto& queue = i->second;
      while (!queue.empty() && try_send(i->first, queue.front())) {
        queue.pop_front();
        --backlog_count_;
        --in_flight_;
      }
      i = queue.empty() ? backlog_.erase(i) : std::next(i);
    }
  }

  /// False when the pool manager's pipe is full (try again later). A reply
  /// to a pool manager that is gone is dropped and counted.
  bool try_send(const std::string& peer, const std::string& frame) {
    try {
      if (!sock_.send(zmq::buffer(peer),
                      zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
      sock_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      replies_.fetch_add(1, std::memory_order_relaxed);
    } catch (const zmq::error_t& e) {
      auto n = undeliverable_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (is_power_of_two(n))
        spdlog::warn("reply undeliverable ({}); {} so far", e.what(), n);
    }
    return true;
  }

  zmq_link_options opts_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::string bound_;
  int wake_ = -1;
  bridge_actor bridge_;
  std::thread thread_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> abort_{false};

  std::mutex mtx_;
  std::vector<out_item> outbox_;

  // Owned by the ZeroMQ thread.
  uint64_t in_flight_ = 0; ///< requests running plus replies queued
  std::unordered_map<std::string, std::deque<std::string>> backlog_;
  uint64_t backlog_count_ = 0; ///< replies in backlog_

  std::atomic<uint64_t> casts_{0};
  std::atomic<uint64_t> invalid_{0};
  std::atomic<uint64_t> replies_{0};
  std::atomic<uint64_t> undeliverable_{0};
};

std::shared_ptr<zmq_link> bind_zmq_link(const zmq_link_options& opts) {
  return std::make_shared<zmq_link>(opts);
}

std::string bound_endpoint(const zmq_link& link) {
  return link.endpoint();
}

zmq_link_stats stats(const zmq_link& link) {
  return link.read_stats();
}

zmq_bridge_state::~zmq_bridge_state() {
  if (link)
    link->stop_now();
}

bridge_actor::behavior_type
zmq_bridge(bridge_actor::stateful_pointer<zmq_bridge_state> self,
           std::shared_ptr<zmq_link> link, udp_io_actor udp,
           caf::timespan drain_timeout, std::function<void()> on_stopped) {
  auto& st = self->state;
  st.link = std::move(link);
  st.udp = std::move(udp);
  st.drain_timeout = drain_timeout;
  st.on_stopped = std::move(on_stopped);
  st.link->start(caf::actor_cast<bridge_actor>(self));
  return {
      [=](cast_atom, messages::cast& c, std::string& peer) {
        auto& s = self->state;
        auto token = s.next_token++;
        auto handle = self->spawn(request, token, std::move(c), s.udp,
                                  caf::actor_cast<status_sink_actor>(self));
        if (s.forced)
          self->send(handle, shutdown_atom::value);
        s.live.emplace(token, live_request{std::move(handle), std::move(peer)});
      },
      [=](done_atom, uint64_t token, std::string& frame) {
        auto& s = self->state;
        auto i = s.live.find(token);
        if (i == s.live.end())
          return;
        s.link->push({std::move(i->second.peer), std::move(frame)});
        s.live.erase(i);
      },
      [=](drain_atom) {
        auto& s = self->state;
        if (s.draining) {
          // A second signal: do not wait for the drain timeout.
          self->send(self, force_atom::value);
          return;
        }
        s.draining = true;
        spdlog::info("draining: {} request(s) in flight, up to {} ms",
                     s.live.size(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         s.drain_timeout)
                         .count());
        s.link->start_draining();
        self->delayed_send(self, s.drain_timeout, force_atom::value);
      },
      [=](force_atom) {
        auto& s = self->state;
        if (s.forced)
          return;
        s.forced = true;
        if (!s.live.empty())
          spdlog::warn(
              "drain timeout: ending {} request(s) with ERROR shutdown",
              s.live.size());
        for (auto& [token, req] : s.live)
          self->send(req.handle, shutdown_atom::value);
      },
      [=](stopped_atom) {
        auto& s = self->state;
        spdlog::info("all replies flushed; ZeroMQ socket closed");
        if (s.on_stopped)
          s.on_stopped();
        self->quit();
      },
  };
}

} // namespace minidns
