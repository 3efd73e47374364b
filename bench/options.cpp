#include "bench/options.hpp"

#include "bench/lib/common.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace minidns::bench {

const std::vector<std::string> daemon_option_names = {
    "minidns",   "log-dir", "stop-timeout", "perf",
    "perf-args", "attach",  "keep-log",     "daemon-arg"};

namespace {

constexpr const char* description =
    "The load-generating pool manager of bench/run.sh (bench/README.md).";

constexpr const char* footer = R"(Modes:
  free-port  print a port free for UDP and TCP on 127.0.0.1
  zones      write --zones zone files, an nsd.conf and a dnsperf query file
             into --dir (NSD on --nsd-port)
  check      ask --dest directly for every zone's SOA (sanity check)
  poll       --count polls to --dest (NSD), window --window; every one must
             be SUCCESS with the zone's serial
  notify     --count notifies to an in-process NOERROR responder, window
             --window (in flight = casts sent - NOTIFYs the responder has
             received)
  latency    polls to --dest paced at --rate for --duration, with direct SOA
             probes interleaved to measure the server's round trip
  scale      --count polls at once to a silent in-process UDP socket,
             timeout --timeout: peak RSS of minidns per request in flight,
             timer lateness
  timeline   polls paced at --rate for --duration (--overload-rate between
             --overload-from and --overload-to), mixed per --mix: to --dest
             (NSD, SUCCESS), to silent sockets (ERROR timeout), to a
             scripted responder (ERROR rcode REFUSED, ERROR lower serial);
             one --csv row per second (rates, RSS, in flight, latency)
poll, notify, latency, scale and timeline start a fresh minidns (--minidns)
and print one "RESULT mode=MODE key=value ..." line. Exit status: 0 clean
run, 1 error, 2 no or unknown --mode, 3 a reply or minidns's counters failed
a check.)";

/// A number >= 0 (a count), as strtod reads it: "1e6" is 1000000.
const CLI::Validator non_negative(
    [](std::string& v) -> std::string {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !std::isfinite(d))
        return "not a number: '" + v + "'";
      return d < 0 ? "must be >= 0" : "";
    },
    "");

/// A count option stored as a whole number (fractions truncated).
template <class T>
CLI::Option* add_count(CLI::App& app, const std::string& name, T& out,
                       const std::string& help) {
  return app
      .add_option_function<double>(
          name, [&out](const double& v) { out = static_cast<uint64_t>(v); },
          help)
      ->check(non_negative)
      ->type_name("N");
}

/// A number option with a default that depends on the mode.
CLI::Option* add_number(CLI::App& app, const std::string& name,
                        std::optional<double>& out, const std::string& help) {
  return app
      .add_option_function<double>(
          name, [&out](const double& v) { out = v; }, help)
      ->type_name("X");
}

