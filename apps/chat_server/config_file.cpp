// `sockit chat-server` configuration: TOML file (toml++) + flags -> irc::Config.
#include "config_file.hpp"

#include "common/log.hpp"

#include "sockit/cluster/node.hpp"
#include "sockit/irc/password.hpp"
#include "sockit/net/parse.hpp"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

namespace sockit::chat_server {

namespace {

struct ConfigError {
  std::string what;
};

// Every key the loader accepts, per table: apply_file refuses others, format_config prints these
// and checks its own output against them (so the printed form and the loader cannot drift).
constexpr std::string_view kRootKeys[] = {"server", "limits", "timeouts", "flood", "operator", "admin", "metrics", "log", "listen", "websocket", "history", "accounts", "cluster"};
constexpr std::string_view kAccountsKeys[] = {"enabled",         "db",          "registration",     "enforce_nicks",
                                               "nick_grace",      "register_per_ip", "hash_memory_kib", "hash_iterations",
                                               "hash_parallelism", "weak_hash_for_tests"};
constexpr std::string_view kClusterKeys[] = {"url", "node_name", "password"};
constexpr std::string_view kServerKeys[] = {"name",      "network",  "description",          "listen",
                                            "motd_file", "password", "default_channel_modes", "casemapping",
                                            "allow_die", "allow_restart", "sts_duration"};
constexpr std::string_view kLimitsKeys[] = {"max_clients", "max_per_ip",   "exempt_loopback", "nick_len",
                                            "channel_len", "topic_len",    "kick_len",        "away_len",
                                            "max_channels", "max_targets", "max_bans",        "sendq",
                                            "recvq",       "enforce_utf8", "monitor_limit"};
constexpr std::string_view kTimeoutsKeys[] = {"registration", "ping_interval", "ping_timeout", "tls_handshake", "output_hold"};
constexpr std::string_view kFloodKeys[] = {"burst", "rate", "max_queued", "exempt_opers"};
constexpr std::string_view kAdminKeys[] = {"location", "location2", "email"};
constexpr std::string_view kOperatorKeys[] = {"name", "password", "host", "certfp", "account"};
constexpr std::string_view kListenKeys[] = {"address", "tls", "cert", "key", "websocket"};
constexpr std::string_view kWebSocketKeys[] = {"origins", "handshake_timeout", "max_message"};
constexpr char kDefaultTlsListen[] = "127.0.0.1:6697";  // --tls-cert alone: loopback, never the wildcard
constexpr std::string_view kMetricsKeys[] = {"listen"};
constexpr std::string_view kLogKeys[] = {"level", "format"};
constexpr std::string_view kHistoryKeys[] = {"enabled", "db", "max_messages", "max_age", "flush_interval",
                                             "flush_messages", "query_limit"};

std::string where(const toml::node& n, std::string_view key) {
  const auto& src = n.source();
  if (src.begin.line == 0) return std::string(key);
  return fmt::format("{}:{}:{}: {}", src.path ? *src.path : std::string("config"), src.begin.line, src.begin.column, key);
}

std::chrono::milliseconds duration_value(std::string_view text, const std::string& ctx, bool zero_ok = false) {
  auto d = parse_duration(text);
  if (!d || (*d < std::chrono::milliseconds(1) && !(zero_ok && d->count() == 0))) {
    throw ConfigError{ctx + (zero_ok ? ": not 0 nor a duration of 1ms or more (\"0\", \"5ms\", \"1s\")"
                                     : ": not a duration of 1ms or more (\"30s\", \"2m\", \"500ms\")")};
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

irc::Casemapping casemapping_value(std::string_view text, const std::string& ctx) {
  auto cm = irc::parse_casemapping(text);
  if (!cm) throw ConfigError{ctx + ": expected \"rfc1459\", \"rfc1459-strict\" or \"ascii\""};
  return *cm;
}

std::size_t size_value(std::string_view text, const std::string& ctx) {
  auto s = parse_size(text);
  if (!s || *s == 0) throw ConfigError{ctx + ": not a size (\"256k\", \"1MiB\", \"8192\")"};
  return static_cast<std::size_t>(*s);
}

// Typed getters: a key of the wrong type is an error, a missing key keeps `v`.
void get(const toml::table& t, std::string_view section, std::string_view key, std::string& v) {
  const toml::node* n = t.get(key);
  if (!n) return;
  auto s = n->value<std::string>();
  if (!s) throw ConfigError{where(*n, std::string(section) + "." + std::string(key)) + ": expected a string"};
  v = *s;
}
void get(const toml::table& t, std::string_view section, std::string_view key, bool& v) {
  const toml::node* n = t.get(key);
  if (!n) return;
  auto b = n->value<bool>();
  if (!b) throw ConfigError{where(*n, std::string(section) + "." + std::string(key)) + ": expected true or false"};
  v = *b;
}
void get_count(const toml::table& t, std::string_view section, std::string_view key, std::size_t& v,
               std::size_t min = 0) {
  const toml::node* n = t.get(key);
  if (!n) return;
  auto i = n->value<std::int64_t>();
  std::string ctx = where(*n, std::string(section) + "." + std::string(key));
  if (!i || *i < static_cast<std::int64_t>(min)) throw ConfigError{ctx + fmt::format(": expected an integer >= {}", min)};
  v = static_cast<std::size_t>(*i);
}
void get_size(const toml::table& t, std::string_view section, std::string_view key, std::size_t& v) {
  const toml::node* n = t.get(key);
  if (!n) return;
  std::string ctx = where(*n, std::string(section) + "." + std::string(key));
  if (auto i = n->value<std::int64_t>(); i && n->is_integer()) {
    if (*i <= 0) throw ConfigError{ctx + ": must be positive"};
    v = static_cast<std::size_t>(*i);
  } else if (auto s = n->value<std::string>()) {
    v = size_value(*s, ctx);
  } else {
    throw ConfigError{ctx + ": expected a size"};
  }
}
void get_duration(const toml::table& t, std::string_view section, std::string_view key, std::chrono::milliseconds& v,
                  bool zero_ok = false) {
  const toml::node* n = t.get(key);
  if (!n) return;
  std::string ctx = where(*n, std::string(section) + "." + std::string(key));
  if (n->is_integer()) {
    auto i = n->value<std::int64_t>();
    if (*i < 0 || (*i == 0 && !zero_ok)) throw ConfigError{ctx + (zero_ok ? ": must be 0 or more" : ": must be positive")};
    // The bound of a duration written as text (net::parse_duration: 1e18 ns), so it prints back.
    constexpr std::int64_t kMaxSeconds = 1'000'000'000;
    if (*i > kMaxSeconds) throw ConfigError{ctx + fmt::format(": too large (at most {} seconds)", kMaxSeconds)};
    v = std::chrono::seconds(*i);
  } else if (auto s = n->value<std::string>()) {
    v = duration_value(*s, ctx, zero_ok);
  } else {
    throw ConfigError{ctx + ": expected a duration"};
  }
}

const toml::table* section(const toml::table& root, std::string_view name) {
  const toml::node* n = root.get(name);
  if (!n) return nullptr;
  if (!n->is_table()) throw ConfigError{where(*n, name) + ": expected a [" + std::string(name) + "] table"};
  return n->as_table();
}

void check_keys(const toml::table& t, std::string_view sect, std::span<const std::string_view> known) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) throw ConfigError{where(v, std::string(sect) + "." + std::string(k.str())) + ": unknown key"};
  }
}

constexpr std::size_t kAdminLines = 3;      // ADMIN's location, location2 and email
constexpr std::size_t kMaxMotdLines = 200;         // lines of the motd file read, the rest ignored
constexpr std::size_t kMaxMotdBytes = 64 * 1024;  // bytes of the motd file read, the rest ignored

constexpr char kNotAHash[] = ": not a hash; make one with 'sockit chat-server --hash-password'";

// --metrics / [metrics] listen: "ADDR:PORT", a bare PORT meaning 127.0.0.1; throws `ctx: ...`.
Address metrics_address(const std::string& text, const std::string& ctx) {
  EndpointOptions eo;
  eo.passive = true;
  eo.bare_port = true;
  auto a = parse_endpoint(text, eo);
  if (!a || !a->is_ip()) {
    throw ConfigError{fmt::format("{}: {}expected ADDR:PORT like 127.0.0.1:9100", ctx,
                                  a ? std::string() : a.error().message() + "; ")};
  }
  return *a;
}

bool valid_flood_rate(double v) { return std::isfinite(v) && v >= 0; }

bool valid_server_name(const std::string& name) {
  return !name.empty() && name.find_first_of(" :!@,*?") == std::string::npos && name.find('.') != std::string::npos;
}
std::string bad_server_name(const std::string& name) {
  return "\"" + name + "\": must look like a host name (irc.example.org)";
}

// A regular file only (a FIFO or /dev/stdin would block the load, /dev/zero never end), and at most
// kMaxMotdBytes of it: a MOTD is a screenful, not a way to fill the server's memory.
std::vector<std::string> read_motd(const std::string& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) throw ConfigError{"motd file " + path + ": cannot open"};
  if (!std::filesystem::is_regular_file(st)) throw ConfigError{"motd file " + path + ": not a regular file"};
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError{"motd file " + path + ": cannot open"};
  std::string text(kMaxMotdBytes, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  std::istringstream in(text);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line) && lines.size() < kMaxMotdLines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (char& c : line) {
      if (c == '\0' || c == '\n') c = ' ';
    }
    lines.push_back(line.empty() ? std::string(" ") : line);
  }
  return lines;
}

