// Internal header of the sockit executable: man pages and shell completions generated from the
// CLI11 tree main() builds, so `sockit SUB --help`, sockit-SUB(1) and Tab completion can never
// disagree (one source of truth: the option names, types, defaults, descriptions and footers).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace sockit::cli::docgen {

/// One page in roff man(7) format.
struct ManPage {
  std::string file;  ///< "sockit.1", "sockit-nc.1", ...
  std::string text;
};

/// sockit(1) for the whole program and sockit-SUB(1) for every visible subcommand except "help".
std::vector<ManPage> man_pages(const CLI::App& root, const std::string& version);

/// Writes man_pages() into dir (created if missing). Returns an error message, empty on success.
std::string write_man_pages(const CLI::App& root, const std::string& version, const std::string& dir);

/// A bash completion script defining _sockit and `complete -F _sockit sockit`.
std::string bash_completion(const CLI::App& root);

/// A zsh completion script (#compdef sockit) for fpath or vendor-completions.
std::string zsh_completion(const CLI::App& root);

}  // namespace sockit::cli::docgen
