#include "apps/minidns-ctl/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string_view>
#include <utility>

namespace minidns::ctl {
namespace {

constexpr const char* description =
    "Sends casts to minidns and prints every reply as one line of JSON.";

constexpr const char* commands_help = R"(
Commands:
  notify ZONE DESTINATION
  poll ZONE SERIAL DESTINATION[,DESTINATION...]
                    several destinations: one status for all of them
                    (--threshold); SERIAL is ignored with --expect=absent
  serial ZONE DESTINATION
                    get_serial_number: the serial the server answers with
  batch FILE        FILE or '-' for stdin; one cast per line:
                      notify ZONE DESTINATION [TIMEOUT RETRY_INTERVAL MAX_RETRIES]
                      poll ZONE SERIAL DESTINATION[,...] [TIMEOUT RETRY_INTERVAL MAX_RETRIES]
                      serial ZONE DESTINATION [TIMEOUT RETRY_INTERVAL MAX_RETRIES]
                      cancel N  (ends cast N of this batch, counting from 1)
                    each may end with delay=S and transport=udp|tcp, and
                    a poll with threshold=N and expect=serial|absent (for
                    this line, over the options);
                    blank lines and lines starting with '#' are skipped
  keygen PATH       writes a new CURVE key pair to PATH (mode 0600) and its
                    public key to PATH.pub; prints the public key
)";

constexpr const char* options_heading =
    "Options (before or after the command; --NAME=VALUE or --NAME VALUE)";

constexpr const char* footer =
    R"(ZONE, DESTINATION and the ranges of the numbers are checked by minidns, whose
error replies are printed like any other reply.

Exit status: 0 all polls SUCCESS and no error reply; 1 an ERROR, an error
reply or a client-side timeout; 2 usage error; 3 minidns not reachable.)";

/// Words of the command line that CLI11 hands over as the command and its
/// arguments; more are never needed, and the count must stay finite (see
/// declare_options).
constexpr int max_positional = 1 << 20;

/// --help as minidns-ctl has always shown it: the usage line, the commands,
/// then one line per option as --NAME=VALUE with its default.
class help_formatter : public CLI::Formatter {
public:
  help_formatter() { column_width(25); }

  std::string make_help(const CLI::App* app, std::string,
                        CLI::AppFormatMode) const override {
    std::string out = "Usage: " + app->get_name() +
                      " [OPTIONS] COMMAND ARGS\n\n" + make_description(app) +
                      commands_help + "\n" + options_heading + ":\n";
    for (const auto* opt : app->get_options(
             [](const CLI::Option* o) { return o->nonpositional(); }))
      out += make_option(opt, false);
    std::ostringstream help_line;
    CLI::detail::format_help(help_line, "--help", "show this text",
                             get_column_width());
    return out + help_line.str() + "\n" + make_footer(app);
  }

  std::string make_option_name(const CLI::Option* opt, bool) const override {
    std::string name = "--" + opt->get_lnames().front();
    if (!opt->get_option_text().empty()) // flags have none
      name += "=" + opt->get_option_text();
    return name;
  }

  std::string make_option_opts(const CLI::Option*) const override { return {}; }

  std::string make_option_desc(const CLI::Option* opt) const override {
    std::string desc = opt->get_description();
    if (!opt->get_default_str().empty())
      desc += " (default " + opt->get_default_str() + ")";
    return desc;
  }
};

/// Reads a CURVE key file named by option `name`.
curve::key_pair read_key_file(std::string_view name, std::string_view path,
                              bool need_secret) {
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in)
    throw usage_error(std::string(name) + ": cannot read " + quote_arg(path) +
                      ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  auto f = curve::parse_key_file(text.str(), need_secret);
  if (!f.keys)
    throw usage_error(std::string(name) + ": " + quote_arg(path) + ": " +
                      f.error);
  return *f.keys;
}

/// Whether CLI11 has passed "--" (it keeps the mark with the words it did
/// not take).
bool past_end_of_options(const CLI::App& app) {
  const auto rest = app.remaining();
  return std::find(rest.begin(), rest.end(), "--") != rest.end();
}

