// `sockit chat-server` configuration: TOML file (toml++) + flags -> irc::Config.
#include "config_file.hpp"

#include "sockit/irc/password.hpp"
#include "sockit/net/parse.hpp"

#include <fmt/core.h>
#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace sockit::chat_server {

namespace {

struct ConfigError {
  std::string what;
};

std::string where(const toml::node& n, std::string_view key) {
  const auto& src = n.source();
  if (src.begin.line == 0) return std::string(key);
  return fmt::format("{}:{}:{}: {}", src.path ? *src.path : std::string("config"), src.begin.line, src.begin.column, key);
}

std::chrono::milliseconds duration_value(std::string_view text, const std::string& ctx) {
  auto d = parse_duration(text);
  if (!d || *d <= std::chrono::nanoseconds(0)) throw ConfigError{ctx + ": not a duration (\"30s\", \"2m\", \"500ms\")"};
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
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
void get_duration(const toml::table& t, std::string_view section, std::string_view key, std::chrono::milliseconds& v) {
  const toml::node* n = t.get(key);
  if (!n) return;
  std::string ctx = where(*n, std::string(section) + "." + std::string(key));
  if (n->is_integer()) {
    auto i = n->value<std::int64_t>();
    if (*i <= 0) throw ConfigError{ctx + ": must be positive"};
    v = std::chrono::seconds(*i);
  } else if (auto s = n->value<std::string>()) {
    v = duration_value(*s, ctx);
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

void check_keys(const toml::table& t, std::string_view sect, std::initializer_list<std::string_view> known) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) throw ConfigError{where(v, std::string(sect) + "." + std::string(k.str())) + ": unknown key"};
  }
}

std::vector<std::string> read_motd(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError{"motd file " + path + ": cannot open"};
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line) && lines.size() < 200) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (char& c : line) {
      if (c == '\0' || c == '\n') c = ' ';
    }
    lines.push_back(line.empty() ? std::string(" ") : line);
  }
  return lines;
}

