// Internal header of `sockit chat-server`: loading irc::Config from a TOML file and the command
// line. Precedence: built-in defaults < TOML file < flags. SIGHUP re-runs the same steps.
#pragma once

#include "sockit/irc/config.hpp"
#include "sockit/net/address.hpp"

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
};

/// A TLS listener: [[listen]] with tls = true, or --tls-listen; cert and key resolved.
struct TlsListen {
  std::string address;
  std::string cert;  ///< PEM certificate chain, leaf first
  std::string key;   ///< PEM private key
};

struct Loaded {
  irc::Config config;
  std::vector<std::string> listen;  ///< from the file ([server] listen), may be empty
  std::string motd_file;            ///< resolved path, "" = none
  std::string metrics;              ///< [metrics] listen or --metrics as given, "" = off
  std::optional<Address> metrics_address;  ///< parsed `metrics`
  std::string log_level = "info";   ///< [log] level or --log-level
  std::string log_format = "text";  ///< [log] format or --log-format
  std::vector<TlsListen> tls_listen;  ///< TLS listeners ([[listen]] tls = true, --tls-listen)
};

/// Builds the configuration; on failure returns false with one line in `error`
/// ("chat.toml:12:3: ..." or "--sendq: ..."). Never throws.
bool load_config(const std::string& toml_path, const Overrides& flags, Loaded& out, std::string& error);

/// The effective configuration as TOML that load_config reads back to the same values: every key
/// the loader accepts (motd_file made absolute, sizes in bytes, durations in s or ms), `listen` as
/// given. Checks its own output against the loader's key lists; false + `error` if they differ.
bool format_config(const Loaded& loaded, const std::vector<std::string>& listen, std::string& text, std::string& error);

}  // namespace sockit::chat_server
