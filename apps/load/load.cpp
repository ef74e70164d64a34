// sockit load: TCP/UDP/IRC load generator (docs/LOAD.md). The engine is in src/tools/load.
#include "common/command.hpp"

#include "tools/load/engine.hpp"
#include "tools/load/irc_mix.hpp"
#include "tools/load/options.hpp"
#include "tools/load/report.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <unistd.h>

namespace {

int run_load(sockit::load::Options& o) {
  using namespace sockit::load;
  if (auto r = finalize(o); !r) throw sockit::cli::UsageError(r.error().context());
  if (o.print_plan) {  // irc-mix: the network only, no connection
    fmt::print("{}", mix_plan_text(o, make_mix_plan(o)));
    return 0;
  }
  const bool tty = o.progress && isatty(STDERR_FILENO);
  auto result = run(o, [tty](const std::string& line) {
    if (tty) fmt::print(stderr, "{}\n", line);
  });
  if (!result) {
    fmt::print(stderr, "sockit load: {}\n", result.error().context().empty() ? result.error().message()
                                                                            : result.error().context());
    return sockit::cli::kExitFailure;
  }
  if (!o.hist_out.empty()) {
    std::ofstream out(o.hist_out);
    out << result->stats.latency.spectrum_text(1000.0);
    if (!out) {
      fmt::print(stderr, "sockit load: cannot write {}\n", o.hist_out);
      return sockit::cli::kExitFailure;
    }
  }
  if (o.json) {
    fmt::print("{}\n", to_json(o, *result).dump(2));
  } else {
    fmt::print("{}", to_text(o, *result));
  }
  std::fflush(stdout);
  return exit_status(o, *result);
}

}  // namespace

SOCKIT_COMMAND(load, "load", "generate TCP/UDP/IRC/TLS load and measure rate, latency and server CPU",
               [](CLI::App& app) -> sockit::cli::Runner {
                 auto o = std::make_shared<sockit::load::Options>();
                 sockit::load::add_cli(app, *o);
                 app.footer(
                     "Modes: pingpong (one message in flight per connection), flood (--window bytes in flight),\n"
                     "connect (connect, one echo, close), hold (idle connections; --server-pid reports RSS),\n"
                     "udp (datagrams with ids; loss after --timeout), irc (clients JOIN one channel, --senders\n"
                     "send PRIVMSG; deliveries/s and delivery latency), irc-register (registration storm),\n"
                     "handshake (TLS: connect, handshake, close; handshakes/s, and with --resume how many resumed),\n"
                     "irc-mix (a chat network: Zipf-sized channels, private messages, churn, nick changes, AWAY;\n"
                     "--preset small|large, --print-plan shows the network; deliveries expected/received/lost).\n"
                     "TLS: --tls on any TCP mode; like a load tool, the server's certificate is not checked\n"
                     "unless --tls-ca names a CA (then its certificate must name the target's address).\n"
                     "Exit: 0 all units succeeded, 1 errors were counted or nothing completed, 2 usage.");
                 return [o] { return run_load(*o); };
               });