// An error is one line: the values it quotes (a TOML string may hold "\n", tomlplusplus quotes the
// bytes it saw) have their control bytes printed as \xNN.
std::string one_line(std::string_view text) {
  std::string out;
  for (char ch : text) {
    auto u = static_cast<unsigned char>(ch);
    out += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, ch);
  }
  return out;
}

toml::table parse_toml(const std::string& path) {
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError{fmt::format("{}:{}:{}: {}", path, b.line, b.column, e.description())};
  }
}

void apply_server(const toml::table& s, Loaded& out) {
  irc::Config& c = out.config;
  check_keys(s, "server", kServerKeys);
  get(s, "server", "name", c.server_name);
  if (const toml::node* n = s.get("name"); n && !valid_server_name(c.server_name)) {
    throw ConfigError{where(*n, "server.name") + ": " + bad_server_name(c.server_name)};
  }
  get(s, "server", "network", c.network);
  get(s, "server", "description", c.description);
  get(s, "server", "motd_file", out.motd_file);
  get(s, "server", "password", c.password_hash);
  if (const toml::node* n = s.get("password"); n && !c.password_hash.empty() && !irc::is_password_hash(c.password_hash)) {
    throw ConfigError{where(*n, "server.password") + kNotAHash};
  }
  get(s, "server", "default_channel_modes", c.default_channel_modes);
  get(s, "server", "allow_die", c.allow_die);
  get(s, "server", "allow_restart", c.allow_restart);
  if (s.get("sts_duration") != nullptr) {
    std::chrono::milliseconds d = c.sts_duration;
    get_duration(s, "server", "sts_duration", d);
    if (d < std::chrono::seconds(1)) {  // the policy's duration is whole seconds (IRCv3 sts)
      throw ConfigError{where(*s.get("sts_duration"), "server.sts_duration") + ": at least 1s"};
    }
    c.sts_duration = std::chrono::duration_cast<std::chrono::seconds>(d);
  }
  if (const toml::node* n = s.get("casemapping")) {
    std::string name;
    get(s, "server", "casemapping", name);
    c.casemapping = casemapping_value(name, where(*n, "server.casemapping"));
  }
  if (const toml::node* l = s.get("listen")) {
    const toml::array* arr = l->as_array();
    if (!arr) throw ConfigError{where(*l, "server.listen") + ": expected an array of \"ADDR:PORT\""};
    for (auto&& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) throw ConfigError{where(e, "server.listen") + ": expected strings"};
      out.listen.push_back(*v);
    }
  }
}

