// Integration tests of minidns-ctl: `minidns-ctl [--endpoint=E] [--timeout=S]
// [--retry-interval=S] [--max-retries=N] [--grace=S] poll ZONE SERIAL DEST |
// notify ZONE DEST | batch FILE`; one JSON line per reply on stdout; exit 0
// when all SUCCESS, 1 on any ERROR, error or client timeout, 2 on usage
// errors.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <algorithm>
#include <string>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>

namespace {

using namespace minidns;
using namespace minidns::it;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    if (end > pos)
      lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class Ctl : public daemon_test {
protected:
  void SetUp() override {
    ASSERT_EQ(::access(minidns_ctl_binary, X_OK), 0)
        << minidns_ctl_binary << " is not built";
    start();
  }

  run_result ctl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {minidns_ctl_binary, "--endpoint=" + mdns->endpoint()});
    return run_program(args, 30000ms);
  }
};

TEST_F(Ctl, PollSuccessExitsZero) {
  responder r;
  zone_script s;
  s.serial = 10;
  r.script("ctl.test.", s);
  auto res = ctl({"--timeout=1", "--max-retries=0", "poll", "ctl.test.", "10",
                  r.destination()});
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_TRUE(contains(lines[0], "\"method\":\"update_status\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"status\":\"SUCCESS\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"actual_serial\":10")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"detail\":\"matched\"")) << lines[0];
  EXPECT_EQ(r.count_for("ctl.test."), 1u);
}

TEST_F(Ctl, PollErrorExitsOne) {
  responder r;
  zone_script silent;
  silent.silent = true;
  r.script("ctlsilent.test.", silent);
  auto res = ctl({"--timeout=0.1", "--retry-interval=0", "--max-retries=1",
                  "poll", "ctlsilent.test.", "10", r.destination()});
  EXPECT_EQ(res.status, 1) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_TRUE(contains(lines[0], "\"status\":\"ERROR\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"actual_serial\":null")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"detail\":\"timeout\"")) << lines[0];
  EXPECT_EQ(r.count_for("ctlsilent.test."), 2u) << "--max-retries=1";
}

TEST_F(Ctl, InvalidCastReplyExitsOne) {
  responder r;
  // minidns refuses the destination: its update_status "invalid cast" is
  // printed and counts as an ERROR.
  auto res =
      ctl({"--timeout=0.1", "poll", "ctl.test.", "1", "127.0.0.1:70000"});
  EXPECT_EQ(res.status, 1) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 1u) << res.out;
  EXPECT_TRUE(contains(lines[0], "\"detail\":\"invalid cast\"")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "\"error\":\"destination: port out of range"))
      << lines[0];
}

TEST_F(Ctl, NotifyIsSent) {
  responder r;
  auto res = ctl({"--timeout=0.1", "--max-retries=0", "--grace=0.2", "notify",
                  "ctlnotify.test.", r.destination()});
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  EXPECT_EQ(res.out, "") << "a notify gets no reply";
  ASSERT_TRUE(r.wait_for_count("ctlnotify.test.", 1, reply_wait));
  EXPECT_EQ(r.queries_for("ctlnotify.test.").at(0).opcode, 4);
}

TEST_F(Ctl, ClientTimeoutExitsOne) {
  // A ROUTER that takes the cast and never answers: minidns-ctl gives up on
  // its own deadline (the cast's budget plus its queueing margin).
  zmq::context_t ctx(1);
  zmq::socket_t mute(ctx, zmq::socket_type::router);
  mute.set(zmq::sockopt::linger, 0);
  mute.bind("tcp://127.0.0.1:*");
  auto endpoint = mute.get(zmq::sockopt::last_endpoint);
  auto res =
      run_program({minidns_ctl_binary, "--endpoint=" + endpoint,
                   "--timeout=0.1", "--retry-interval=0", "--max-retries=0",
                   "--grace=0.1", "poll", "ctl.test.", "1", "127.0.0.1:9"},
                  30000ms);
  EXPECT_EQ(res.status, 1) << res.out << res.err;
}

