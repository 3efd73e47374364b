#include "harness.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace minidns::it {

namespace {

using clock = std::chrono::steady_clock;

int ms_left(clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<milliseconds>(deadline - clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

/// Waits up to `timeout` for `pid` to end and reaps it. Returns the raw
/// wait status, nullopt when it is still running.
std::optional<int> wait_pid(pid_t pid, milliseconds timeout) {
  auto deadline = clock::now() + timeout;
#ifdef SYS_pidfd_open
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    for (;;) {
      pollfd p{pidfd, POLLIN, 0};
      int n = ::poll(&p, 1, ms_left(deadline));
      if (n < 0 && errno == EINTR)
        continue;
      break;
    }
    ::close(pidfd);
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return status;
    return std::nullopt;
  }
#endif
  // No pidfd (old kernel): look again every millisecond.
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return status;
    if (clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(milliseconds(1));
  }
}

/// posix_spawn with stdin from /dev/null, stdout to `out_fd` and stderr to
/// `err_fd`, signals unblocked and at their defaults.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int err = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0)
    throw std::runtime_error("cannot start " + argv[0] + ": " +
                             std::strerror(err));
  return pid;
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
}

} // namespace

run_result run_program(const std::vector<std::string>& argv,
                       milliseconds timeout) {
  int out[2], err[2];
  make_pipe(out);
  make_pipe(err);
  pid_t pid;
  try {
    pid = spawn(argv, out[1], err[1]);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1]})
      ::close(fd);
    throw;
  }
  ::close(out[1]);
  ::close(err[1]);

  run_result result;
  auto deadline = clock::now() + timeout;
  bool out_open = true, err_open = true, timed_out = false;
  char buf[4096];
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, ms_left(deadline));
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0) {
      timed_out = true;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      auto got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0)
        (i == 0 ? result.out : result.err)
            .append(buf, static_cast<size_t>(got));
      else if (got == 0 || errno != EINTR)
        (i == 0 ? out_open : err_open) = false;
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  std::optional<int> status;
  if (!timed_out)
    status = wait_pid(pid, milliseconds(ms_left(deadline) + 1000));
  if (!status) {
    ::kill(pid, SIGKILL);
    wait_pid(pid, milliseconds(10000));
    result.status = -1;
    return result;
  }
  result.status = decode_status(*status);
  return result;
}

daemon_process::daemon_process(std::vector<std::string> extra_args,
                               bool wait_ready) {
  std::vector<std::string> argv{minidns_binary,
                                "--minidns.endpoint=tcp://127.0.0.1:*"};
  const std::string metrics_option = "--minidns.metrics-endpoint=";
  bool own_metrics = std::any_of(
      extra_args.begin(), extra_args.end(),
      [&](const std::string& a) { return a.rfind(metrics_option, 0) == 0; });
  // Every daemon serves /metrics on a free loopback port: tests read its
  // counters there, as operators do.
  if (!own_metrics)
    argv.push_back(metrics_option + "127.0.0.1:0");
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  int fds[2];
  make_pipe(fds);
  try {
    pid_ = spawn(argv, fds[1], fds[1]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  int rd = fds[0];
  reader_ = std::thread([this, rd] { read_output(rd); });
  if (!wait_ready)
    return;
  const std::string marker = "minidns ready: endpoint ";
  std::string line;
  if (!wait_for_line(marker, milliseconds(10000), &line)) {
    stop(SIGKILL);
    // No destructor runs for a constructor that throws: the reader must be
    // joined here (the pipe ends with the process).
    if (reader_.joinable())
      reader_.join();
    throw std::runtime_error("minidns did not log '" + marker +
                             "'; its log:\n" + log());
  }
  auto start = line.find(marker) + marker.size();
  auto end = line.find(' ', start);
  endpoint_ = line.substr(start, end == std::string::npos ? std::string::npos
                                                          : end - start);
}

daemon_process::~daemon_process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(milliseconds(10000));
  }
  if (reader_.joinable())
    reader_.join();
}

