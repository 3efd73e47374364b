/// minidns-ctl: the command-line pool manager of minidns. Sends notify and
/// poll casts to minidns over a ZeroMQ DEALER (docs/protocol.md) and prints
/// every reply as one line of JSON on stdout.
///
/// Exit codes: 0 every poll ended SUCCESS and no error reply came; 1 an
/// ERROR, an error reply or a client-side timeout; 2 a usage error; 3
/// minidns could not be reached at all.
///
/// The parts: options.hpp (the command line), sources.hpp (the casts to
/// send: the command line's or a batch's), runner.hpp (the ZeroMQ loop,
/// with ledger.hpp counting what came back), keygen.hpp, and the codec in
/// client_codec.hpp.

#include "apps/minidns-ctl/common.hpp"
#include "apps/minidns-ctl/keygen.hpp"
#include "apps/minidns-ctl/options.hpp"
#include "apps/minidns-ctl/runner.hpp"
#include "apps/minidns-ctl/sources.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace minidns::ctl;

/// Carries out the command line. Returns the exit code; throws usage_error
/// for exit code 2.
int run(int argc, char** argv) {
  const options opt = parse_options(argc, argv);
  if (opt.help) {
    std::fputs(help_text().c_str(), stdout);
    return exit_ok;
  }
  if (opt.positional.empty())
    throw usage_error(
        "missing COMMAND (notify, poll, serial, batch or keygen)");
  const std::string& cmd = opt.positional[0];
  if (cmd == "keygen") {
    if (opt.positional.size() != 2)
      throw usage_error("usage: keygen PATH");
    return keygen(opt.positional[1]);
  }

  std::unique_ptr<cast_source> src;
  const bool is_batch = cmd == "batch";
  if (is_batch) {
    if (opt.positional.size() != 2)
      throw usage_error("usage: batch FILE (FILE or '-' for stdin)");
    auto batch = open_batch(opt.positional[1], opt.params);
    if (!batch.problems.empty()) {
      for (const auto& p : batch.problems)
        std::fprintf(stderr, "minidns-ctl: %s\n", p.c_str());
      return exit_usage;
    }
    src = std::move(batch.source);
  } else {
    const std::vector<std::string_view> words(opt.positional.begin(),
                                              opt.positional.end());
    src = std::make_unique<single_source>(make_cast(words, opt.params, false));
  }
  return run_casts(opt, *src, is_batch);
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "minidns-ctl: %s\nTry 'minidns-ctl --help'.\n",
                 e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minidns-ctl: %s\n", e.what());
    return exit_failure;
  }
}