TEST_F(Ctl, UnreachableDaemonFails) {
  // Nothing listens on port 1 of loopback. The spec asks for 1 on a client
  // timeout; minidns-ctl documents 3 for "minidns not reachable at all".
  auto res = run_program({minidns_ctl_binary, "--endpoint=tcp://127.0.0.1:1",
                          "--timeout=0.1", "--max-retries=0", "--grace=0.1",
                          "poll", "ctl.test.", "1", "127.0.0.1:9"},
                         30000ms);
  EXPECT_TRUE(res.status == 1 || res.status == 3) << res.out << res.err;
}

TEST_F(Ctl, BatchFileOfPolls) {
  // The batch file holds one cast per line, as on the command line;
  // blank lines and '#' comments are skipped.
  responder r;
  zone_script s;
  s.serial = 7;
  r.default_script(s);
  auto path = write_config("batch-ok",
                           "# three polls\npoll b1.test. 5 " + r.destination() +
                               "\n\npoll b2.test. 6 " + r.destination() +
                               "\npoll b3.test. 7 " + r.destination() + "\n");
  auto res = ctl({"--timeout=1", "--max-retries=1", "batch", path});
  EXPECT_EQ(res.status, 0) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 3u) << res.out;
  for (const char* zone : {"b1.test.", "b2.test.", "b3.test."}) {
    auto n = std::count_if(lines.begin(), lines.end(), [&](auto& l) {
      return contains(l, std::string("\"name\":\"") + zone + "\"");
    });
    EXPECT_EQ(n, 1) << zone << " in\n" << res.out;
    EXPECT_EQ(r.count_for(zone), 1u) << zone;
  }
  for (const auto& l : lines)
    EXPECT_TRUE(contains(l, "\"status\":\"SUCCESS\"")) << l;
  ::unlink(path.c_str());
}

TEST_F(Ctl, LongBatchShowsProgressAndASummary) {
  // Answers come 400 ms after the queries: the progress lines in between
  // show every poll sent and in flight, none done yet.
  responder r;
  zone_script slow;
  slow.delay = 400ms;
  r.default_script(slow);
  std::string batch;
  for (int i = 0; i < 20; ++i)
    batch +=
        "poll p" + std::to_string(i) + ".test. 1 " + r.destination() + "\n";
  auto path = write_config("batch-progress", batch);
  auto res = ctl({"--timeout=5", "--progress=0.1", "batch", path});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(lines_of(res.out).size(), 20u);
  EXPECT_TRUE(contains(res.err, "progress: sent 20, done 0 (success 0, error "
                                "0, timeout 0), in flight 20, 0/s"))
      << res.err;
  EXPECT_TRUE(contains(res.err, "sent 20, success 20, error 0, timeout 0"))
      << res.err;
  // Without --progress and with stderr not a terminal: no progress lines.
  res = ctl({"--timeout=5", "batch", path});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_FALSE(contains(res.err, "progress:")) << res.err;
  ::unlink(path.c_str());
}

TEST_F(Ctl, BatchWithOneFailureExitsOne) {
  responder r;
  zone_script s;
  s.serial = 7;
  r.default_script(s);
  auto path = write_config("batch-fail", "poll ok.test. 7 " + r.destination() +
                                             "\npoll behind.test. 8 " +
                                             r.destination() + "\n");
  auto res = ctl({"--timeout=1", "--max-retries=0", "batch", path});
  EXPECT_EQ(res.status, 1) << res.out << res.err;
  auto lines = lines_of(res.out);
  ASSERT_EQ(lines.size(), 2u) << res.out;
  auto errors = std::count_if(lines.begin(), lines.end(), [](auto& l) {
    return contains(l, "\"status\":\"ERROR\"");
  });
  EXPECT_EQ(errors, 1) << res.out;
  ::unlink(path.c_str());
}

TEST_F(Ctl, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> bad{
      {},
      {"poll"},
      {"poll", "ctl.test."},
      {"poll", "ctl.test.", "1"},
      {"poll", "ctl.test.", "not-a-serial", "127.0.0.1:53"},
      {"frobnicate"},
      {"--no-such-option", "poll", "ctl.test.", "1", "127.0.0.1:53"},
      {"batch"},
  };
  for (const auto& args : bad) {
    auto res = ctl(args);
    std::string shown;
    for (const auto& a : args)
      shown += a + " ";
    EXPECT_EQ(res.status, 2) << "minidns-ctl " << shown << "\n"
                             << res.out << res.err;
  }
  responder r;
  EXPECT_EQ(r.count(), 0u);
  EXPECT_TRUE(barrier(r).empty());
}

} // namespace
