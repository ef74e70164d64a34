// sockit ss: list sockets like iproute2 ss (NETLINK_SOCK_DIAG), plus --json, --watch, --netstat.
#include "common/command.hpp"

#include "sockit/net/parse.hpp"

#include "tools/ss/diag.hpp"
#include "tools/ss/filter.hpp"
#include "tools/ss/format.hpp"
#include "tools/ss/netlink.hpp"
#include "tools/ss/procs.hpp"
#include "tools/ss/summary.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace sockit::ss;

struct Options {
  bool tcp = false, udp = false, unix_sockets = false;
  bool ipv4 = false, ipv6 = false;
  bool listening = false, all = false;
  bool numeric = false, resolve = false, processes = false;
  bool extended = false, memory = false, info = false, timers = false;
  bool summary = false, no_header = false;
  std::string family;
  std::string diag_file;
  bool json = false, netstat = false;
  std::string watch;
  int count = 0;
  std::vector<std::string> words;
};

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted = true; }

/// Everything decided from the flags once, before the first query.
struct Plan {
  Query query;
  FormatOptions format;
  Filter filter;
  bool summary_only = false;
};

Plan make_plan(Options& o) {
  Plan p;
  auto f = parse_filter(o.words);
  if (!f) throw sockit::cli::UsageError(f.error().context());
  p.filter = std::move(*f);

  if (!o.family.empty()) {
    if (o.family == "inet") o.ipv4 = true;
    else if (o.family == "inet6") o.ipv6 = true;
    else if (o.family == "unix") o.unix_sockets = true;
    else throw sockit::cli::UsageError("\"" + o.family + "\" is invalid family (sockit knows inet, inet6, unix)");
  }
  bool any_table = o.tcp || o.udp || o.unix_sockets;
  bool any_family = o.ipv4 || o.ipv6;
  p.summary_only = o.summary && !any_table && !any_family && o.words.empty();
  Query& q = p.query;
  if (!any_table && !any_family) {
    q.tcp = q.udp = q.unix_sockets = true;
    q.ipv4 = q.ipv6 = true;
  } else {
    q.tcp = o.tcp;
    q.udp = o.udp;
    q.unix_sockets = o.unix_sockets;
    q.ipv4 = o.ipv4;
    q.ipv6 = o.ipv6;
    if ((q.ipv4 || q.ipv6) && !q.tcp && !q.udp) q.tcp = q.udp = true;   // -4 alone: every inet table
    if ((q.tcp || q.udp) && !q.ipv4 && !q.ipv6) q.ipv4 = q.ipv6 = true;  // -t alone: both families
  }
  StateMask states = kDefaultStates;
  if (o.all) states = kAllStates;
  else if (o.listening) states = state_bit(State::listen) | state_bit(State::close);
  if (p.filter.states) states = *p.filter.states;
  if (states == 0) throw sockit::cli::UsageError("no socket states to show with such filter");
  q.states = states;
  q.ext.info = o.info;
  q.ext.memory = o.memory;
  q.unix_memory = o.memory;

  FormatOptions& fo = p.format;
  fo.header = !o.no_header;
  int tables = (q.tcp ? 1 : 0) + (q.udp ? 1 : 0) + (q.unix_sockets ? 3 : 0);  // ss counts 3 Unix tables
  fo.show_netid = tables > 1;
  fo.show_state = std::popcount(states) > 1;
  fo.numeric = o.numeric;
  fo.resolve = o.resolve;
  fo.extended = o.extended;
  fo.timers = o.timers || o.extended;
  fo.memory = o.memory;
  fo.info = o.info;
  fo.processes = o.processes;
  return p;
}

bool selected(const Socket& s, const Plan& p) {
  // The kernel filters states too, but UDP ignores idiag_states.
  return (p.query.states & state_bit(s.state)) && p.filter.expression.matches(s);
}

