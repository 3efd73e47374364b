// Integration tests of who may drive minidns and what it believes: CURVE
// authentication with a key list, the loopback default, and a flood of
// forged DNS replies.

#include "actors/zmq/key_files.hpp"
#include "fixture.hpp"

#include <cstdio>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace {

using namespace minidns;
using namespace minidns::it;

/// A temporary path unique to this process and test.
std::string temp_path(const std::string& name) {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "minidns-sec-" + std::to_string(::getpid()) +
         "-" + info->name() + "-" + name;
}

/// A key pair made by `minidns-ctl keygen`, and where it lies.
struct key_files {
  std::string path; ///< the key pair; path + ".pub" the public key
  curve::key_pair keys;
};

key_files keygen(const std::string& name) {
  key_files k;
  k.path = temp_path(name);
  std::remove(k.path.c_str());
  std::remove((k.path + ".pub").c_str());
  auto res = run_program({minidns_ctl_binary, "keygen", k.path}, 10000ms);
  EXPECT_EQ(res.status, 0) << res.err;
  std::ifstream in(k.path);
  std::stringstream text;
  text << in.rdbuf();
  auto f = curve::parse_key_file(text.str(), true);
  EXPECT_TRUE(f.keys) << f.error;
  if (f.keys)
    k.keys = *f.keys;
  EXPECT_EQ(res.out, k.keys.public_key + "\n");
  return k;
}

class Curve : public daemon_test {
protected:
  /// Starts minidns with CURVE: its own key pair and `allowed` as the only
  /// client. `pm` connects with the allowed key.
  void start_curve(std::vector<std::string> extra = {}) {
    server = keygen("server");
    allowed = keygen("allowed");
    clients_file = temp_path("clients");
    std::ofstream(clients_file) << "# the pool manager\n"
                                << allowed.keys.public_key << "\n";
    extra.push_back("--minidns.curve-key-file=" + server.path);
    extra.push_back("--minidns.curve-clients-file=" + clients_file);
    extra.emplace_back("--minidns.drain-timeout=1s");
    mdns = std::make_unique<daemon_process>(extra);
    pm = std::make_unique<pool_manager>(mdns->endpoint(),
                                        client_options(allowed.keys));
  }

  pm_options client_options(const curve::key_pair& keys) const {
    pm_options o;
    o.server_key = server.keys.public_key;
    o.public_key = keys.public_key;
    o.secret_key = keys.secret_key;
    return o;
  }

  key_files server, allowed;
  std::string clients_file;
};

TEST_F(Curve, ListedKeyGetsItsStatus) {
  start_curve();
  EXPECT_TRUE(
      mdns->wait_for_line("CURVE on: 1 pool manager key(s) allowed", 0ms));
  responder r;
  auto got = poll_once(*pm, poll_cast("ok.test.", 1, r.destination(), 1.0, 0, 0,
                                      mp_str("listed")));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.raw_request_id, mp_str("listed"));
}

TEST_F(Curve, UnlistedKeyIsRefusedAndNothingIsSent) {
  start_curve();
  responder r;
  auto stranger = keygen("stranger");
  pool_manager intruder(mdns->endpoint(), client_options(stranger.keys));
  intruder.send(poll_cast("intruder.test.", 1, r.destination()));
  std::string line;
  ASSERT_TRUE(
      mdns->wait_for_line("refused a pool manager from", reply_wait, &line));
  EXPECT_NE(line.find(stranger.keys.public_key), std::string::npos) << line;
  EXPECT_NE(line.find("not in minidns.curve-clients-file"), std::string::npos);
  // The listed pool manager still works, and by the time its poll is
  // answered the intruder's cast would have gone out, had it been taken.
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_EQ(r.count_for("intruder.test."), 0u);
  EXPECT_FALSE(intruder.receive_raw(0ms));
  EXPECT_TRUE(wait_for_metric("minidns_zmq_connections_refused_total", 1));
  EXPECT_TRUE(wait_for_metric_total("minidns_casts_total", 1)); // barrier
}

TEST_F(Curve, PlainConnectionIsRefused) {
  start_curve();
  responder r;
  pool_manager plain(mdns->endpoint());
  plain.send(poll_cast("plain.test.", 1, r.destination()));
  ASSERT_TRUE(
      mdns->wait_for_line("failed the ZeroMQ CURVE handshake", reply_wait));
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_EQ(r.count_for("plain.test."), 0u);
  EXPECT_FALSE(plain.receive_raw(0ms));
}

TEST_F(Curve, WrongServerKeyIsRefused) {
  start_curve();
  responder r;
  auto other = keygen("other-server");
  auto o = client_options(allowed.keys);
  o.server_key = other.keys.public_key; // not minidns's key
  pool_manager confused(mdns->endpoint(), o);
  confused.send(poll_cast("confused.test.", 1, r.destination()));
  ASSERT_TRUE(
      mdns->wait_for_line("failed the ZeroMQ CURVE handshake", reply_wait));
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_EQ(r.count_for("confused.test."), 0u);
}

