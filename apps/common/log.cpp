// The servers' logging layer (log.hpp). A small thing of our own rather than spdlog: what the
// servers need is structured fields in JSON and in journald, which spdlog 1.10 has neither of
// (docs/OPERATIONS.md "Logs" says why in full).
#include "common/log.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <vector>

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace sockit::log {
namespace {

struct State {
  std::atomic<int> level{static_cast<int>(Level::info)};
  Format format = Format::text;
  bool journal = false;
  std::string app = "sockit";
  std::mutex mu;
};

State& state() {
  static State s;
  return s;
}

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};
// syslog priorities (sd-daemon.h's SD_DEBUG...): debug 7, info 6, warning 4, err 3.
constexpr int kPriorities[] = {7, 6, 4, 3};

std::string_view name_of(Level l) { return kLevelNames[static_cast<int>(l)]; }

Level parse_level(std::string_view s) {
  for (int i = 0; i < 4; ++i) {
    if (kLevelNames[i] == s) return static_cast<Level>(i);
  }
  return s == "warning" ? Level::warn : Level::info;
}

// "2026-12-06T07:44:45.123Z"
std::string timestamp(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
}

// key=value; the value quoted (JSON string rules) when it holds spaces, quotes or controls.
void append_text_field(std::string& out, const Field& f) {
  if (f.value.empty()) return;  // an empty field is left out (a nick before NICK...)
  out += ' ';
  out += f.key;
  out += '=';
  bool plain = true;
  for (unsigned char c : f.value) {
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c == 0x7f) plain = false;
  }
  out += plain ? f.value : nlohmann::json(f.value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A journald field name: SOCKIT_ + the key in upper case, other characters as '_'.
std::string journal_key(std::string_view key) {
  std::string k = "SOCKIT_";
  for (char c : key) {
    k += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
  }
  return k;
}

// systemd's sd_journal_stream_fd() contract: JOURNAL_STREAM="DEV:INODE" of the stream it connected
// stdout/stderr to; stderr redirected elsewhere (a pipe, a file) no longer matches.
bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  if (static_cast<unsigned long long>(st.st_dev) != dev || static_cast<unsigned long long>(st.st_ino) != ino) return false;
  // sd_journal_send drops lines without a word when journald's socket is missing: then stay on
  // stderr (a LogNamespace= service has its socket elsewhere and keeps the text form too).
  return ::access("/run/systemd/journal/socket", W_OK) == 0;
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a broken stderr
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

void send_journal(Level level, std::string_view app, std::string_view msg, std::initializer_list<Field> fields) {
  // MESSAGE keeps the text form's fields too, so plain `journalctl -u` shows them.
  std::string text = fmt::format("MESSAGE=sockit {}: {}", app, msg);
  for (const Field& f : fields) append_text_field(text, f);
  std::vector<std::string> parts;
  parts.reserve(fields.size() + 4);
  parts.push_back(std::move(text));
  parts.push_back(fmt::format("PRIORITY={}", kPriorities[static_cast<int>(level)]));
  parts.push_back("SYSLOG_IDENTIFIER=sockit");
  parts.push_back(fmt::format("SOCKIT_APP={}", app));
  for (const Field& f : fields) {
    if (!f.value.empty()) parts.push_back(journal_key(f.key) + "=" + f.value);
  }
  std::vector<iovec> iov;
  iov.reserve(parts.size());
  for (auto& p : parts) iov.push_back({p.data(), p.size()});
  if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) {
    // The journal socket is gone: the stream still is journald's, with its own timestamps.
    write_all(STDERR_FILENO, fmt::format("<{}>{}\n", kPriorities[static_cast<int>(level)], parts[0].substr(8)));
  }
}

}  // namespace

bool valid_level(std::string_view name) noexcept {
  return name == "warning" || std::find(std::begin(kLevelNames), std::end(kLevelNames), name) != std::end(kLevelNames);
}

bool valid_format(std::string_view name) noexcept { return name == "text" || name == "json"; }

void add_options(CLI::App& app, Options& options) {
  app.add_option("--log-level", options.level, "least severe log lines shown: debug, info, warn, error (default info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error"}));
  app.add_option("--log-format", options.format,
                 "text (TIMESTAMP LEVEL message key=value) or json (one object per line: ts, level, app, msg, "
                 "fields); default text, or journald with fields when systemd runs the service")
      ->check(CLI::IsMember({"text", "json"}));
}

void configure(const Options& options, std::string_view app) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.level.store(static_cast<int>(parse_level(options.level)), std::memory_order_relaxed);
  s.format = options.format == "json" ? Format::json : Format::text;
  s.app = std::string(app);
  s.journal = s.format == Format::text && stderr_is_journal();
}

bool enabled(Level level) noexcept {
  return static_cast<int>(level) >= state().level.load(std::memory_order_relaxed);
}

bool to_journal() noexcept { return state().journal; }

bool plain_stderr() noexcept { return !state().journal && state().format == Format::text; }

std::string format_text(Level level, std::string_view app, std::string_view msg, std::initializer_list<Field> fields,
                        std::int64_t unix_ms) {
  std::string out = fmt::format("{} {:<5} sockit {}: {}", timestamp(unix_ms), name_of(level), app, msg);
  for (const Field& f : fields) append_text_field(out, f);
  out += '\n';
  return out;
}

std::string format_json(Level level, std::string_view app, std::string_view msg, std::initializer_list<Field> fields,
                        std::int64_t unix_ms) {
  nlohmann::ordered_json j;
  j["ts"] = timestamp(unix_ms);
  j["level"] = name_of(level);
  j["app"] = app;
  j["msg"] = msg;
  for (const Field& f : fields) {
    if (f.value.empty()) continue;
    if (f.number) {
      j[std::string(f.key)] = nlohmann::ordered_json::parse(f.value, nullptr, false);
    } else {
      j[std::string(f.key)] = f.value;
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void write_block(const std::vector<Line>& lines, std::string_view trailer) {
  State& s = state();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  std::lock_guard lock(s.mu);
  std::string out;
  for (const Line& l : lines) {
    if (!enabled(l.level)) continue;
    if (s.journal) {
      send_journal(l.level, s.app, l.msg, {});
    } else {
      out += s.format == Format::json ? format_json(l.level, s.app, l.msg, {}, ms.count())
                                      : format_text(l.level, s.app, l.msg, {}, ms.count());
    }
  }
  if (!s.journal && s.format == Format::text) out += trailer;
  write_all(STDERR_FILENO, out);
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  State& s = state();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  std::lock_guard lock(s.mu);
  if (s.journal) {
    send_journal(level, s.app, msg, fields);
    return;
  }
  write_all(STDERR_FILENO, s.format == Format::json ? format_json(level, s.app, msg, fields, ms.count())
                                                     : format_text(level, s.app, msg, fields, ms.count()));
}

}  // namespace sockit::log