int print_summary(const Options& o) {
  auto s = read_summary();
  if (!s) {
    fmt::print(stderr, "sockit ss: {}: {}\n", s.error().context(), s.error().code().message());
    return sockit::cli::kExitFailure;
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["schema"] = 1;
    j["summary"] = {{"sockets_used", s->sockets_used},
                    {"tcp_total", s->tcp_alloc + s->tcp_tw},
                    {"tcp_established", s->tcp_established},
                    {"tcp_orphaned", s->tcp_orphan},
                    {"tcp_timewait", s->tcp_tw},
                    {"tcp_inuse_ipv4", s->tcp_inuse4},
                    {"tcp_inuse_ipv6", s->tcp_inuse6},
                    {"udp_ipv4", s->udp4},
                    {"udp_ipv6", s->udp6},
                    {"raw_ipv4", s->raw4},
                    {"raw_ipv6", s->raw6},
                    {"frag_ipv4", s->frag4},
                    {"frag_ipv6", s->frag6}};
    std::cout << j.dump() << '\n';
  } else {
    std::cout << format_summary(*s);
  }
  return 0;
}

void print(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

/// One query + render. Returns the exit status. The ss table (the common case) is built as the
/// kernel's replies are decoded, so no Socket is kept; JSON and netstat collect them first.
int snapshot(const Options& o, const Plan& p, std::optional<std::uint64_t> n, bool clear) {
  UsersMap users;
  if (o.processes) users = scan_processes();  // once per snapshot: an inode -> holders map
  std::vector<Socket> sockets;
  TableWriter table(p.format, &users);
  bool as_table = !o.json && !o.netstat;
  auto r = for_each_socket(p.query, [&](Socket&& s) {
    if (!selected(s, p)) return;
    if (as_table) table.add(s);
    else sockets.push_back(std::move(s));
  });
  if (!r) {
    fmt::print(stderr, "sockit ss: {}: {}\n", r.error().context(), r.error().code().message());
    return sockit::cli::kExitFailure;
  }
  std::string out;
  if (clear) {
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
    out += "\x1b[H\x1b[2J";
    out += fmt::format("sockit ss, every {}: {} sockets at {}\n\n", o.watch, as_table ? table.size() : sockets.size(),
                       stamp);
  }
  if (o.json) {
    for (const auto& s : sockets) out += format_json(s, p.format, &users, n) + "\n";
  } else if (o.netstat) {
    out += format_netstat(sockets, p.format, &users, p.query.states);
  }
  print(out);
  if (as_table) table.write(print);
  std::fflush(stdout);
  return 0;
}

int run(Options& o) {
  Plan plan = make_plan(o);
  if (o.summary) {
    int rc = print_summary(o);
    if (rc != 0 || plan.summary_only) return rc;
  }
  if (!o.diag_file.empty()) {
    std::FILE* f = o.diag_file == "-" ? stdout : std::fopen(o.diag_file.c_str(), "wb");
    if (!f) {
      fmt::print(stderr, "sockit ss: cannot write {}: {}\n", o.diag_file, std::strerror(errno));
      return sockit::cli::kExitFailure;
    }
    plan.query.raw_dump = f;
    auto r = query_sockets(plan.query);
    if (f != stdout) std::fclose(f);
    if (!r) {
      fmt::print(stderr, "sockit ss: {}: {}\n", r.error().context(), r.error().code().message());
      return sockit::cli::kExitFailure;
    }
    return 0;
  }
  if (o.watch.empty()) {
    if (o.count > 0) throw sockit::cli::UsageError("--count needs --watch");
    return snapshot(o, plan, std::nullopt, false);
  }

  auto interval = sockit::parse_duration(o.watch);
  if (!interval || *interval <= std::chrono::nanoseconds::zero())
    throw sockit::cli::UsageError("--watch: bad interval \"" + o.watch + "\" (try 500ms, 2s)");
  struct sigaction sa{};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  bool tty = ::isatty(STDOUT_FILENO) == 1 && !o.json;
  for (std::uint64_t i = 1; !g_interrupted; ++i) {
    if (!tty && !o.json && i > 1) std::fputs("\n", stdout);
    int rc = snapshot(o, plan, o.json ? std::optional<std::uint64_t>(i) : std::nullopt, tty);
    if (rc != 0) return rc;
    if (o.count > 0 && i >= static_cast<std::uint64_t>(o.count)) break;
    auto until = std::chrono::steady_clock::now() + *interval;
    while (!g_interrupted && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(std::chrono::milliseconds(50),
                                                                     until - std::chrono::steady_clock::now()));
  }
  return 0;
}

}  // namespace

