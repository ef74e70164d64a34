// Internal header of the sockit executable: how a subcommand plugs into `sockit`.
//
// Each apps/<name>/ folder registers itself at static-initialisation time:
//
//   SOCKIT_COMMAND(nc, "nc", "read and write TCP/UDP connections (netcat)",
//                  [](CLI::App& app) -> sockit::cli::Runner {
//     auto o = std::make_shared<Options>();
//     app.add_option("host", o->host, "...");
//     return [o] { return run(*o); };   // returns the process exit status
//   });
//
// main() adds every registered command as a CLI11 subcommand, parses argv, and calls the runner of
// the chosen one. Usage errors exit 2 with one line on stderr; --help prints to stdout and exits 0.
#pragma once

#include "common/exit_codes.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace sockit::cli {

using Runner = std::function<int()>;
using Setup = std::function<Runner(CLI::App&)>;

struct Command {
  std::string name;
  std::string summary;
  Setup setup;
};

/// Adds a command to the registry; returns true so it can initialise a static.
bool register_command(Command command);
/// The registry, in registration order (main sorts it by name).
std::vector<Command>& commands();

}  // namespace sockit::cli

#define SOCKIT_COMMAND(id, name, summary, ...) \
  [[maybe_unused]] static const bool sockit_command_##id##_registered = \
      ::sockit::cli::register_command({name, summary, __VA_ARGS__})