void apply_limits(const toml::table& s, irc::Config& c) {
  check_keys(s, "limits", kLimitsKeys);
  get_count(s, "limits", "max_clients", c.max_clients, 1);
  get_count(s, "limits", "max_per_ip", c.max_per_ip);
  get(s, "limits", "exempt_loopback", c.exempt_loopback);
  get_count(s, "limits", "nick_len", c.nick_len, 1);
  get_count(s, "limits", "channel_len", c.channel_len, 2);
  get_count(s, "limits", "topic_len", c.topic_len, 1);
  get_count(s, "limits", "kick_len", c.kick_len, 1);
  get_count(s, "limits", "away_len", c.away_len, 1);
  get_count(s, "limits", "max_channels", c.max_channels_per_client, 1);
  get_count(s, "limits", "max_targets", c.max_targets, 1);
  get_count(s, "limits", "max_bans", c.max_bans, 1);
  get_count(s, "limits", "monitor_limit", c.monitor_limit, 1);
  get_size(s, "limits", "sendq", c.sendq);
  get_size(s, "limits", "recvq", c.recvq);
  get(s, "limits", "enforce_utf8", c.enforce_utf8);
}

void apply_timeouts(const toml::table& s, irc::Config& c) {
  check_keys(s, "timeouts", kTimeoutsKeys);
  get_duration(s, "timeouts", "registration", c.registration_timeout);
  get_duration(s, "timeouts", "ping_interval", c.ping_interval);
  get_duration(s, "timeouts", "ping_timeout", c.ping_timeout);
}

void apply_flood(const toml::table& s, irc::Config& c) {
  check_keys(s, "flood", kFloodKeys);
  get_count(s, "flood", "burst", c.flood_burst, 1);
  if (const toml::node* r = s.get("rate")) {
    auto v = r->value<double>();
    if (!v || !valid_flood_rate(*v)) throw ConfigError{where(*r, "flood.rate") + ": expected a number >= 0 (lines per second; 0 = off)"};
    c.flood_rate = *v;
  }
  get_count(s, "flood", "max_queued", c.flood_max_queued, 1);
  get(s, "flood", "exempt_opers", c.flood_exempt_opers);
}

void apply_admin(const toml::table& s, irc::Config& c) {
  check_keys(s, "admin", kAdminKeys);
  c.admin.resize(kAdminLines);
  get(s, "admin", "location", c.admin[0]);
  get(s, "admin", "location2", c.admin[1]);
  get(s, "admin", "email", c.admin[2]);
}

void apply_metrics(const toml::table& s, Loaded& out) {
  check_keys(s, "metrics", kMetricsKeys);
  get(s, "metrics", "listen", out.metrics);
  if (const toml::node* n = s.get("listen"); n && !out.metrics.empty()) {
    out.metrics_address = metrics_address(out.metrics, where(*n, "metrics.listen") + ": \"" + out.metrics + "\"");
  }
}