void apply_file(const std::string& path, Loaded& out) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw ConfigError{fmt::format("{}:{}:{}: {}", path, b.line, b.column, e.description())};
  }
  check_keys(root, "", {"server", "limits", "timeouts", "flood", "operator", "admin"});
  irc::Config& c = out.config;
  if (const toml::table* s = section(root, "server")) {
    check_keys(*s, "server", {"name", "network", "description", "listen", "motd_file", "password", "default_channel_modes"});
    get(*s, "server", "name", c.server_name);
    get(*s, "server", "network", c.network);
    get(*s, "server", "description", c.description);
    get(*s, "server", "motd_file", out.motd_file);
    get(*s, "server", "password", c.password_hash);
    get(*s, "server", "default_channel_modes", c.default_channel_modes);
    if (const toml::node* l = s->get("listen")) {
      const toml::array* arr = l->as_array();
      if (!arr) throw ConfigError{where(*l, "server.listen") + ": expected an array of \"ADDR:PORT\""};
      for (auto&& e : *arr) {
        auto v = e.value<std::string>();
        if (!v) throw ConfigError{where(e, "server.listen") + ": expected strings"};
        out.listen.push_back(*v);
      }
    }
  }
  if (const toml::table* s = section(root, "limits")) {
    check_keys(*s, "limits", {"max_clients", "max_per_ip", "exempt_loopback", "nick_len", "channel_len", "topic_len",
                              "kick_len", "away_len", "max_channels", "max_targets", "max_bans", "sendq", "recvq",
                              "enforce_utf8"});
    get_count(*s, "limits", "max_clients", c.max_clients, 1);
    get_count(*s, "limits", "max_per_ip", c.max_per_ip);
    get(*s, "limits", "exempt_loopback", c.exempt_loopback);
    get_count(*s, "limits", "nick_len", c.nick_len, 1);
    get_count(*s, "limits", "channel_len", c.channel_len, 2);
    get_count(*s, "limits", "topic_len", c.topic_len, 1);
    get_count(*s, "limits", "kick_len", c.kick_len, 1);
    get_count(*s, "limits", "away_len", c.away_len, 1);
    get_count(*s, "limits", "max_channels", c.max_channels_per_client, 1);
    get_count(*s, "limits", "max_targets", c.max_targets, 1);
    get_count(*s, "limits", "max_bans", c.max_bans, 1);
    get_size(*s, "limits", "sendq", c.sendq);
    get_size(*s, "limits", "recvq", c.recvq);
    get(*s, "limits", "enforce_utf8", c.enforce_utf8);
  }
  if (const toml::table* s = section(root, "timeouts")) {
    check_keys(*s, "timeouts", {"registration", "ping_interval", "ping_timeout"});
    get_duration(*s, "timeouts", "registration", c.registration_timeout);
    get_duration(*s, "timeouts", "ping_interval", c.ping_interval);
    get_duration(*s, "timeouts", "ping_timeout", c.ping_timeout);
  }
  if (const toml::table* s = section(root, "flood")) {
    check_keys(*s, "flood", {"burst", "rate", "max_queued", "exempt_opers"});
    get_count(*s, "flood", "burst", c.flood_burst, 1);
    if (const toml::node* r = s->get("rate")) {
      auto v = r->value<double>();
      if (!v || *v < 0) throw ConfigError{where(*r, "flood.rate") + ": expected a number >= 0 (lines per second; 0 = off)"};
      c.flood_rate = *v;
    }
    get_count(*s, "flood", "max_queued", c.flood_max_queued, 1);
    get(*s, "flood", "exempt_opers", c.flood_exempt_opers);
  }
  if (const toml::table* s = section(root, "admin")) {
    check_keys(*s, "admin", {"location", "location2", "email"});
    c.admin.resize(3);
    get(*s, "admin", "location", c.admin[0]);
    get(*s, "admin", "location2", c.admin[1]);
    get(*s, "admin", "email", c.admin[2]);
  }
  if (const toml::node* ops = root.get("operator")) {
    const toml::array* arr = ops->as_array();
    if (!arr) throw ConfigError{where(*ops, "operator") + ": expected [[operator]] tables"};
    for (auto&& e : *arr) {
      const toml::table* t = e.as_table();
      if (!t) throw ConfigError{where(e, "operator") + ": expected [[operator]] tables"};
      check_keys(*t, "operator", {"name", "password", "host"});
      irc::Operator op;
      get(*t, "operator", "name", op.name);
      get(*t, "operator", "password", op.password_hash);
      get(*t, "operator", "host", op.host_mask);
      if (op.name.empty()) throw ConfigError{where(e, "operator.name") + ": missing"};
      if (!irc::is_password_hash(op.password_hash)) {
        throw ConfigError{where(e, "operator.password") + ": not a hash; make one with 'sockit chat-server --hash-password'"};
      }
      c.operators.push_back(std::move(op));
    }
  }
  if (!c.password_hash.empty() && !irc::is_password_hash(c.password_hash)) {
    throw ConfigError{"server.password: not a hash; make one with 'sockit chat-server --hash-password'"};
  }
  if (!out.motd_file.empty() && out.motd_file.front() != '/') {
    // Relative to the config file's folder, like ngIRCd's MotdFile when given relative.
    auto slash = path.rfind('/');
    if (slash != std::string::npos) out.motd_file = path.substr(0, slash + 1) + out.motd_file;
  }
}

}  // namespace

bool load_config(const std::string& toml_path, const Overrides& f, Loaded& out, std::string& error) {
  out = Loaded{};
  try {
    if (!toml_path.empty()) apply_file(toml_path, out);
    irc::Config& c = out.config;
    if (f.server_name) c.server_name = *f.server_name;
    if (f.motd_file) out.motd_file = *f.motd_file;
    if (f.max_clients) c.max_clients = *f.max_clients;
    if (f.max_per_ip) c.max_per_ip = *f.max_per_ip;
    if (f.no_exempt_loopback) c.exempt_loopback = false;
    if (f.sendq) c.sendq = size_value(*f.sendq, "--sendq");
    if (f.registration_timeout) c.registration_timeout = duration_value(*f.registration_timeout, "--registration-timeout");
    if (f.ping_interval) c.ping_interval = duration_value(*f.ping_interval, "--ping-interval");
    if (f.ping_timeout) c.ping_timeout = duration_value(*f.ping_timeout, "--ping-timeout");
    if (f.flood_burst) c.flood_burst = *f.flood_burst;
    if (f.flood_rate) c.flood_rate = *f.flood_rate;
    if (f.no_flood) c.flood_rate = 0;
    if (f.allow_invalid_utf8) c.enforce_utf8 = false;
    if (c.flood_burst == 0) c.flood_burst = 1;
    if (c.server_name.empty() || c.server_name.find_first_of(" :!@,*?") != std::string::npos ||
        c.server_name.find('.') == std::string::npos) {
      throw ConfigError{"server name \"" + c.server_name + "\": must look like a host name (irc.example.org)"};
    }
    if (!out.motd_file.empty()) c.motd = read_motd(out.motd_file);
  } catch (const ConfigError& e) {
    error = e.what;
    return false;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
  return true;
}

}  // namespace sockit::chat_server
