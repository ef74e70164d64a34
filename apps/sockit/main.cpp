// sockit: one executable, one subcommand per tool. Dispatch only; the tools live in apps/<name>/.
#include "common/command.hpp"
#include "docgen.hpp"
#include "sockit_version.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>

namespace sockit::cli {

std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}

bool register_command(Command command) {
  commands().push_back(std::move(command));
  return true;
}

}  // namespace sockit::cli

namespace {

using sockit::cli::kExitOk;
using sockit::cli::kExitUsage;

// Help goes to stdout (exit 0); parse errors to stderr as one line plus a hint (exit 2).
int report_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    // --help / --version: CLI11 signals these as "errors" with exit code 0.
    if (app.get_parent() != nullptr && e.get_name() == "CallForHelp") {
      std::cout << app.help("sockit");  // "Usage: sockit nc [OPTIONS]", not "Usage: nc"
      return 0;
    }
    app.exit(e, std::cout, std::cerr);
    return 0;
  }
  // "sockit nc", not "nc": the user typed the whole command.
  std::string name = app.get_parent() != nullptr ? "sockit " + app.get_name() : app.get_name();
  std::cerr << name << ": " << e.what() << "\n"
            << "Try '" << name << " --help' for more information.\n";
  return kExitUsage;
}

// "sockit nosuchsub": CLI11 would say "The following argument was not expected"; name the mistake
// and list the subcommands.
int unknown_subcommand(std::string_view name) {
  std::string list;
  for (const auto& cmd : sockit::cli::commands()) list += (list.empty() ? "" : ", ") + cmd.name;
  std::cerr << "sockit: unknown subcommand '" << name << "' (subcommands: " << list << ", completion, help)\n"
            << "Try 'sockit --help' for more information.\n";
  return kExitUsage;
}

// The first word that is not an option names the subcommand (sockit's own options take no value).
std::string_view named_subcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (!std::string_view(argv[i]).starts_with("-")) return argv[i];
  return {};
}

using Runners = std::map<CLI::App*, sockit::cli::Runner>;

// Each subcommand's option tree (only `only`'s when it is set) and the function that runs it.
Runners add_subcommands(CLI::App& app, std::string_view only) {
  Runners runners;
  for (auto& cmd : sockit::cli::commands()) {
    if (!only.empty() && cmd.name != only) continue;
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.summary);
    sub->fallthrough(false);
    runners[sub] = cmd.setup(*sub);
    // The list in `sockit --help` shows one line per subcommand; a longer description moves to
    // the end of the subcommand's own help.
    std::string desc = sub->get_description();
    if (auto nl = desc.find('\n'); nl != std::string::npos) {
      std::string rest = desc.substr(nl + 1);
      sub->description(desc.substr(0, nl));
      std::string footer = sub->get_footer();
      sub->footer(footer.empty() ? rest : rest + "\n" + footer);
    }
  }
  return runners;
}

// The built-in subcommands `help` and `completion`, and what they were given.
struct BuiltIns {
  CLI::App* help = nullptr;
  std::string help_topic;
  std::string man_dir;
  CLI::App* completion = nullptr;
  std::string completion_shell;
};

void add_builtins(CLI::App& app, BuiltIns& b) {
  b.help = app.add_subcommand("help", "show help for sockit or for one subcommand");
  b.help->add_option("subcommand", b.help_topic, "the subcommand to describe");
  // Hidden (empty group): the build writes the man pages with it, from this very option tree.
  b.help->add_option("--man", b.man_dir, "write sockit.1 and sockit-SUB.1 into DIR")->group("");

  b.completion = app.add_subcommand("completion", "print a bash or zsh completion script for sockit");
  b.completion->add_option("shell", b.completion_shell, "the shell: bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  b.completion->footer(
      "Try it in the current shell:\n"
      "  source <(sockit completion bash)\n"
      "Install it (the Debian package does):\n"
      "  sockit completion bash > /usr/share/bash-completion/completions/sockit\n"
      "  sockit completion zsh > /usr/share/zsh/vendor-completions/_sockit");
}

int run_help(CLI::App& app, const BuiltIns& b) {
  if (!b.man_dir.empty()) {
    std::string error = sockit::cli::docgen::write_man_pages(app, SOCKIT_VERSION, b.man_dir);
    if (error.empty()) return kExitOk;
    std::cerr << "sockit help: " << error << "\n";
    return sockit::cli::kExitFailure;
  }
  if (b.help_topic.empty()) {
    std::cout << app.help();
    return kExitOk;
  }
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == b.help_topic) {
      std::cout << sub->help("sockit");
      return kExitOk;
    }
  }
  return unknown_subcommand(b.help_topic);
}

// The exit code of the subcommand that was parsed, or nothing when none was.
std::optional<int> run_parsed(const Runners& runners) {
  for (const auto& [sub, runner] : runners) {
    if (!sub->parsed()) continue;
    try {
      return runner();
    } catch (const sockit::cli::UsageError& e) {
      std::cerr << "sockit " << sub->get_name() << ": " << e.what() << "\n"
                << "Try 'sockit " << sub->get_name() << " --help' for more information.\n";
      return kExitUsage;
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  // Writing to a closed stdout pipe (`sockit ss | head`) must end quietly, not kill us mid-write
  // with a half-printed line; sockets use MSG_NOSIGNAL themselves.
  std::signal(SIGPIPE, SIG_IGN);
  // `kill -USR1 $(pidof sockit)` (the echo server's counters) reaches every sockit process: the
  // servers block SIGUSR1 and take it through their signalfd (Linux queues a blocked signal even
  // when ignored); every other subcommand goes on as if nothing happened instead of dying.
  std::signal(SIGUSR1, SIG_IGN);

  CLI::App app{"sockit: a socket-programming toolkit (servers, clients and debugging tools)", "sockit"};
  app.set_version_flag("-V,--version", "sockit " SOCKIT_VERSION);
  app.require_subcommand(0, 1);
  app.footer("Run 'sockit help SUBCOMMAND' or 'sockit SUBCOMMAND --help' for a subcommand's options.");

  auto& cmds = sockit::cli::commands();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });

  // `sockit SUB ...` sets up SUB's options only: building every subcommand's option tree costs
  // ~36 page faults and 3 M instructions (1-2 ms in a VM; `sockit ss -tan` on 3,000 sockets takes
  // ~20 ms). Help, man pages and completions (no subcommand named, or help/completion) see them all.
  const std::string_view named = named_subcommand(argc, argv);
  const bool one_command = std::any_of(cmds.begin(), cmds.end(), [&](auto& c) { return c.name == named; });
  const Runners runners = add_subcommands(app, one_command ? named : std::string_view());
  BuiltIns builtins;
  add_builtins(app, builtins);

  if (!named.empty() && !one_command && named != "help" && named != "completion") return unknown_subcommand(named);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Report against the subcommand that failed, so its own --help is suggested.
    for (CLI::App* sub : app.get_subcommands({})) {
      if (sub->parsed()) return report_parse_error(*sub, e);
    }
    return report_parse_error(app, e);
  }

  if (builtins.completion->parsed()) {
    namespace docgen = sockit::cli::docgen;
    std::cout << (builtins.completion_shell == "zsh" ? docgen::zsh_completion(app) : docgen::bash_completion(app));
    return kExitOk;
  }
  if (builtins.help->parsed()) return run_help(app, builtins);
  if (auto rc = run_parsed(runners)) return *rc;
  std::cout << app.help();
  return kExitOk;
}