void apply_log(const toml::table& s, Loaded& out) {
  check_keys(s, "log", kLogKeys);
  get(s, "log", "level", out.log_level);
  if (const toml::node* n = s.get("level"); n && !log::valid_level(out.log_level)) {
    throw ConfigError{where(*n, "log.level") + ": \"" + out.log_level + "\": expected debug, info, warn or error"};
  }
  get(s, "log", "format", out.log_format);
  if (const toml::node* n = s.get("format"); n && !log::valid_format(out.log_format)) {
    throw ConfigError{where(*n, "log.format") + ": \"" + out.log_format + "\": expected text or json"};
  }
}

void apply_operators(const toml::node& ops, irc::Config& c) {
  const toml::array* arr = ops.as_array();
  if (!arr) throw ConfigError{where(ops, "operator") + ": expected [[operator]] tables"};
  for (auto&& e : *arr) {
    const toml::table* t = e.as_table();
    if (!t) throw ConfigError{where(e, "operator") + ": expected [[operator]] tables"};
    check_keys(*t, "operator", kOperatorKeys);
    irc::Operator op;
    get(*t, "operator", "name", op.name);
    get(*t, "operator", "password", op.password_hash);
    get(*t, "operator", "host", op.host_mask);
    std::string certfp, account;
    get(*t, "operator", "certfp", certfp);
    get(*t, "operator", "account", account);  // logged in to it (SASL): OPER without a password
    if (!account.empty()) c.operator_account[op.name] = account;
    if (op.name.empty()) throw ConfigError{where(e, "operator.name") + ": missing"};
    if (const toml::node* fp = t->get("certfp"); fp && !certfp.empty()) {
      certfp = irc::normalize_certfp(certfp);
      if (certfp.empty()) {
        throw ConfigError{where(*fp, "operator.certfp") + ": expected a SHA-256 fingerprint (64 hex digits, colons allowed)"};
      }
      c.operator_certfp[op.name] = certfp;
    }
    if (!(op.password_hash.empty() && (!certfp.empty() || !account.empty())) && !irc::is_password_hash(op.password_hash)) {
      const toml::node* pw = t->get("password");
      throw ConfigError{where(pw ? *pw : e, "operator.password") + kNotAHash};
    }
    c.operators.push_back(std::move(op));
  }
}

// A path in the file, relative to the file's folder when not absolute (like motd_file).
std::string beside(const std::string& config_path, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  auto slash = config_path.rfind('/');
  return slash == std::string::npos ? file : config_path.substr(0, slash + 1) + file;
}

// [accounts]: enabled, db (beside the config file when relative), registration on|off|auto.
void apply_accounts(const toml::table& s, Loaded& out) {
  check_keys(s, "accounts", kAccountsKeys);
  AccountsSettings& a = out.accounts;
  a.enabled = true;  // the section alone turns accounts on, unless enabled = false
  get(s, "accounts", "enabled", a.enabled);
  get(s, "accounts", "db", a.db);
  get(s, "accounts", "registration", a.registration);
  if (a.registration != "on" && a.registration != "off" && a.registration != "auto") {
    throw ConfigError{where(*s.get("registration"), "accounts.registration") + ": expected \"on\", \"off\" or \"auto\""};
  }
  get(s, "accounts", "enforce_nicks", out.config.enforce_nicks);  // nick ownership
  get_duration(s, "accounts", "nick_grace", out.config.nick_grace);
  get_count(s, "accounts", "register_per_ip", out.config.register_per_ip);  // REGISTERs per address and hour
  // argon2id cost of new hashes: each within its range here, the set against OWASP's minimum below.
  store::HashCost& cost = a.hash_cost;
  auto get_u32 = [&](std::string_view key, std::uint32_t& v, std::uint32_t max) {
    std::size_t n = v;
    get_count(s, "accounts", key, n, 1);
    if (n > max) throw ConfigError{where(*s.get(key), "accounts." + std::string(key)) + fmt::format(": at most {}", max)};
    v = static_cast<std::uint32_t>(n);
  };
  get_u32("hash_memory_kib", cost.memory_kib, store::kMaxHashMemoryKib);
  get_u32("hash_iterations", cost.passes, store::kMaxHashPasses);
  get_u32("hash_parallelism", cost.lanes, store::kMaxHashLanes);
  get(s, "accounts", "weak_hash_for_tests", a.weak_hash_for_tests);
  if (std::string why = store::hash_cost_problem(cost, a.weak_hash_for_tests); !why.empty()) {
    const char* key = s.get("hash_memory_kib") ? "hash_memory_kib" : s.get("hash_iterations") ? "hash_iterations" : "hash_parallelism";
    const toml::node* at = s.get(key);
    throw ConfigError{where(at ? *at : s, std::string("accounts.") + key) + ": argon2id cost " +
                      fmt::format("m={} KiB, t={}, p={}: ", cost.memory_kib, cost.passes, cost.lanes) + why +
                      (a.weak_hash_for_tests ? "" : " (weak_hash_for_tests = true allows less, for test suites only)")};
  }
}