/// Throws for the first option CLI11 did not know (it keeps them aside, in
/// command-line order). "--" is the end of options, never unknown.
void reject_unknown(const CLI::App& app) {
  for (const auto& arg : app.remaining()) {
    if (arg == "--")
      continue;
    throw usage_error(
        "unknown option " +
        quote_arg(std::string_view(arg).substr(0, arg.find('='))));
  }
}

/// Declares the options and the command on `app`. Each option's value is
/// checked and stored in `opt` as soon as CLI11 reads it, so problems are
/// reported in command-line order, as are unknown options before them.
/// `positional` receives the command and its arguments.
void declare_options(CLI::App& app, options& opt, CLI::Option*& positional) {
  app.description(description);
  app.footer(footer);
  app.formatter(std::make_shared<help_formatter>());
  app.allow_extras(); // unknown options: reject_unknown words the error
  // --help is found before CLI11 runs (parse_options); the formatter lists
  // it.
  app.set_help_flag();

  // Every word that is not an option, in order. The positional takes a fixed
  // (large) number of values rather than "any number": CLI11 splits values
  // of the latter that look like lists, such as "[2001:db8::1]". Before "--",
  // a word that starts like an option but that CLI11 takes for a value
  // ("---x", "-!") is refused, so it ends up an unknown option.
  app.validate_positionals();
  positional =
      app.add_option("COMMAND", "the command and its arguments")
          ->expected(max_positional)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->check(CLI::Validator(
              [&app](const std::string& word) -> std::string {
                const bool like_option = word.size() > 1 && word[0] == '-' &&
                                         !(word[1] >= '0' && word[1] <= '9');
                return like_option && !past_end_of_options(app) ? "an option"
                                                                : "";
              },
              ""));

  auto add =
      [&](const char* name, const char* value_name, const char* help,
          std::function<void(std::string_view, const std::string&)> store) {
        return app
            .add_option_function<std::string>(
                name,
                [&app, name,
                 store = std::move(store)](const std::string& value) {
                  reject_unknown(app);
                  store(name, value);
                },
                help)
            ->option_text(value_name)
            ->trigger_on_parse();
      };
  add("--endpoint", "ENDPOINT", "minidns ZeroMQ endpoint",
      [&](std::string_view, const std::string& v) {
        if (v.empty())
          throw usage_error("--endpoint: empty");
        opt.endpoint = v;
      })
      ->default_str(opt.endpoint);
  add("--timeout", "S", "seconds per attempt",
      [&](std::string_view name, const std::string& v) {
        opt.params.timeout = seconds_arg(name, v);
      })
      ->default_str(format_seconds(opt.params.timeout));
  add("--retry-interval", "S", "seconds between attempts",
      [&](std::string_view name, const std::string& v) {
        opt.params.retry_interval = seconds_arg(name, v);
      })
      ->default_str(format_seconds(opt.params.retry_interval));
  add("--max-retries", "N", "resends after the first attempt",
      [&](std::string_view name, const std::string& v) {
        opt.params.max_retries = uint32_arg(name, v);
      })
      ->default_str(std::to_string(opt.params.max_retries));
  add("--delay", "S",
      "seconds before the first attempt, 0..3600; sent\n"
      "only when given (minidns's default: 0)",
      [&](std::string_view name, const std::string& v) {
        opt.params.delay = delay_arg(name, v);
      });
  add("--transport", "udp|tcp",
      "udp, or tcp for every query of the cast; sent only\n"
      "when given (minidns's default: udp)",
      [&](std::string_view name, const std::string& v) {
        opt.params.transport = transport_arg(name, v);
      });
  add("--soa", "'MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM TTL'",
      "notifies: the zone's new SOA, sent in the\nNOTIFY (RFC 1996 3.7)",
      [&](std::string_view name, const std::string& v) {
        opt.params.soa = soa_arg(name, v);
      });
  add("--tsig-key", "NAME",
      "sign the queries with this key of minidns's\n"
      "minidns.tsig-keys-file (the secret stays there)",
      [&](std::string_view name, const std::string& v) {
        if (v.empty())
          throw usage_error(std::string(name) + ": empty");
        opt.params.tsig_key = v;
      });
  add("--threshold", "N",
      "polls of several destinations: the percentage of\n"
      "them that must reach the serial, 1..100; sent\n"
      "only when given (minidns's default: 100)",
      [&](std::string_view name, const std::string& v) {
        opt.params.threshold = threshold_arg(name, v);
      });
  add("--expect", "serial|absent",
      "polls: wait for the serial, or for the zone to be\n"
      "gone from the servers; sent only when given",
      [&](std::string_view name, const std::string& v) {
        opt.params.expect = expect_arg(name, v);
      });
  app.add_flag_function(
         "--want-status",
         [&app, &opt](int64_t) {
           reject_unknown(app);
           opt.params.want_status = true;
         },
         "notifies: ask for an update_status at the end, as\n"
         "polls get, and wait for it")
      ->trigger_on_parse();
  add("--grace", "S", "seconds to wait for error replies at the end",
      [&](std::string_view name, const std::string& v) {
        opt.grace = client_seconds_arg(name, v);
      })
      ->default_str(format_seconds(opt.grace));
  add("--window", "N", "polls awaiting a reply at once",
      [&](std::string_view, const std::string& v) {
        auto n = parse_uint(v, 10'000'000);
        if (!n || *n == 0)
          throw usage_error("--window: not an integer in 1..10000000: " +
                            quote_arg(v));
        opt.window = *n;
      })
      ->default_str(std::to_string(opt.window));
  add("--progress", "S",
      "batch: a progress line on stderr every S seconds\n"
      "(default 1 when stderr is a terminal, else 0: off)",
      [&](std::string_view name, const std::string& v) {
        opt.progress = client_seconds_arg(name, v);
      });
  add("--curve-server-key", "K",
      "minidns's CURVE public key (Z85) or a file holding it",
      [&](std::string_view name, const std::string& v) {
        opt.curve_server_key =
            curve::is_z85_key(v) ? v : read_key_file(name, v, false).public_key;
      });
  add("--curve-key-file", "FILE",
      "this client's CURVE key pair (from keygen); both\n"
      "CURVE options or neither",
      [&](std::string_view name, const std::string& v) {
        opt.curve_keys = read_key_file(name, v, true);
      });
}

} // namespace

