// Internal header of `sockit nc`: options and the entry points of each mode. The rules for end of
// stream, timeouts and exit statuses are in docs/NC.md; keep the two in step.
#pragma once

#include "nc/hexdump.hpp"

#include <sockit/net.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::nc {

using Nanos = std::chrono::nanoseconds;

/// Everything the command line says, already validated by parse_options().
struct Options {
  // Raw command-line values (filled by CLI11).
  std::vector<std::string> args;
  bool listen = false, keep = false, udp = false, ipv4 = false, ipv6 = false, scan = false;
  bool crlf = false, unix_socket = false, send_only = false, recv_only = false, no_shutdown = false;
  int verbose = 0;
  std::string source, source_port, wait_text, idle_text, quit_text, hexdump_path;
  // TLS (ncat's --ssl flags; docs/TLS.md). Any --ssl-* flag implies --ssl.
  bool ssl = false, ssl_verify = false;
  std::string ssl_cert, ssl_key, ssl_trustfile, ssl_servername, ssl_alpn, ssl_ciphers;

  // Derived by parse_options().
  std::string host;                      ///< connect target, listen address (may be empty) or Unix path
  std::string port_text;                 ///< as typed (service names allowed)
  std::uint16_t port = 0;
  std::vector<std::uint16_t> scan_ports;  ///< -z
  Family family = Family::unspec;
  std::optional<std::uint16_t> sport;    ///< -p for connect
  std::optional<Nanos> wait;             ///< -w: connect timeout (and idle, unless -i)
  std::optional<Nanos> idle;             ///< -i (or -w)
  std::optional<Nanos> quit;             ///< -q
};

/// Validates and completes `o` (throws cli::UsageError, exit 2).
void parse_options(Options& o);

/// Thrown to end the command with `status` after the message (if any) has been printed.
struct ExitNow {
  int status;
};

/// State shared by the modes: options, the -x dumper, verbose logging and error exits.
class Context {
 public:
  explicit Context(const Options& o);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Options& opt;
  HexDumper dump;

  /// "-v" messages: printed when the verbosity is at least `level`.
  template <class... A>
  void log(int level, fmt::format_string<A...> f, A&&... a) const {
    if (opt.verbose >= level) log_line(fmt::format(f, std::forward<A>(a)...));
  }
  void log_line(std::string_view line) const;
  /// Prints "sockit nc: <message>" and exits 1 (network failure).
  [[noreturn]] void fail(const Error& e) const;
  [[noreturn]] void fail(std::string_view what, int err) const;
  /// Prints "sockit nc: <message>" and exits 1.
  [[noreturn]] void fail_message(std::string_view message) const;
  /// Writes all of `data` to stdout (blocking). A closed stdout (EPIPE) ends the command quietly
  /// with status 0; other write errors exit 1.
  void write_stdout(const char* data, std::size_t n) const;
  /// Prints the -v summary "N bytes sent, M bytes received in T seconds".
  void summary(std::uint64_t sent, std::uint64_t received) const;

 private:
  std::FILE* dump_file_ = nullptr;
  std::chrono::steady_clock::time_point start_;
};

/// Reads stdin (fd 0) into `buf`; returns bytes read, 0 at EOF. Errors other than EINTR/EAGAIN
/// are treated as EOF after a -v note. Returns -1 for "nothing now" (EAGAIN).
long read_stdin(const Context& ctx, char* buf, std::size_t n);

int run_stream(Context& ctx);  ///< TCP and Unix-domain: connect, listen, listen -k
int run_udp(Context& ctx);     ///< -u
int run_scan(Context& ctx);    ///< -z

}  // namespace sockit::nc