SOCKIT_COMMAND(ss, "ss", "list sockets like iproute2 ss (netlink sock_diag), with --json and --watch",
               [](CLI::App& app) -> sockit::cli::Runner {
  auto o = std::make_shared<Options>();
  app.description(
      "List TCP, UDP and Unix sockets, as iproute2 ss does (read through NETLINK_SOCK_DIAG).\n"
      "Numeric by default; -r resolves host and service names.");
  app.add_flag("-t,--tcp", o->tcp, "display TCP sockets");
  app.add_flag("-u,--udp", o->udp, "display UDP sockets");
  app.add_flag("-x,--unix", o->unix_sockets, "display Unix domain sockets");
  app.add_flag("-4,--ipv4", o->ipv4, "display only IP version 4 sockets");
  app.add_flag("-6,--ipv6", o->ipv6, "display only IP version 6 sockets");
  app.add_option("-f,--family", o->family, "display sockets of FAMILY: inet, inet6, unix");
  app.add_flag("-l,--listening", o->listening, "display listening (and unconnected) sockets");
  app.add_flag("-a,--all", o->all, "display all sockets");
  app.add_flag("-n,--numeric", o->numeric, "numeric output (already the default); also plain numbers for rates");
  app.add_flag("-r,--resolve", o->resolve, "resolve host and service names");
  app.add_flag("-p,--processes", o->processes, "show processes using each socket (from /proc)");
  app.add_flag("-e,--extended", o->extended, "show uid, inode, socket cookie, v6only, shutdown state");
  app.add_flag("-o,--options", o->timers, "show timer information");
  app.add_flag("-m,--memory", o->memory, "show socket memory usage (skmem)");
  app.add_flag("-i,--info", o->info, "show internal TCP information (tcp_info)");
  app.add_flag("-s,--summary", o->summary, "show socket usage summary");
  app.add_flag("-H,--no-header", o->no_header, "suppress the header line");
  app.add_option("-D,--diag", o->diag_file,
                 "write the raw netlink replies to FILE ('-' = stdout) instead of a table");
  app.add_flag("--json", o->json, "one JSON object per socket per line (schema 1, see docs/SS.md)");
  app.add_option("--watch", o->watch, "refresh every INTERVAL (500ms, 2s, ...) until Ctrl-C");
  app.add_option("--count", o->count, "with --watch: stop after N refreshes")->check(CLI::PositiveNumber);
  app.add_flag("--netstat", o->netstat, "print in the column layout of netstat -tunap");
  app.add_option("filter", o->words,
                 "[state STATE|exclude STATE]... [EXPRESSION], e.g. state established '( dport = :22 or sport = :22 )'");
  app.footer(
      "STATE: established syn-sent syn-recv fin-wait-1 fin-wait-2 time-wait closed close-wait last-ack\n"
      "       listening closing, or a group: all connected synchronized bucket big\n"
      "EXPRESSION: sport|dport [=|!=|<|>|<=|>=] :PORT, src|dst [=|!=] ADDR[/PLEN][:PORT] or unix:GLOB,\n"
      "            joined by and/or/not and parentheses.\n"
      "Examples:\n"
      "  sockit ss -tlnp                      listening TCP sockets and their processes\n"
      "  sockit ss -tan state time-wait       TCP sockets in TIME-WAIT\n"
      "  sockit ss -ti dport = :6667          tcp_info of connections to port 6667\n"
      "  sockit ss -ta --json | jq .          machine-readable\n"
      "  sockit ss -tan --watch 1s            live view until Ctrl-C\n");
  return [o] { return run(*o); };
});