void daemon_process::read_output(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    auto got = ::read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    partial.append(buf, static_cast<size_t>(got));
    std::vector<std::string> complete;
    size_t pos;
    while ((pos = partial.find('\n')) != std::string::npos) {
      complete.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
    }
    if (!complete.empty()) {
      {
        std::lock_guard<std::mutex> guard{mtx_};
        for (auto& l : complete)
          lines_.push_back(std::move(l));
      }
      cv_.notify_all();
    }
  }
  ::close(fd);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!partial.empty())
      lines_.push_back(std::move(partial));
    eof_ = true;
  }
  cv_.notify_all();
}

bool daemon_process::wait_for_line(const std::string& needle,
                                   milliseconds timeout,
                                   std::string* line) const {
  std::unique_lock<std::mutex> lock{mtx_};
  size_t seen = 0;
  bool found = false;
  cv_.wait_for(lock, timeout, [&] {
    for (; seen < lines_.size(); ++seen)
      if (lines_[seen].find(needle) != std::string::npos) {
        if (line != nullptr)
          *line = lines_[seen];
        found = true;
        return true;
      }
    return eof_;
  });
  return found;
}

bool daemon_process::wait_for_lines(const std::string& needle, size_t n,
                                    milliseconds timeout) const {
  std::unique_lock<std::mutex> lock{mtx_};
  size_t seen = 0, count = 0;
  return cv_.wait_for(lock, timeout, [&] {
    for (; seen < lines_.size(); ++seen)
      if (lines_[seen].find(needle) != std::string::npos)
        ++count;
    return count >= n || eof_;
  }) && count >= n;
}

size_t daemon_process::count_lines(const std::string& needle) const {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (const auto& l : lines_)
    if (l.find(needle) != std::string::npos)
      ++n;
  return n;
}

std::string daemon_process::log() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string out;
  for (const auto& l : lines_)
    out += l + '\n';
  return out;
}