// [history]: enabled, db (beside the config file when relative), retention, batching.
void apply_history(const toml::table& s, Loaded& out) {
  check_keys(s, "history", kHistoryKeys);
  HistorySettings& h = out.history;
  get(s, "history", "enabled", h.enabled);
  get(s, "history", "db", h.db);
  get_count(s, "history", "max_messages", h.max_messages);
  if (const toml::node* n = s.get("max_age"); n && n->value<std::int64_t>() == 0) {
    h.max_age = std::chrono::milliseconds(0);  // 0: no age limit
  } else {
    get_duration(s, "history", "max_age", h.max_age);
  }
  get_duration(s, "history", "flush_interval", h.flush_interval);
  get_count(s, "history", "flush_messages", h.flush_messages, 1);
  get_count(s, "history", "query_limit", h.query_limit, 1);
}

// [[listen]]: address, tls, cert, key. Plaintext entries join [server] listen.
void apply_listen(const toml::node& entries, const std::string& path, Loaded& out) {
  const toml::array* arr = entries.as_array();
  if (!arr) throw ConfigError{where(entries, "listen") + ": expected [[listen]] tables"};
  for (auto&& e : *arr) {
    const toml::table* t = e.as_table();
    if (!t) throw ConfigError{where(e, "listen") + ": expected [[listen]] tables"};
    check_keys(*t, "listen", kListenKeys);
    TlsListen l;
    bool tls = false;
    get(*t, "listen", "address", l.address);
    get(*t, "listen", "tls", tls);
    get(*t, "listen", "websocket", l.websocket);
    get(*t, "listen", "cert", l.cert);
    get(*t, "listen", "key", l.key);
    if (l.address.empty()) throw ConfigError{where(e, "listen.address") + ": missing (\"127.0.0.1:6697\")"};
    if (!tls) {
      if (!l.cert.empty() || !l.key.empty()) throw ConfigError{where(e, "listen.cert") + ": needs tls = true"};
      (l.websocket ? out.ws_listen : out.listen).push_back(l.address);
      continue;
    }
    l.cert = beside(path, l.cert);
    l.key = beside(path, l.key);
    out.tls_listen.push_back(std::move(l));
  }
}

// [websocket]: origins (an array of strings), handshake_timeout, max_message.
void apply_websocket(const toml::table& s, WebSocketSettings& w) {
  check_keys(s, "websocket", kWebSocketKeys);
  if (const toml::node* o = s.get("origins")) {
    const toml::array* arr = o->as_array();
    if (!arr) throw ConfigError{where(*o, "websocket.origins") + ": expected an array of \"https://host\" strings"};
    w.origins.clear();
    for (auto&& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) throw ConfigError{where(e, "websocket.origins") + ": expected strings"};
      w.origins.push_back(*v);
    }
  }
  get_duration(s, "websocket", "handshake_timeout", w.handshake_timeout);
  get_size(s, "websocket", "max_message", w.max_message);
}

// --tls-listen/--tls-cert/--tls-key over the file's TLS listeners; each ends with a cert and key.
void apply_tls_flags(const Overrides& f, Loaded& out) {
  if (f.tls_cert.has_value() != f.tls_key.has_value()) {
    throw ConfigError{f.tls_cert ? "--tls-cert needs --tls-key (the certificate's PEM private key)"
                                 : "--tls-key needs --tls-cert (the PEM certificate chain, leaf first)"};
  }
  if (!f.tls_listen.empty()) {
    out.tls_listen.clear();
    for (const auto& a : f.tls_listen) out.tls_listen.push_back({a, "", ""});
  } else if (f.tls_cert && out.tls_listen.empty()) {
    out.tls_listen.push_back({kDefaultTlsListen, "", ""});
  }
  for (TlsListen& l : out.tls_listen) {
    if (l.cert.empty() && f.tls_cert) l.cert = *f.tls_cert;
    if (l.key.empty() && f.tls_key) l.key = *f.tls_key;
    if (l.cert.empty() || l.key.empty()) {
      throw ConfigError{fmt::format("TLS listener {} needs a certificate and key (--tls-cert and --tls-key, or cert "
                                    "and key in its [[listen]] entry)",
                                    l.address)};
    }
  }
}

void apply_file(const std::string& path, Loaded& out) {
  const toml::table root = parse_toml(path);
  check_keys(root, "", kRootKeys);
  irc::Config& c = out.config;
  if (const toml::table* s = section(root, "server")) apply_server(*s, out);
  if (const toml::table* s = section(root, "limits")) apply_limits(*s, c);
  if (const toml::table* s = section(root, "timeouts")) {
    apply_timeouts(*s, c);
    get_duration(*s, "timeouts", "tls_handshake", out.tls_handshake_timeout);
    if (s->contains("output_hold")) get_duration(*s, "timeouts", "output_hold", out.output_hold.emplace(), true);
  }
  if (const toml::table* s = section(root, "flood")) apply_flood(*s, c);
  if (const toml::table* s = section(root, "admin")) apply_admin(*s, c);
  if (const toml::table* s = section(root, "metrics")) apply_metrics(*s, out);
  if (const toml::table* s = section(root, "log")) apply_log(*s, out);
  if (const toml::node* ops = root.get("operator")) apply_operators(*ops, c);
  if (const toml::node* l = root.get("listen")) apply_listen(*l, path, out);
  if (const toml::table* s = section(root, "websocket")) apply_websocket(*s, out.websocket);
  if (const toml::table* s = section(root, "history")) apply_history(*s, out);
  out.history.db = beside(path, out.history.db);
  out.history.path = beside(path, out.history.db.empty() ? std::string("chat-history.db") : out.history.db);
  if (const toml::table* s = section(root, "accounts")) apply_accounts(*s, out);
  if (const toml::table* s = section(root, "cluster")) {
    check_keys(*s, "cluster", kClusterKeys);
    get(*s, "cluster", "url", out.cluster.url);
    get(*s, "cluster", "node_name", out.cluster.node_name);
    get(*s, "cluster", "password", out.cluster.password);
  }
  out.accounts.db = beside(path, out.accounts.db);
  out.accounts.path = beside(path, out.accounts.db.empty() ? std::string("accounts.db") : out.accounts.db);
  // Relative to the config file's folder, like ngIRCd's MotdFile when given relative.
  out.motd_file = beside(path, out.motd_file);
}

