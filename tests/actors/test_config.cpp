/// Settings: every [minidns] value is checked at start, since CAF silently
/// keeps defaults for badly typed ones.

#include "config/settings.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

using namespace minidns;

namespace {

std::vector<std::string> file_problems(const std::string& ini) {
  std::istringstream in{ini};
  auto raw = caf::actor_system_config::parse_config(in);
  EXPECT_TRUE(raw) << caf::to_string(raw.error());
  return raw ? check_file_types(*raw) : std::vector<std::string>{};
}

bool mentions(const std::vector<std::string>& problems,
              const std::string& what) {
  for (auto& p : problems)
    if (p.find(what) != std::string::npos)
      return true;
  return false;
}

/// Runs config::load on a command line.
std::vector<std::string> load(std::vector<std::string> args,
                              settings* out = nullptr) {
  args.insert(args.begin(), "minidns");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  config cfg;
  auto problems = cfg.load(static_cast<int>(argv.size()), argv.data());
  if (out)
    *out = cfg.values;
  return problems;
}

std::string write_temp(const std::string& text) {
  static int n = 0;
  auto path = ::testing::TempDir() + "minidns-config-" +
              std::to_string(::getpid()) + "-" + std::to_string(n++) + ".ini";
  std::ofstream{path} << text;
  return path;
}

} // namespace

TEST(Config, DefaultsAreValid) {
  EXPECT_TRUE(validate(settings{}).empty());
}

TEST(Config, SchedulerDefaultsAreSharingWithTwoWorkersAndCanBeChanged) {
  {
    config cfg;
    std::vector<char*> argv{const_cast<char*>("minidns")};
    ASSERT_TRUE(cfg.load(1, argv.data()).empty());
    EXPECT_EQ(caf::get_or(cfg, "scheduler.policy", caf::atom("")),
              caf::atom("sharing"));
    EXPECT_EQ(caf::get_or(cfg, "scheduler.max-threads", size_t{0}), 2u);
  }
  {
    config cfg;
    std::string arg = "--scheduler.max-threads=3";
    std::vector<char*> argv{const_cast<char*>("minidns"), arg.data()};
    ASSERT_TRUE(cfg.load(2, argv.data()).empty());
    EXPECT_EQ(caf::get_or(cfg, "scheduler.max-threads", size_t{0}), 3u);
  }
}

TEST(Config, RangesNameTheSetting) {
  settings s;
  s.max_in_flight = 0;
  s.udp_sockets = 0;
  s.endpoint = "http://x";
  s.log_level = "loud";
  s.source_v4 = "::1";
  s.drain_timeout = std::chrono::hours(2);
  auto p = validate(s);
  EXPECT_TRUE(mentions(p, "minidns.max-in-flight: out of range"));
  EXPECT_TRUE(mentions(p, "minidns.udp-sockets: out of range"));
  EXPECT_TRUE(mentions(p, "minidns.endpoint:"));
  EXPECT_TRUE(mentions(p, "minidns.log-level:"));
  EXPECT_TRUE(mentions(p, "minidns.source-v4:"));
  EXPECT_TRUE(mentions(p, "minidns.drain-timeout:"));
  EXPECT_EQ(p.size(), 6u);
}

TEST(Config, FileTypesAreChecked) {
  auto p = file_problems("[minidns]\nmax-in-flight=\"abc\"\n"
                         "drain-timeout=5\nipv6=1\nendpoint=\"tcp://a:1\"\n");
  EXPECT_TRUE(mentions(p, "minidns.max-in-flight: expected an integer"));
  EXPECT_TRUE(mentions(p, "minidns.drain-timeout: expected a duration"));
  EXPECT_TRUE(mentions(p, "minidns.ipv6: expected true or false"));
  EXPECT_EQ(p.size(), 3u);
}

TEST(Config, UnknownKeysAndNestedGroupsAreRefused) {
  auto p = file_problems("[minidns]\nmax-inflight=5\n[minidns.notify]\nx=1\n");
  EXPECT_TRUE(mentions(p, "minidns.max-inflight: unknown setting"));
  EXPECT_TRUE(mentions(p, "minidns.notify: unknown setting"));
}

TEST(Config, LoadReadsFileAndCommandLineOverrides) {
  auto path = write_temp("[minidns]\nmax-in-flight=42\nudp-sockets=2\n");
  settings s;
  auto p = load({"--config-file=" + path, "--minidns.udp-sockets=3"}, &s);
  EXPECT_TRUE(p.empty()) << (p.empty() ? "" : p[0]);
  EXPECT_EQ(s.max_in_flight, 42u);
  EXPECT_EQ(s.udp_sockets, 3u);
}

