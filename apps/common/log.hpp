// Internal header of the sockit executable: the one logging layer of the servers (docs/OPERATIONS.md
// "Logs"). Lines go to stderr as text ("TIMESTAMP LEVEL sockit NAME: message key=value ...") or as
// JSON objects (--log-format json: {"ts","level","app","msg", fields...}, one per line), or to
// journald with PRIORITY= and SOCKIT_* fields (no timestamp of ours) when stderr is the journal
// stream systemd gave the service (JOURNAL_STREAM). The library layers keep reporting through
// callbacks (serve::ServerOptions::log, irc::Server::set_event_log); the apps route them here.
// Nothing secret is ever passed in: callers log names and addresses, never passwords or payloads.
// Thread-safe: one write(2) per line under a mutex.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

// Declared, not included: <CLI/CLI.hpp> costs 15-30 s of compile time per translation unit (ASan,
// -O1); config_file.cpp (built twice: sockit and fuzz_config) and tls_listeners.cpp need none of it.
namespace CLI {
class App;
}  // namespace CLI

namespace sockit::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };
enum class Format { text, json };

/// One key=value pair of a line. Integers stay numbers in JSON.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), number(true) {}
  std::string_view key;
  std::string value;
  bool number = false;
};

/// What --log-level and --log-format set (CLI11 checks the names).
struct Options {
  std::string level = "info";
  std::string format = "text";
};

/// The names --log-level ("warning" too) and --log-format accept; config files check with these.
bool valid_level(std::string_view name) noexcept;
bool valid_format(std::string_view name) noexcept;

/// Adds --log-level and --log-format to a subcommand.
void add_options(CLI::App& app, Options& options);
/// Sets level, format and the app name ("chat-server") for every later line; picks journald when
/// stderr is the service's journal stream and the format is text.
void configure(const Options& options, std::string_view app);

bool enabled(Level level) noexcept;
/// True when lines go to journald (systemd's journal stream on stderr).
bool to_journal() noexcept;
/// True when lines are plain text on stderr (not JSON, not journald): a human is reading,
/// so banners and hints may be printed too.
bool plain_stderr() noexcept;

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void debug(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::debug, msg, f); }
inline void info(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::info, msg, f); }
inline void warn(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::warn, msg, f); }
inline void error(std::string_view msg, std::initializer_list<Field> f = {}) { write(Level::error, msg, f); }

/// One line of a block (write_block).
struct Line {
  Level level = Level::info;
  std::string msg;
};
/// A banner: the lines at once (one write(2), nothing of another thread in between), then
/// `trailer` verbatim when plain_stderr() (hints for a human: "connect with: ..."), so a reader
/// that waits for the last line has the whole banner.
void write_block(const std::vector<Line>& lines, std::string_view trailer = {});

/// The formatted forms, for tests and the journald fallback.
std::string format_text(Level level, std::string_view app, std::string_view msg, std::initializer_list<Field> fields,
                        std::int64_t unix_ms);
std::string format_json(Level level, std::string_view app, std::string_view msg, std::initializer_list<Field> fields,
                        std::int64_t unix_ms);

}  // namespace sockit::log