// TOML text of one value, in the forms apply_file reads back.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}
std::string duration_text(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? toml_string(fmt::format("{}s", d.count() / 1000)) : toml_string(fmt::format("{}ms", d.count()));
}
std::string number_text(double v) {
  std::string t = fmt::format("{}", v);
  if (t.find_first_of(".e") == std::string::npos) t += ".0";
  return t;
}

// format_config's self-check: its output holds every key the loader accepts, and no other.
void check_printed(const std::string& text) {
  toml::table root = toml::parse(std::string_view(text), std::string_view("effective configuration"));
  check_keys(root, "", kRootKeys);
  // `keys`: every key the section may hold; the first `always` of them must be there.
  auto require = [](const toml::table* t, std::string_view sect, std::span<const std::string_view> keys,
                    std::size_t always = SIZE_MAX) {
    if (!t) throw ConfigError{fmt::format("internal error: the printed configuration lacks [{}]", sect)};
    check_keys(*t, sect, keys);
    for (auto k : keys.first(std::min(always, keys.size()))) {
      if (!t->contains(k)) throw ConfigError{fmt::format("internal error: the printed configuration lacks {}.{}", sect, k)};
    }
  };
  require(root.get_as<toml::table>("server"), "server", kServerKeys);
  require(root.get_as<toml::table>("limits"), "limits", kLimitsKeys);
  // output_hold (last) only when given: unset, its value is the backend's (chat_server.cpp).
  require(root.get_as<toml::table>("timeouts"), "timeouts", kTimeoutsKeys, std::size(kTimeoutsKeys) - 1);
  require(root.get_as<toml::table>("flood"), "flood", kFloodKeys);
  require(root.get_as<toml::table>("admin"), "admin", kAdminKeys);
  require(root.get_as<toml::table>("metrics"), "metrics", kMetricsKeys);
  require(root.get_as<toml::table>("log"), "log", kLogKeys);
  require(root.get_as<toml::table>("history"), "history", kHistoryKeys);
  require(root.get_as<toml::table>("accounts"), "accounts", kAccountsKeys);
  require(root.get_as<toml::table>("cluster"), "cluster", kClusterKeys);
  require(root.get_as<toml::table>("websocket"), "websocket", kWebSocketKeys);
  if (const toml::array* ops = root.get_as<toml::array>("operator")) {
    // certfp only when the operator has one: every other key always.
    for (auto&& op : *ops) {
      require(op.as_table(), "operator", kOperatorKeys, 3);
    }
  }
  if (const toml::array* ls = root.get_as<toml::array>("listen")) {
    for (auto&& l : *ls) {  // cert and key only with tls = true
      const toml::table* t = l.as_table();
      if (!t || !t->contains("address")) throw ConfigError{"internal error: the printed configuration lacks listen.address"};
      check_keys(*t, "listen", kListenKeys);
    }
  }
}

}  // namespace