void declare_options(CLI::App& app, options& o) {
  app.description(description);
  app.footer(footer);
  // As before CLI11: the last of a repeated option wins.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_help_flag("-h,--help", "show this text");
  app.allow_extras(); // reported as before CLI11 (parse_options)

  app.add_option("--mode", o.mode,
                 "free-port|zones|check|poll|notify|latency|scale|timeline")
      ->type_name("MODE");

  // Setup modes.
  app.add_option("--dir", o.dir, "zones: the work directory")->type_name("DIR");
  app.add_option("--nsd-port", o.nsd_port, "zones: NSD's port")
      ->type_name("PORT");
  app.add_option("--dest", o.dest,
                 "check, poll, latency, timeline: NSD's address")
      ->type_name("A.B.C.D:PORT");
  add_count(app, "--zones", o.zones, "zones used (z0000.bench. ...)")
      ->default_str(std::to_string(o.zones));
  app.add_option("--wait", o.wait, "check: seconds NSD has to answer")
      ->type_name("S")
      ->capture_default_str();

  // Load.
  add_count(app, "--count", o.count,
            "requests (default: poll, notify 300000; scale 1000000)");
  add_count(app, "--window", o.window, "poll, notify: casts in flight")
      ->default_str(std::to_string(o.window));
  add_number(app, "--timeout", o.timeout,
             "seconds per attempt (default: scale 10, others 2)")
      ->type_name("S");
  add_count(app, "--max-retries", o.max_retries,
            "poll, notify, latency, timeline (NSD's zones): resends per "
            "request")
      ->default_str(std::to_string(o.max_retries));
  add_number(app, "--time-limit", o.time_limit,
             "seconds before a run gives up (default: poll, notify 120; "
             "scale 180; timeline: 60 after the last cast)")
      ->type_name("S");
  app.add_option("--rate", o.rate, "latency, timeline: polls per second")
      ->type_name("R")
      ->capture_default_str();
  app.add_option("--duration", o.duration,
                 "latency, timeline: seconds of polls")
      ->type_name("S")
      ->capture_default_str();
  app.add_option("--overload-rate", o.overload_rate,
                 "timeline: polls per second between --overload-from and "
                 "--overload-to (0: no overload)")
      ->type_name("R")
      ->capture_default_str();
  app.add_option("--overload-from", o.overload_from,
                 "timeline: second the overload starts")
      ->type_name("S")
      ->capture_default_str();
  app.add_option("--overload-to", o.overload_to,
                 "timeline: second the overload ends")
      ->type_name("S")
      ->capture_default_str();
  app.add_option("--mix", o.mix,
                 "timeline: percent of casts answered (NSD), silent, "
                 "refused, lagging; sums to 100")
      ->type_name("A,S,R,L")
      ->capture_default_str();
  app.add_option("--csv", o.csv, "timeline: one row per second to FILE")
      ->type_name("FILE");
  add_count(app, "--probe-every", o.probe_every,
            "latency: a direct probe every N casts")
      ->default_str(std::to_string(o.probe_every));
  add_number(app, "--tick-us", o.tick_us,
             "pacing timer tick, us (default: latency 100, timeline 1000)")
      ->type_name("US");
  add_count(app, "--sndhwm", o.sndhwm,
            "scale, timeline: the DEALER's send high-water")
      ->default_str(std::to_string(o.sndhwm));
  app.add_option("--dump", o.dump,
                 "scale: one line per request (cast sent, query out, "
                 "status received) to FILE")
      ->type_name("FILE");

  // The minidns of the run.
  auto& d = o.daemon;
  app.add_option("--minidns", d.binary, "the minidns binary")
      ->type_name("PATH")
      ->capture_default_str();
  app.add_option("--log-dir", d.log_dir, "where minidns's log goes")
      ->type_name("DIR")
      ->capture_default_str();
  app.add_option("--stop-timeout", d.stop_timeout,
                 "seconds from SIGTERM to SIGKILL")
      ->type_name("S")
      ->capture_default_str();
  app.add_option("--perf", d.perf_out,
                 "perf record minidns into FILE (not latency)")
      ->type_name("FILE");
  app.add_option("--perf-args", d.perf_args, "perf record's options")
      ->type_name("ARGS")
      ->capture_default_str();
  app.add_option("--attach", d.attach,
                 "another tool to attach to minidns (\"-p PID\" appended; "
                 "not latency)")
      ->type_name("CMD");
  app.add_flag("--keep-log", d.keep_log, "keep minidns's log (--keep-log=1)");
  app.add_option_function<std::string>(
         "--daemon-arg",
         [&o](const std::string& v) { o.daemon_args.push_back(v); },
         "pass ARG to minidns (repeatable)")
      ->type_name("ARG")
      ->trigger_on_parse();
}

} // namespace

options parse_options(int argc, char** argv) {
  options o;
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  // CLI11 reads "--NAME=" as "--NAME" followed by the next word as its
  // value; an empty value it is.
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (it->size() > 3 && it->compare(0, 2, "--") == 0 &&
        it->find('=') == it->size() - 1) {
      it->pop_back();
      it = args.insert(it + 1, std::string());
    }
  }
  CLI::App app{"", "minidns_bench"};
  declare_options(app, o);
  std::reverse(args.begin(), args.end()); // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    o.help = true;
    return o;
  } catch (const CLI::ParseError& e) {
    throw std::runtime_error(e.what());
  }
  for (const auto& arg : app.remaining())
    throw std::runtime_error(
        arg.compare(0, 2, "--") == 0
            ? "unknown option " + arg.substr(0, arg.find('='))
            : "unexpected argument '" + arg + "' (options are --key=value)");
  for (const auto* opt : app.get_options())
    if (opt->count() > 0 && !opt->get_lnames().empty())
      o.given.push_back(opt->get_lnames().front());
  return o;
}

void check_options_apply(const options& o, const mode_spec& mode) {
  // Every name a mode lists must be an option (a typo would reject it).
  options scratch;
  CLI::App app{"", "minidns_bench"};
  declare_options(app, scratch);
  auto reads = mode.reads;
  if (mode.starts_daemon)
    reads.insert(reads.end(), daemon_option_names.begin(),
                 daemon_option_names.end());
  for (auto& name : reads)
    if (app.get_option_no_throw("--" + name) == nullptr)
      throw std::logic_error("mode " + std::string(mode.name) +
                             " reads an undeclared option --" + name);
  for (auto& name : o.given)
    if (name != "mode" &&
        std::find(reads.begin(), reads.end(), name) == reads.end())
      throw std::runtime_error("--" + name +
                               " does not apply to --mode=" + mode.name);
}

const std::string& required(const std::string& value, const char* name) {
  if (value.empty())
    die(std::string("--") + name + " is required");
  return value;
}

} // namespace minidns::bench