options parse_options(int argc, char** argv) {
  options opt;
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  const auto end_of_options = std::find(args.begin(), args.end(), "--");
  // --help wins over everything else on the line, even where CLI11 would
  // first complain about a missing value or take --help as one.
  if (std::any_of(args.begin(), end_of_options, [](const std::string& a) {
        return a == "--help" || a == "-h";
      })) {
    opt.help = true;
    return opt;
  }
  // CLI11 reads "--NAME=" as "--NAME" followed by the next word as its
  // value; an empty value it is.
  for (auto it = args.begin(); it != args.end() && *it != "--"; ++it) {
    if (it->size() > 3 && it->compare(0, 2, "--") == 0 &&
        it->find('=') == it->size() - 1) {
      it->pop_back();
      it = args.insert(it + 1, std::string());
    }
  }

  CLI::App app{"", "minidns-ctl"};
  CLI::Option* positional = nullptr;
  declare_options(app, opt, positional);
  const std::string last = args.empty() ? std::string() : args.back();
  std::reverse(args.begin(), args.end()); // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ArgumentMismatch&) {
    // Only an option at the very end can lack its value.
    reject_unknown(app);
    throw usage_error(last + ": needs a value");
  } catch (const CLI::ParseError& e) {
    reject_unknown(app);
    throw usage_error(e.what());
  }
  reject_unknown(app);
  opt.positional = positional->results();

  if (opt.curve_server_key.empty() != opt.curve_keys.public_key.empty())
    throw usage_error(opt.curve_server_key.empty()
                          ? "--curve-key-file: needs --curve-server-key"
                          : "--curve-server-key: needs --curve-key-file (the "
                            "client's key pair; see keygen)");
  return opt;
}

std::string help_text() {
  options opt;
  CLI::App app{"", "minidns-ctl"};
  CLI::Option* positional = nullptr;
  declare_options(app, opt, positional);
  return app.help();
}

} // namespace minidns::ctl