bool format_config(const Loaded& l, const std::vector<std::string>& listen, std::string& text, std::string& error) {
  const irc::Config& c = l.config;
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value) { out += fmt::format("{} = {}\n", key, value); };
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  auto count = [](std::size_t n) { return std::to_string(n); };
  out += "[server]\n";
  line("name", toml_string(c.server_name));
  line("network", toml_string(c.network));
  line("description", toml_string(c.description));
  std::string addrs;
  for (const auto& a : listen) addrs += (addrs.empty() ? "" : ", ") + toml_string(a);
  line("listen", "[" + addrs + "]");
  std::error_code ec;
  std::string motd = l.motd_file.empty() ? std::string() : std::filesystem::absolute(l.motd_file, ec).string();
  line("motd_file", toml_string(ec ? l.motd_file : motd));
  line("password", toml_string(c.password_hash));
  line("default_channel_modes", toml_string(c.default_channel_modes));
  line("allow_die", flag(c.allow_die));
  line("allow_restart", flag(c.allow_restart));
  line("casemapping", toml_string(std::string(irc::casemapping_name(c.casemapping))));
  line("sts_duration", duration_text(std::chrono::duration_cast<std::chrono::milliseconds>(c.sts_duration)));
  out += "\n[limits]\n";
  line("max_clients", count(c.max_clients));
  line("max_per_ip", count(c.max_per_ip));
  line("exempt_loopback", flag(c.exempt_loopback));
  line("nick_len", count(c.nick_len));
  line("channel_len", count(c.channel_len));
  line("topic_len", count(c.topic_len));
  line("kick_len", count(c.kick_len));
  line("away_len", count(c.away_len));
  line("max_channels", count(c.max_channels_per_client));
  line("max_targets", count(c.max_targets));
  line("max_bans", count(c.max_bans));
  line("monitor_limit", count(c.monitor_limit));
  line("sendq", count(c.sendq));
  line("recvq", count(c.recvq));
  line("enforce_utf8", flag(c.enforce_utf8));
  out += "\n[timeouts]\n";
  line("registration", duration_text(c.registration_timeout));
  line("ping_interval", duration_text(c.ping_interval));
  line("ping_timeout", duration_text(c.ping_timeout));
  line("tls_handshake", duration_text(l.tls_handshake_timeout));
  if (l.output_hold) {
    line("output_hold", duration_text(*l.output_hold));
  } else {
    out += "# output_hold not set: 10ms on the uring backend, 0s on the others\n";
  }
  out += "\n[flood]\n";
  line("burst", count(c.flood_burst));
  line("rate", number_text(c.flood_rate));
  line("max_queued", count(c.flood_max_queued));
  line("exempt_opers", flag(c.flood_exempt_opers));
  out += "\n[admin]\n";
  line("location", toml_string(c.admin.size() > 0 ? c.admin[0] : std::string()));
  line("location2", toml_string(c.admin.size() > 1 ? c.admin[1] : std::string()));
  line("email", toml_string(c.admin.size() > 2 ? c.admin[2] : std::string()));
  out += "\n[metrics]\n";
  line("listen", toml_string(l.metrics));
  out += "\n[log]\n";
  line("level", toml_string(l.log_level));
  line("format", toml_string(l.log_format));
  out += "\n[history]\n";
  line("enabled", flag(l.history.enabled));
  std::error_code ec_db;
  line("db", toml_string(l.history.db.empty() ? std::string() : std::filesystem::absolute(l.history.db, ec_db).string()));
  line("max_messages", count(l.history.max_messages));
  line("max_age", l.history.max_age.count() == 0 ? std::string("0") : duration_text(l.history.max_age));
  line("flush_interval", duration_text(l.history.flush_interval));
  line("flush_messages", count(l.history.flush_messages));
  line("query_limit", count(l.history.query_limit));
  out += "\n[accounts]\n";
  line("enabled", flag(l.accounts.enabled));
  std::error_code ec_acc;
  line("db", toml_string(l.accounts.db.empty() ? std::string() : std::filesystem::absolute(l.accounts.db, ec_acc).string()));
  line("registration", toml_string(l.accounts.registration));
  line("enforce_nicks", flag(c.enforce_nicks));
  line("nick_grace", duration_text(c.nick_grace));
  line("register_per_ip", count(c.register_per_ip));
  line("hash_memory_kib", count(l.accounts.hash_cost.memory_kib));
  line("hash_iterations", count(l.accounts.hash_cost.passes));
  line("hash_parallelism", count(l.accounts.hash_cost.lanes));
  line("weak_hash_for_tests", flag(l.accounts.weak_hash_for_tests));
  out += "\n[cluster]\n";
  line("url", toml_string(l.cluster.url));
  line("node_name", toml_string(l.cluster.node_name));
  line("password", toml_string(l.cluster.password));
  for (const irc::Operator& op : c.operators) {
    out += "\n[[operator]]\n";
    line("name", toml_string(op.name));
    line("password", toml_string(op.password_hash));
    line("host", toml_string(op.host_mask));
    if (auto fp = c.operator_certfp.find(op.name); fp != c.operator_certfp.end()) line("certfp", toml_string(fp->second));
    if (auto ac = c.operator_account.find(op.name); ac != c.operator_account.end()) line("account", toml_string(ac->second));
  }
  for (const TlsListen& t : l.tls_listen) {
    std::error_code ec2;
    out += "\n[[listen]]\n";
    line("address", toml_string(t.address));
    line("tls", "true");
    if (t.websocket) line("websocket", "true");
    line("cert", toml_string(std::filesystem::absolute(t.cert, ec2).string()));
    line("key", toml_string(std::filesystem::absolute(t.key, ec2).string()));
  }
  for (const std::string& a : l.ws_listen) {
    out += "\n[[listen]]\n";
    line("address", toml_string(a));
    line("websocket", "true");
  }
  std::string origins;
  for (const auto& o : l.websocket.origins) origins += (origins.empty() ? "" : ", ") + toml_string(o);
  out += "\n[websocket]\n";
  line("origins", "[" + origins + "]");
  line("handshake_timeout", duration_text(l.websocket.handshake_timeout));
  line("max_message", count(l.websocket.max_message));
  try {
    check_printed(out);
  } catch (const ConfigError& e) {
    error = e.what;
    return false;
  } catch (const std::exception& e) {
    error = std::string("internal error: the printed configuration does not parse: ") + e.what();
    return false;
  }
  text = std::move(out);
  return true;
}