TEST_F(Curve, CtlConnectsWithKeysAndExplainsARefusal) {
  start_curve();
  responder r;
  auto res = run_program({minidns_ctl_binary, "--endpoint=" + mdns->endpoint(),
                          "--curve-server-key=" + server.path + ".pub",
                          "--curve-key-file=" + allowed.path, "poll",
                          "ctl.test.", "1", r.destination()},
                         reply_wait);
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_NE(res.out.find("\"status\":\"SUCCESS\""), std::string::npos)
      << res.out;
  // The server key may be given inline too; a client key that is not
  // listed gets a clear message and exit 3 (minidns not reachable).
  auto stranger = keygen("stranger");
  res = run_program({minidns_ctl_binary, "--endpoint=" + mdns->endpoint(),
                     "--curve-server-key=" + server.keys.public_key,
                     "--curve-key-file=" + stranger.path, "--timeout=1",
                     "--max-retries=0", "poll", "ctl.test.", "1",
                     r.destination()},
                    reply_wait);
  EXPECT_EQ(res.status, 3) << res.err;
  EXPECT_NE(res.err.find("refused the ZeroMQ handshake"), std::string::npos)
      << res.err;
}

TEST_F(Curve, KeygenWritesPrivateFileAndRefusesToOverwrite) {
  auto k = keygen("pair");
  struct stat st {};
  ASSERT_EQ(::stat(k.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((k.path + ".pub").c_str(), &st), 0);
  std::ifstream in(k.path + ".pub");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(k.keys.secret_key), std::string::npos);
  auto res = run_program({minidns_ctl_binary, "keygen", k.path}, 10000ms);
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("cannot create"), std::string::npos) << res.err;
}

TEST_F(Curve, CtlOptionsNeedEachOther) {
  auto k = keygen("pair");
  auto res = run_program(
      {minidns_ctl_binary, "--curve-key-file=" + k.path, "notify", "a.", "::1"},
      10000ms);
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("--curve-key-file: needs --curve-server-key"),
            std::string::npos)
      << res.err;
  res = run_program({minidns_ctl_binary, "--curve-server-key=" + k.path,
                     "--curve-key-file=" + k.path + ".pub", "notify", "a.",
                     "::1"},
                    10000ms);
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("no secret-key line"), std::string::npos) << res.err;
}

TEST_F(Curve, BadKeyFilesStopTheStart) {
  auto k = keygen("pair");
  auto clients = temp_path("clients");
  std::ofstream(clients) << k.keys.public_key << "\n";
  auto res =
      run_program({minidns_binary, "--minidns.endpoint=tcp://127.0.0.1:*",
                   "--minidns.curve-key-file=" + k.path + ".pub",
                   "--minidns.curve-clients-file=" + clients},
                  10000ms);
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("minidns.curve-key-file: "), std::string::npos)
      << res.err;
  EXPECT_NE(res.err.find("no secret-key line"), std::string::npos) << res.err;
  res = run_program({minidns_binary, "--minidns.endpoint=tcp://127.0.0.1:*",
                     "--minidns.curve-key-file=" + k.path},
                    10000ms);
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("minidns.curve-clients-file: required"),
            std::string::npos)
      << res.err;
}

TEST_F(Curve, WithoutKeysTheDefaultIsLoopbackAndSaysSo) {
  start();
  EXPECT_TRUE(mdns->wait_for_line(
      "CURVE off: endpoint tcp://127.0.0.1:* is reachable from this host only",
      0ms))
      << mdns->log();
}

} // namespace

// ---------------------------------------------------------------------------
// A flood of forged replies while polls wait for a slow server.

namespace {

class Forgery : public daemon_test {};

TEST_F(Forgery, FloodOfForgedRepliesIsCountedAndNoneIsTaken) {
  start();
  responder r;
  zone_script slow;
  slow.serial = 5;
  slow.spoof_serial = 999; // newer: a poll that took one would say 999
  slow.delay = 200ms;
  slow.flood = 30;
  r.default_script(slow);
  constexpr int polls = 120, window = 12;
  int sent = 0, done = 0;
  // A window of polls at a time keeps the forged datagrams well inside the
  // socket buffers, so that every one is read and counted.
  while (done < polls) {
    while (sent < polls && sent - done < window) {
      pm->send(poll_cast("z" + std::to_string(sent) + ".flood.test.", 5,
                         r.destination(), 2.0, 0, 0, mp_int(sent)));
      ++sent;
    }
    auto got = receive(*pm);
    ASSERT_TRUE(got) << "only " << done << " replies";
    EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
    EXPECT_EQ(got->r.actual_serial, 5u) << got->json();
    EXPECT_EQ(got->r.detail, "matched") << got->json();
    ++done;
  }
  EXPECT_EQ(r.count(), static_cast<size_t>(polls)); // no retries were needed
  auto forged = r.forged_sent();
  EXPECT_EQ(forged, uint64_t{polls} * slow.flood);
  // The last forged datagrams may still be on their way: wait until every
  // datagram sent has been read and sorted.
  const std::string unmatched =
      "minidns_dns_replies_dropped_total{reason=\"unmatched\"}";
  const std::string mismatched =
      "minidns_dns_replies_dropped_total{reason=\"mismatched\"}";
  EXPECT_TRUE(wait_for_metric("minidns_dns_datagrams_received_total",
                              static_cast<double>(forged + polls)));
  EXPECT_TRUE(wait_for_metric(
      "unmatched + mismatched",
      [&](const std::string& p) {
        return metric_value(p, unmatched) + metric_value(p, mismatched);
      },
      static_cast<double>(forged)));
  EXPECT_TRUE(wait_for_metric_total("minidns_dns_replies_total", polls));
  // Both kinds occur: wrong IDs and ports find no attempt; a right ID with
  // a wrong question, QR or opcode fails the reply check.
  EXPECT_GT(metric(unmatched), 0);
  EXPECT_GT(metric(mismatched), 0);
}

} // namespace
