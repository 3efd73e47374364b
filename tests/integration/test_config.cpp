// Integration tests of the configuration: bad settings refuse to start with
// exit code 2.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

class Config : public daemon_test {};

run_result run_daemon(std::vector<std::string> args) {
  args.insert(args.begin(),
              {minidns_binary, "--minidns.endpoint=tcp://127.0.0.1:*"});
  return run_program(args, 20000ms);
}

TEST_F(Config, HelpShowsMinidnsSettingsAndExitsZero) {
  auto res = run_program({minidns_binary, "--help"}, 20000ms);
  EXPECT_EQ(res.status, 0) << res.err;
  for (const char* want :
       {"--minidns.max-in-flight=100000", "--minidns.reply-hold=60s",
        "--minidns.metrics-endpoint=\"\"", "config/minidns.ini"})
    EXPECT_NE(res.out.find(want), std::string::npos) << want << "\n" << res.out;
}

TEST_F(Config, MaxInFlightZeroIsRefused) {
  auto res = run_daemon({"--minidns.max-in-flight=0"});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.max-in-flight"), std::string::npos)
      << res.err;
}

TEST_F(Config, BadCommandLineValuesAreRefused) {
  for (const char* arg :
       {"--minidns.log-level=loud", "--minidns.udp-sockets=0",
        "--minidns.source-v4=localhost", "--minidns.endpoint=127.0.0.1:1"}) {
    auto res = run_program({minidns_binary, arg}, 20000ms);
    std::string key =
        std::string(arg).substr(2, std::string(arg).find('=') - 2);
    EXPECT_EQ(res.status, 2) << arg << "\n" << res.err;
    EXPECT_NE(res.err.find(key), std::string::npos) << arg << "\n" << res.err;
  }
}

TEST_F(Config, FileWithWrongTypeIsRefused) {
  auto path =
      write_config("wrong-type", "[minidns]\nmax-in-flight = \"abc\"\n");
  auto res = run_daemon({"--config-file=" + path});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.max-in-flight"), std::string::npos)
      << res.err;
  ::unlink(path.c_str());
}

TEST_F(Config, FileWithUnknownKeyIsRefused) {
  auto path = write_config("unknown", "[minidns]\nno-such-setting = 1\n");
  auto res = run_daemon({"--config-file=" + path});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.no-such-setting"), std::string::npos)
      << res.err;
  ::unlink(path.c_str());
}

TEST_F(Config, FileWithNestedGroupIsRefused) {
  auto path = write_config("nested", "[minidns.notify]\ntimeout = 1\n");
  auto res = run_daemon({"--config-file=" + path});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.notify"), std::string::npos) << res.err;
  ::unlink(path.c_str());
}

TEST_F(Config, ValidFileIsUsed) {
  auto path = write_config("valid", "[minidns]\nmax-in-flight = 7\n"
                                    "log-level = \"debug\"\n");
  start({"--config-file=" + path});
  EXPECT_TRUE(mdns->wait_for_line("max-in-flight 7", 0ms)) << mdns->log();
  responder r;
  EXPECT_TRUE(barrier(r).empty());
  // log-level debug from the file: the poll's SUCCESS is logged.
  EXPECT_TRUE(mdns->wait_for_line("barrier.test.", reply_wait)) << mdns->log();
  ::unlink(path.c_str());
}

TEST_F(Config, EndpointInUseFailsToStart) {
  start();
  auto res = run_program(
      {minidns_binary, "--minidns.endpoint=" + mdns->endpoint()}, 20000ms);
  EXPECT_NE(res.status, 0) << res.err;
  EXPECT_NE(res.err.find("minidns.endpoint"), std::string::npos) << res.err;
}

TEST_F(Config, BadAllowlistEntryIsRefused) {
  auto cfg = write_config("bad-allowlist",
                          "[minidns]\nallow-destinations=[\"10.0.0.1/8\"]\n");
  auto res = run_daemon({"--config-file=" + cfg});
  EXPECT_EQ(res.status, 2) << res.err;
  EXPECT_NE(res.err.find("minidns.allow-destinations: host bits set"),
            std::string::npos)
      << res.err;
}

} // namespace