namespace {

// [cluster] / --cluster, --node-name: a URL that parses and a node name, or neither.
void check_cluster(const ClusterSettings& cl, bool url_flag, bool name_flag, bool status, bool no_node) {
  const std::string url_key = url_flag ? "--cluster" : "[cluster] url";
  const std::string name_key = name_flag ? "--node-name" : "[cluster] node_name";
  std::string why;
  if (!cl.enabled()) {
    if (status) throw ConfigError{"--status: needs --cluster URL (or [cluster] url)"};
    if (!cl.node_name.empty()) throw ConfigError{name_key + ": needs --cluster URL (or [cluster] url)"};
    return;
  }
  if (!cluster::parse_redis_url(cl.url, &why)) throw ConfigError{url_key + ": " + why};
  if (cl.node_name.empty() && !status && !no_node) throw ConfigError{url_key + ": needs --node-name NAME (or [cluster] node_name)"};
  if (!cl.node_name.empty() && !cluster::valid_node_name(cl.node_name, &why)) throw ConfigError{name_key + ": " + why};
}

}  // namespace

bool load_config(const std::string& toml_path, const Overrides& f, Loaded& out, std::string& error) {
  out = Loaded{};
  try {
    if (!toml_path.empty()) apply_file(toml_path, out);
    irc::Config& c = out.config;
    if (f.server_name) c.server_name = *f.server_name;
    if (f.motd_file) out.motd_file = *f.motd_file;
    if (f.max_clients && *f.max_clients == 0) throw ConfigError{"--max-clients: expected an integer >= 1"};
    if (f.max_clients) c.max_clients = *f.max_clients;
    if (f.max_per_ip) c.max_per_ip = *f.max_per_ip;
    if (f.no_exempt_loopback) c.exempt_loopback = false;
    if (f.sendq) c.sendq = size_value(*f.sendq, "--sendq");
    if (f.registration_timeout) c.registration_timeout = duration_value(*f.registration_timeout, "--registration-timeout");
    if (f.ping_interval) c.ping_interval = duration_value(*f.ping_interval, "--ping-interval");
    if (f.ping_timeout) c.ping_timeout = duration_value(*f.ping_timeout, "--ping-timeout");
    if (f.tls_handshake_timeout) out.tls_handshake_timeout = duration_value(*f.tls_handshake_timeout, "--tls-handshake-timeout");
    if (f.output_hold) out.output_hold = duration_value(*f.output_hold, "--output-hold", true);
    if (f.flood_burst) c.flood_burst = *f.flood_burst;
    if (f.flood_rate && !valid_flood_rate(*f.flood_rate)) {
      throw ConfigError{"--flood-rate: expected a number >= 0 (lines per second; 0 = off)"};
    }
    if (f.flood_rate) c.flood_rate = *f.flood_rate;
    if (f.no_flood) c.flood_rate = 0;
    if (f.allow_invalid_utf8) c.enforce_utf8 = false;
    if (f.casemapping) c.casemapping = casemapping_value(*f.casemapping, "--casemapping");
    if (f.metrics) {
      out.metrics = *f.metrics;
      out.metrics_address.reset();
      if (!out.metrics.empty()) out.metrics_address = metrics_address(out.metrics, "invalid --metrics '" + out.metrics + "'");
    }
    if (f.log_level) out.log_level = *f.log_level;
    if (f.accounts_db) {
      if (f.accounts_db->empty()) throw ConfigError{"--accounts-db: expected a file name"};
      out.accounts.enabled = true;
      out.accounts.db = out.accounts.path = *f.accounts_db;
    }
    if (out.accounts.path.empty()) out.accounts.path = out.accounts.db.empty() ? "accounts.db" : out.accounts.db;
    if (f.log_format) out.log_format = *f.log_format;
    apply_tls_flags(f, out);
    if (out.history.path.empty()) out.history.path = out.history.db.empty() ? "chat-history.db" : out.history.db;
    for (const auto& a : f.ws_listen) out.ws_listen.push_back(a);
    if (!f.ws_origin.empty()) out.websocket.origins = f.ws_origin;
    if (c.flood_burst == 0) c.flood_burst = 1;
    if (!valid_server_name(c.server_name)) throw ConfigError{"server name " + bad_server_name(c.server_name)};
    if (!out.motd_file.empty()) c.motd = read_motd(out.motd_file);
    if (f.cluster_url) out.cluster.url = *f.cluster_url;
    if (f.node_name) out.cluster.node_name = *f.node_name;
    check_cluster(out.cluster, f.cluster_url.has_value(), f.node_name.has_value(), f.cluster_status, f.account_command);
  } catch (const ConfigError& e) {
    error = one_line(e.what);
    return false;
  } catch (const std::exception& e) {
    error = one_line(e.what());
    return false;
  }
  return true;
}

}  // namespace sockit::chat_server
