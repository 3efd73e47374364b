// Integration tests of the logs as JSON lines, for log shippers.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

using namespace minidns;
using namespace minidns::it;

class Logs : public daemon_test {};

TEST_F(Logs, JsonFormatIsOneObjectPerLineEvenForHostileText) {
  start({"--minidns.log-format=json", "--minidns.log-level=debug"});
  responder r;
  // A zone whose name has a quote and a backslash (valid, escaped): the
  // debug line about its poll carries both.
  pm->send(poll_cast("a\"b\\\\c.test.", 1, r.destination()));
  ASSERT_TRUE(receive(*pm));
  EXPECT_TRUE(barrier(r).empty());
  auto summary_line = stop_and_summary();
  auto path = ::testing::TempDir() + "minidns-json-log-" +
              std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << mdns->log();
  // Python's json module is the judge: every line one object with time,
  // level and msg; the hostile text comes back intact.
  auto res = run_program(
      {"/usr/bin/python3", "-c",
       "import json,sys\n"
       "n=0\n"
       "seen=False\n"
       "for line in open(sys.argv[1]):\n"
       "  o=json.loads(line)\n"
       "  assert set(o)=={'time','level','msg'}, o\n"
       "  seen = seen or ('\"' in o['msg'] and '\\\\' in o['msg'])\n"
       "  n+=1\n"
       "assert seen, 'hostile text not found'\n"
       "print(n)\n",
       path},
      10000ms);
  EXPECT_EQ(res.status, 0) << res.err << mdns->log();
  EXPECT_GE(std::atoi(res.out.c_str()), 5) << res.out;
  std::remove(path.c_str());
}

TEST_F(Logs, BadLogFormatIsRefused) {
  auto res = run_program({minidns_binary, "--minidns.log-format=xml"}, 10000ms);
  EXPECT_EQ(res.status, 2);
  EXPECT_NE(res.err.find("minidns.log-format: expected text or json"),
            std::string::npos)
      << res.err;
}

} // namespace