std::pair<std::string, uint16_t> daemon_process::metrics_address() const {
  // Logged before "minidns ready": there once the constructor returned.
  const std::string marker = "metrics on http://";
  std::string line;
  if (!wait_for_line(marker, milliseconds(0), &line))
    return {{}, 0};
  auto start = line.find(marker) + marker.size();
  auto end = line.find("/metrics", start);
  auto colon = line.rfind(':', end);
  if (end == std::string::npos || colon < start)
    return {{}, 0};
  auto host = line.substr(start, colon - start); // "[::1]" for IPv6
  if (host.size() >= 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  return {host, static_cast<uint16_t>(std::stoi(line.substr(colon + 1)))};
}

std::string daemon_process::scrape() const {
  auto [host, port] = metrics_address();
  if (port == 0)
    return {};
  auto res = http_get(host, port, "/metrics", milliseconds(10000));
  if (!res || res->status != 200)
    return {};
  return std::move(res->body);
}

bool daemon_process::wait_for_metric(
    const std::function<double(const std::string&)>& read, double expected,
    milliseconds timeout, std::string* page) const {
  auto deadline = clock::now() + timeout;
  for (;;) {
    auto now = scrape();
    bool ok = !now.empty() && read(now) == expected;
    if (page != nullptr)
      *page = std::move(now);
    if (ok)
      return true;
    if (clock::now() >= deadline)
      return false;
    // The daemon publishes its counters at the end of each turn of its
    // threads: look again shortly.
    std::this_thread::sleep_for(milliseconds(5));
  }
}

void daemon_process::signal(int sig) {
  if (!reaped_ && pid_ > 0)
    ::kill(pid_, sig);
}

std::optional<int> daemon_process::wait_exit(milliseconds timeout) {
  if (reaped_)
    return status_;
  auto raw = wait_pid(pid_, timeout);
  if (!raw)
    return std::nullopt;
  reaped_ = true;
  status_ = decode_status(*raw);
  // The daemon is gone: its log ends soon (EOF), so every line is in.
  if (reader_.joinable())
    reader_.join();
  return status_;
}

int daemon_process::stop(int sig, milliseconds timeout) {
  signal(sig);
  if (auto st = wait_exit(timeout))
    return *st;
  ::kill(pid_, SIGKILL);
  wait_exit(milliseconds(10000));
  return -1;
}

std::optional<http_response> http_get(const std::string& host, uint16_t port,
                                      const std::string& path,
                                      milliseconds timeout) {
  httplib::Client cli(
      host.find(':') == std::string::npos ? host : "[" + host + "]", port);
  auto secs = static_cast<time_t>(timeout.count() / 1000);
  auto usecs = static_cast<time_t>(timeout.count() % 1000 * 1000);
  cli.set_connection_timeout(secs, usecs);
  cli.set_read_timeout(secs, usecs);
  cli.set_write_timeout(secs, usecs);
  auto res = cli.Get(path);
  if (!res)
    return std::nullopt;
  return http_response{res->status, res->get_header_value("Content-Type"),
                       res->body};
}

pool_manager::pool_manager(const std::string& endpoint, int rcvhwm)
    : pool_manager(endpoint, pm_options{rcvhwm, {}, {}, {}, {}}) {}

pool_manager::pool_manager(const std::string& endpoint, const pm_options& opts)
    : ctx_(1), sock_(ctx_, zmq::socket_type::dealer) {
  sock_.set(zmq::sockopt::linger, 0);
  sock_.set(zmq::sockopt::rcvhwm, opts.rcvhwm);
  if (!opts.routing_id.empty())
    sock_.set(zmq::sockopt::routing_id, opts.routing_id);
  if (!opts.server_key.empty()) {
    sock_.set(zmq::sockopt::curve_serverkey, opts.server_key);
    sock_.set(zmq::sockopt::curve_publickey, opts.public_key);
    sock_.set(zmq::sockopt::curve_secretkey, opts.secret_key);
  }
  sock_.connect(endpoint);
}

void pool_manager::send(const std::string& frame) {
  sock_.send(zmq::buffer(frame), zmq::send_flags::none);
}

void pool_manager::send_frames(const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i)
    sock_.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                           ? zmq::send_flags::sndmore
                                           : zmq::send_flags::none);
}

std::vector<std::string> pool_manager::receive_frames(milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  std::vector<std::string> frames;
  for (;;) {
    zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, milliseconds(ms_left(deadline)));
    if (item.revents & ZMQ_POLLIN)
      break;
    if (clock::now() >= deadline)
      return frames;
  }
  for (bool more = true; more;) {
    zmq::message_t msg;
    if (!sock_.recv(msg, zmq::recv_flags::none))
      break;
    frames.emplace_back(static_cast<const char*>(msg.data()), msg.size());
    more = msg.more();
  }
  return frames;
}

std::optional<std::string> pool_manager::receive_raw(milliseconds timeout) {
  auto frames = receive_frames(timeout);
  if (frames.empty())
    return std::nullopt;
  if (frames.size() != 1)
    throw std::runtime_error("reply of " + std::to_string(frames.size()) +
                             " frames");
  return std::move(frames[0]);
}

messages::reply decode_or_throw(const std::string& raw) {
  std::string error;
  auto r = messages::decode_reply(raw.data(), raw.size(), error);
  if (!r)
    throw std::runtime_error("undecodable reply (" + error + "): " +
                             messages::msgpack_to_json(raw.data(), raw.size()));
  return std::move(*r);
}

std::optional<messages::reply> pool_manager::receive(milliseconds timeout) {
  auto raw = receive_raw(timeout);
  if (!raw)
    return std::nullopt;
  return decode_or_throw(*raw);
}

} // namespace minidns::it
