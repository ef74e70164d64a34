// Internal header of `sockit chat-server`: loading irc::Config from a TOML file and the command
// line. Precedence: built-in defaults < TOML file < flags. SIGHUP re-runs the same steps.
#pragma once

#include "sockit/irc/config.hpp"
#include "sockit/net/address.hpp"
#include "sockit/store/accounts.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sockit::chat_server {

/// Flags that override the file (unset = keep the file's or the default value).
struct Overrides {
  std::optional<std::string> server_name;
  std::optional<std::string> motd_file;
  std::optional<std::size_t> max_clients;
  std::optional<std::size_t> max_per_ip;
  bool no_exempt_loopback = false;
  std::optional<std::string> sendq;
  std::optional<std::string> registration_timeout;
  std::optional<std::string> ping_interval;
  std::optional<std::string> ping_timeout;
  std::optional<std::size_t> flood_burst;
  std::optional<double> flood_rate;
  bool no_flood = false;
  bool allow_invalid_utf8 = false;
  std::optional<std::string> casemapping;  ///< --casemapping rfc1459|rfc1459-strict|ascii
  std::optional<std::string> metrics;     ///< --metrics ADDR:PORT
  std::optional<std::string> log_level;   ///< --log-level, when given
  std::optional<std::string> log_format;  ///< --log-format, when given
  std::vector<std::string> tls_listen;    ///< --tls-listen ADDR:PORT (replace the file's TLS listeners)
  std::optional<std::string> tls_cert;    ///< --tls-cert: for --tls-listen and [[listen]] entries without cert
  std::optional<std::string> tls_key;     ///< --tls-key
  std::optional<std::string> tls_handshake_timeout;  ///< --tls-handshake-timeout (replaces [timeouts] tls_handshake)
  std::optional<std::string> output_hold;  ///< --output-hold (replaces [timeouts] output_hold)
  std::vector<std::string> ws_listen;     ///< --ws-listen ADDR:PORT (WebSocket listeners, added to the file's)
  std::vector<std::string> ws_origin;     ///< --ws-origin ORIGIN (replace [websocket] origins)
  std::optional<std::string> accounts_db;  ///< --accounts-db FILE: accounts on, in FILE
  std::optional<std::string> cluster_url;  ///< --cluster URL (replaces [cluster] url)
  std::optional<std::string> node_name;    ///< --node-name NAME (replaces [cluster] node_name)
  bool cluster_status = false;             ///< --status: a URL is needed, a node name is not
  bool account_command = false;            ///< `account ...`: no node; a URL is optional, a node name not needed
};

/// A TLS listener: [[listen]] with tls = true, or --tls-listen; cert and key resolved.
struct TlsListen {
  std::string address;
  std::string cert;  ///< PEM certificate chain, leaf first
  std::string key;   ///< PEM private key
  bool websocket = false;  ///< wss://: IRC over WebSocket over this TLS listener
};

/// [websocket] (docs/WEB.md): the WebSocket listeners' settings.
struct WebSocketSettings {
  std::vector<std::string> origins;  ///< Origin values allowed (--ws-origin); empty = any
  std::chrono::milliseconds handshake_timeout{10000};  ///< TLS, HTTP upgrade request and answer
  std::size_t max_message = 16384;   ///< a received message over this: close 1009
};

/// [history]: message history in SQLite (IRCv3 draft/chathistory; store::HistoryOptions).
struct HistorySettings {
  bool enabled = false;
  std::string db;                      ///< as configured (made absolute beside the config file); "" = default
  std::string path;                    ///< the file used: `db`, or chat-history.db beside the config file (or in the cwd)
  std::size_t max_messages = 10000;    ///< kept per channel or conversation; 0 = no limit
  std::chrono::milliseconds max_age{0};  ///< 0 = no limit
  std::chrono::milliseconds flush_interval{100};
  std::size_t flush_messages = 256;
  std::size_t query_limit = 100;       ///< ISUPPORT CHATHISTORY
};

/// [accounts]: user accounts in SQLite (SASL, REGISTER; store::AccountStore).
struct AccountsSettings {
  bool enabled = false;                 ///< also on with --accounts-db
  std::string db;                       ///< as given; "" = accounts.db beside the config file
  std::string path;                     ///< the file opened: `db` resolved (load_config)
  /// REGISTER: "on", "off", or "auto" (on when every listener is on a loopback address).
  std::string registration = "auto";
  /// argon2id cost of new password hashes (hash_memory_kib, hash_iterations, hash_parallelism);
  /// old hashes keep theirs. Refused below OWASP's minimum (store::hash_cost_problem) unless
  /// weak_hash_for_tests, which only a test suite should set.
  store::HashCost hash_cost;
  bool weak_hash_for_tests = false;
};

/// [cluster] (docs/CLUSTER.md): this server as one node of a network joined through Redis. Off
/// (no Redis at all) unless `url` is set.
struct ClusterSettings {
  std::string url;        ///< redis://[user:password@]host[:port] or unix:/path; "" = off
  std::string node_name;  ///< required with url
  std::string password;   ///< AUTH password (replaces the URL's); "" = the URL's, if any
  bool enabled() const noexcept { return !url.empty(); }
};
struct Loaded {
  irc::Config config;
  AccountsSettings accounts;        ///< [accounts]
  HistorySettings history;          ///< [history]
  ClusterSettings cluster;          ///< [cluster]
  std::vector<std::string> listen;  ///< from the file ([server] listen), may be empty
  std::string motd_file;            ///< resolved path, "" = none
  std::string metrics;              ///< [metrics] listen or --metrics as given, "" = off
  std::optional<Address> metrics_address;  ///< parsed `metrics`
  std::string log_level = "info";   ///< [log] level or --log-level
  std::string log_format = "text";  ///< [log] format or --log-format
  std::vector<TlsListen> tls_listen;  ///< TLS listeners ([[listen]] tls = true, --tls-listen)
  /// [timeouts] tls_handshake or --tls-handshake-timeout: a TLS client whose handshake has not
  /// finished by then is closed (the plaintext WebSocket listeners use [websocket] handshake_timeout).
  std::chrono::milliseconds tls_handshake_timeout{10000};
  /// [timeouts] output_hold or --output-hold: how long a client that sent nothing in the last two
  /// loop turns may wait for its small output (under 2 KiB) to be written, so the lines of
  /// several turns leave in one TCP segment (serve::ServerOptions::output_hold). 0 = off; not
  /// given: the backend's default (10ms on uring, 0 on the others; chat_server.cpp kUringOutputHold).
  std::optional<std::chrono::milliseconds> output_hold;
  std::vector<std::string> ws_listen;  ///< plaintext WebSocket listeners ([[listen]] websocket = true, --ws-listen)
  WebSocketSettings websocket;         ///< [websocket]
};

/// Builds the configuration; on failure returns false with one line in `error`
/// ("chat.toml:12:3: ..." or "--sendq: ..."). Never throws.
bool load_config(const std::string& toml_path, const Overrides& flags, Loaded& out, std::string& error);

/// The effective configuration as TOML that load_config reads back to the same values: every key
/// the loader accepts (motd_file made absolute, sizes in bytes, durations in s or ms), `listen` as
/// given. Checks its own output against the loader's key lists; false + `error` if they differ.
bool format_config(const Loaded& loaded, const std::vector<std::string>& listen, std::string& text, std::string& error);

}  // namespace sockit::chat_server