TEST(Config, LoadRefusesBadFileValues) {
  auto path = write_temp("[minidns]\nmax-in-flight=\"abc\"\n");
  auto p = load({"--config-file=" + path});
  EXPECT_TRUE(mentions(p, "minidns.max-in-flight"));
}

TEST(Config, LoadRefusesMissingFile) {
  auto p = load({"--config-file=/nonexistent/minidns.ini"});
  EXPECT_TRUE(mentions(p, "/nonexistent/minidns.ini"));
}

TEST(Config, LoadRefusesBadCommandLineValues) {
  EXPECT_TRUE(
      mentions(load({"--minidns.max-in-flight=abc"}), "minidns.max-in-flight"));
  EXPECT_TRUE(mentions(load({"--minidns.max-in-flight=0"}),
                       "minidns.max-in-flight: out of range"));
  EXPECT_TRUE(mentions(load({"stray"}), "unexpected argument 'stray'"));
}

TEST(Config, BooleansTakeTrueOrFalseOnTheCommandLine) {
  settings s;
  EXPECT_TRUE(load({"--minidns.ipv6=false"}, &s).empty());
  EXPECT_FALSE(s.ipv6);
  EXPECT_TRUE(load({"--minidns.ipv6=true"}, &s).empty());
  EXPECT_TRUE(s.ipv6);
  EXPECT_TRUE(mentions(load({"--minidns.ipv6=maybe"}),
                       "minidns.ipv6: expected true or false"));
}

TEST(Config, AllowlistIsParsedAndChecked) {
  auto path = write_temp(
      "[minidns]\nallow-destinations=[\"192.0.2.0/24\", \"2001:db8::/32\"]\n");
  settings s;
  auto p = load({"--config-file=" + path}, &s);
  EXPECT_TRUE(p.empty()) << (p.empty() ? "" : p[0]);
  auto list = allowed_destinations(s);
  std::string err;
  EXPECT_TRUE(list.allows(*net::parse_destination("192.0.2.7", err)));
  EXPECT_FALSE(list.allows(*net::parse_destination("192.0.3.7", err)));
  EXPECT_TRUE(mentions(file_problems("[minidns]\nallow-destinations=5\n"),
                       "minidns.allow-destinations: expected a list"));
  EXPECT_TRUE(mentions(file_problems("[minidns]\nallow-destinations=[1]\n"),
                       "minidns.allow-destinations: expected a list"));
  settings bad;
  bad.allow_destinations = {"192.0.2.0/24", "nonsense"};
  EXPECT_TRUE(mentions(validate(bad), "minidns.allow-destinations: not an IP"));
}

TEST(Config, TcpDestinationsAreParsedAndChecked) {
  settings s;
  auto p = load({"--minidns.tcp-destinations=[\"10.0.0.0/8\"]"}, &s);
  EXPECT_TRUE(p.empty()) << (p.empty() ? "" : p[0]);
  auto list = tcp_destinations(s);
  std::string err;
  EXPECT_TRUE(list.allows(*net::parse_destination("10.1.2.3", err)));
  EXPECT_FALSE(list.allows(*net::parse_destination("192.0.2.7", err)));
  EXPECT_TRUE(tcp_destinations(settings{}).empty()) << "none by default";
  settings bad;
  bad.tcp_destinations = {"10.0.0.0/33"};
  EXPECT_TRUE(mentions(validate(bad), "minidns.tcp-destinations:"));
}

namespace {

const std::string test_pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string test_sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

} // namespace

TEST(Config, CurveFilesAreReadAndChecked) {
  auto keys = write_temp(curve::format_key_file({test_pub, test_sec}));
  auto clients = write_temp("# pool managers\n" + test_pub + "\n");
  settings s;
  auto p = load({"--minidns.curve-key-file=" + keys,
                 "--minidns.curve-clients-file=" + clients},
                &s);
  EXPECT_TRUE(p.empty()) << (p.empty() ? "" : p[0]);
  std::vector<std::string> problems;
  auto c = load_curve(s, problems);
  ASSERT_TRUE(c);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(c->server.secret_key, test_sec);
  EXPECT_EQ(c->clients, std::vector<std::string>{test_pub});
  // Off when neither is set.
  EXPECT_FALSE(load_curve(settings{}, problems));
  EXPECT_TRUE(problems.empty());
}

TEST(Config, CurveProblemsNameTheSetting) {
  auto keys = write_temp(curve::format_key_file({test_pub, test_sec}));
  auto pub_only = write_temp(curve::format_key_file({test_pub, ""}));
  auto clients = write_temp(test_pub + "\n");
  auto empty = write_temp("# nobody\n");
  EXPECT_TRUE(mentions(load({"--minidns.curve-key-file=" + keys}),
                       "minidns.curve-clients-file: required"));
  EXPECT_TRUE(mentions(load({"--minidns.curve-clients-file=" + clients}),
                       "minidns.curve-key-file: required"));
  EXPECT_TRUE(mentions(load({"--minidns.curve-key-file=/nonexistent/k",
                             "--minidns.curve-clients-file=" + clients}),
                       "minidns.curve-key-file: cannot read '/nonexistent/k'"));
  EXPECT_TRUE(
      mentions(load({"--minidns.curve-key-file=" + pub_only,
                     "--minidns.curve-clients-file=" + clients}),
               "minidns.curve-key-file: " + pub_only + ": no secret-key line"));
  EXPECT_TRUE(mentions(load({"--minidns.curve-key-file=" + keys,
                             "--minidns.curve-clients-file=" + empty}),
                       "minidns.curve-clients-file: " + empty + ": no keys"));
  EXPECT_TRUE(mentions(load({"--minidns.curve-key-file=" + keys,
                             "--minidns.curve-clients-file=" + keys}),
                       "minidns.curve-clients-file: " + keys + ": line 3"));
}

TEST(Config, ReplyHoldIsChecked) {
  settings s;
  EXPECT_TRUE(
      load({"--minidns.reply-hold=5s", "--minidns.reply-hold-max=7"}, &s)
          .empty());
  EXPECT_EQ(s.reply_hold, std::chrono::seconds(5));
  EXPECT_EQ(s.reply_hold_max, 7u);
  EXPECT_TRUE(mentions(load({"--minidns.reply-hold=25h"}),
                       "minidns.reply-hold: out of range"));
  EXPECT_TRUE(mentions(load({"--minidns.reply-hold-max=100000001"}),
                       "minidns.reply-hold-max: out of range"));
  EXPECT_TRUE(mentions(file_problems("[minidns]\nreply-hold=5\n"),
                       "minidns.reply-hold: expected a duration"));
}

TEST(Config, LocalEndpoints) {
  for (const char* e :
       {"tcp://127.0.0.1:5358", "tcp://127.1.2.3:*", "tcp://[::1]:5358",
        "tcp://localhost:1", "ipc:///run/minidns.sock", "inproc://x"})
    EXPECT_TRUE(is_local_endpoint(e)) << e;
  for (const char* e :
       {"tcp://*:5358", "tcp://0.0.0.0:5358", "tcp://192.0.2.1:5358",
        "tcp://[::]:5358", "tcp://eth0:5358", "tcp://128.0.0.1:1",
        "tcp://[2001:db8::1]:1", "tcp://127.0.0.1", "pgm://x"})
    EXPECT_FALSE(is_local_endpoint(e)) << e;
}

TEST(Config, HelpListsEverySettingWithItsDefaultAndTheAnnotatedFile) {
  auto help = help_text();
  size_t n = 0;
  settings defaults;
  for_each_setting(defaults, [&](const char* name, const auto&, const char*) {
    ++n;
    EXPECT_NE(help.find(std::string("--minidns.") + name + "="),
              std::string::npos)
        << name;
  });
  EXPECT_GE(n, 18u);
  EXPECT_NE(help.find("--minidns.max-in-flight=100000"), std::string::npos);
  EXPECT_NE(help.find("--minidns.drain-timeout=5s"), std::string::npos);
  EXPECT_NE(help.find("--minidns.endpoint=\"tcp://127.0.0.1:5358\""),
            std::string::npos);
  EXPECT_NE(help.find("--minidns.allow-destinations=[]"), std::string::npos);
  EXPECT_NE(help.find("minidns.ini"), std::string::npos);
}

TEST(Config, HelpIsAnAnswerNotAProblem) {
  for (const char* flag : {"--help", "-h"}) {
    std::vector<std::string> args{"minidns", flag};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    config cfg;
    testing::internal::CaptureStdout();
    auto problems = cfg.load(static_cast<int>(argv.size()), argv.data());
    auto out = testing::internal::GetCapturedStdout();
    EXPECT_TRUE(problems.empty()) << flag;
    EXPECT_TRUE(cfg.cli_helptext_printed) << flag;
    EXPECT_NE(out.find("--minidns.reply-hold-max="), std::string::npos);
  }
}

TEST(Config, EverySettingIsAKnownKeyOfItsType) {
  // The config file's checks come from the same list as the options.
  EXPECT_TRUE(file_problems("[minidns]\nreply-hold-max = 5\n").empty());
  EXPECT_TRUE(mentions(file_problems("[minidns]\nreply-hold-max = \"5\"\n"),
                       "minidns.reply-hold-max: expected an integer"));
  EXPECT_TRUE(mentions(file_problems("[minidns]\nipv6 = 1\n"),
                       "minidns.ipv6: expected true or false"));
  EXPECT_TRUE(mentions(file_problems("[minidns]\nlinger = 5\n"),
                       "minidns.linger: expected a duration"));
}
