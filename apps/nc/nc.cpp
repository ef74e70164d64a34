// sockit nc: netcat for people who know ncat and OpenBSD nc. Command-line parsing, validation and
// the helpers every mode shares. The modes are in stream.cpp (TCP, Unix), udp.cpp and scan.cpp.
// Behaviour (EOF matrix, timeouts, exit statuses) is specified in docs/NC.md.
#include "common/command.hpp"
#include "nc/nc.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace sockit::nc {
namespace {

using cli::UsageError;

Nanos parse_duration_flag(const std::string& text, std::string_view flag) {
  auto d = parse_duration(text);
  if (!d) throw UsageError(fmt::format("invalid duration for {}: '{}' (use e.g. 500ms, 2s, 1m)", flag, text));
  return *d;
}

std::uint16_t parse_port_arg(const std::string& text, std::string_view what) {
  auto p = Address::parse_port(text);
  if (!p) throw UsageError(fmt::format("invalid {}: '{}' (expected 0-65535 or a service name)", what, text));
  return *p;
}

// A closed fd 0/1/2 would be reused by our first socket and then read or written as if it were
// stdin/stdout; park /dev/null on it instead.
void ensure_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      int n = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (n >= 0 && n != fd) {
        ::dup2(n, fd);
        ::close(n);
      }
    }
  }
}

// --ssl-* imply --ssl; TLS runs over TCP only.
void check_ssl_options(Options& o) {
  o.ssl = o.ssl || o.ssl_verify || !o.ssl_cert.empty() || !o.ssl_key.empty() || !o.ssl_trustfile.empty() ||
          !o.ssl_servername.empty() || !o.ssl_alpn.empty() || !o.ssl_ciphers.empty();
  if (!o.ssl) return;
  if (o.udp) throw UsageError("--ssl cannot be used with -u (TLS runs over TCP; DTLS is not supported)");
  if (o.unix_socket) throw UsageError("--ssl cannot be used with -U");
  if (o.scan) throw UsageError("--ssl cannot be used with -z");
  if (!o.ssl_key.empty() && o.ssl_cert.empty()) throw UsageError("--ssl-key needs --ssl-cert");
  if (o.listen && !o.ssl_servername.empty()) throw UsageError("--ssl-servername applies to connecting, not to -l");
}

}  // namespace

void parse_options(Options& o) {
  if (o.ipv4 && o.ipv6) throw UsageError("-4 and -6 cannot be used together");
  o.family = o.ipv4 ? Family::v4 : o.ipv6 ? Family::v6 : Family::unspec;
  if (o.send_only && o.recv_only) throw UsageError("--send-only and --recv-only cannot be used together");
  if (o.scan && o.listen) throw UsageError("-z cannot be used with -l");
  if (o.keep && !o.listen) throw UsageError("-k needs -l");
  if (o.scan && o.udp) throw UsageError("-z with -u is not supported (UDP has no handshake to test)");
  if (o.scan && o.unix_socket) throw UsageError("-z cannot be used with -U");
  if (o.unix_socket && o.udp) throw UsageError("-u cannot be used with -U (Unix datagram sockets are not supported)");
  if (o.unix_socket && (!o.source.empty() || !o.source_port.empty() || o.ipv4 || o.ipv6))
    throw UsageError("-s, -p, -4 and -6 do not apply to Unix sockets (-U)");
  if (o.keep && !o.quit_text.empty())
    throw UsageError("-q cannot be used with -k (a -k listener runs until interrupted)");
  check_ssl_options(o);

  if (!o.wait_text.empty()) o.wait = parse_duration_flag(o.wait_text, "-w");
  if (!o.idle_text.empty()) o.idle = parse_duration_flag(o.idle_text, "-i");
  if (!o.quit_text.empty()) o.quit = parse_duration_flag(o.quit_text, "-q");
  if (o.wait && o.wait->count() == 0) throw UsageError("-w must be greater than 0");
  if (o.idle && o.idle->count() == 0) throw UsageError("-i must be greater than 0");
  if (!o.idle && o.wait) o.idle = o.wait;

  auto& a = o.args;
  if (o.unix_socket) {
    if (a.empty()) throw UsageError("missing socket path (-U PATH)");
    if (a.size() > 1) throw UsageError(fmt::format("too many arguments: '{}'", a[1]));
    o.host = a[0];
    return;
  }
  if (o.listen) {
    // -l PORT | -l ADDR PORT | -l -p PORT | -l ADDR -p PORT
    std::string port;
    if (!o.source_port.empty()) {
      if (a.size() > 1) throw UsageError(fmt::format("too many arguments: '{}'", a[1]));
      if (a.size() == 1) o.host = a[0];
      port = o.source_port;
    } else {
      if (a.empty()) throw UsageError("missing port to listen on (-l [ADDR] PORT)");
      if (a.size() > 2) throw UsageError(fmt::format("too many arguments: '{}'", a[2]));
      if (a.size() == 2) o.host = a[0];
      port = a.back();
    }
    if (!o.source.empty()) {
      if (!o.host.empty() && o.host != o.source)
        throw UsageError("listen address given twice (argument and -s)");
      o.host = o.source;
    }
    o.port_text = port;
    o.port = parse_port_arg(port, "port");
    return;
  }
  if (a.empty()) throw UsageError(o.scan ? "missing host and ports (-z HOST PORTS)" : "missing host and port");
  if (a.size() == 1) throw UsageError(fmt::format("missing port after host '{}'", a[0]));
  if (a.size() > 2) throw UsageError(fmt::format("too many arguments: '{}'", a[2]));
  o.host = a[0];
  o.port_text = a[1];
  if (o.scan) {
    auto ports = parse_port_list(a[1]);
    if (!ports || ports->empty())
      throw UsageError(fmt::format("invalid port list: '{}' (e.g. 22 or 20-25,80)", a[1]));
    for (auto p : *ports) {
      if (p == 0) throw UsageError(fmt::format("invalid port list: '{}' (port 0)", a[1]));
    }
    o.scan_ports = std::move(*ports);
  } else {
    o.port = parse_port_arg(a[1], "port");
    if (o.port == 0) throw UsageError("invalid port: '0' (cannot connect to port 0)");
  }
  if (!o.source_port.empty()) o.sport = parse_port_arg(o.source_port, "source port (-p)");
}

Context::Context(const Options& o) : opt(o), start_(std::chrono::steady_clock::now()) {
  if (!o.hexdump_path.empty()) {
    if (o.hexdump_path == "-") {
      dump = HexDumper(stderr);
    } else {
      dump_file_ = std::fopen(o.hexdump_path.c_str(), "we");
      if (!dump_file_) {
        fmt::print(stderr, "sockit nc: -x {}: {}\n", o.hexdump_path, std::strerror(errno));
        throw ExitNow{cli::kExitFailure};
      }
      dump = HexDumper(dump_file_);
    }
  }
}

Context::~Context() {
  if (dump_file_) std::fclose(dump_file_);
}

void Context::log_line(std::string_view line) const {
  std::string s = fmt::format("sockit nc: {}\n", line);
  // One write(2) per line so lines from -v and -x do not interleave mid-line.
  [[maybe_unused]] auto r = ::write(2, s.data(), s.size());
}

void Context::fail(const Error& e) const {
  log_line(e.message());
  throw ExitNow{cli::kExitFailure};
}

void Context::fail_message(std::string_view message) const {
  log_line(message);
  throw ExitNow{cli::kExitFailure};
}

void Context::fail(std::string_view what, int err) const {
  log_line(fmt::format("{}: {}", what, std::strerror(err)));
  throw ExitNow{cli::kExitFailure};
}

void Context::write_stdout(const char* data, std::size_t n) const {
  while (n > 0) {
    ssize_t w = ::write(1, data, n);
    if (w > 0) {
      data += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // stdout inherited O_NONBLOCK
      pollfd p{1, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (w < 0 && errno == EPIPE) {
      log(2, "stdout closed (broken pipe), exiting");
      throw ExitNow{cli::kExitOk};
    }
    fail("write stdout", w < 0 ? errno : EIO);
  }
}

void Context::summary(std::uint64_t sent, std::uint64_t received) const {
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  log(1, "{} bytes sent, {} bytes received in {:.2f} seconds", sent, received, secs);
}

long read_stdin(const Context& ctx, char* buf, std::size_t n) {
  for (;;) {
    ssize_t r = ::read(0, buf, n);
    if (r >= 0) return static_cast<long>(r);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    ctx.log(1, "read stdin: {} (treated as end of input)", std::strerror(errno));
    return 0;
  }
}

namespace {

int run(Options& o) {
  parse_options(o);
  ensure_std_fds();
  try {
    Context ctx(o);
    if (o.scan) return run_scan(ctx);
    if (o.udp) return run_udp(ctx);
    return run_stream(ctx);
  } catch (const ExitNow& e) {
    return e.status;
  }
}

}  // namespace
}  // namespace sockit::nc

SOCKIT_COMMAND(nc, "nc", "read and write TCP, UDP and Unix connections (netcat)",
               [](CLI::App& app) -> sockit::cli::Runner {
  auto o = std::make_shared<sockit::nc::Options>();
  app.description(
      "Read and write TCP, UDP and Unix-domain connections (netcat).\n"
      "  sockit nc HOST PORT          connect, copy stdin to the peer and the peer to stdout\n"
      "  sockit nc -l [ADDR] PORT     listen (default address 127.0.0.1), serve one client\n"
      "  sockit nc -l -k [ADDR] PORT  keep listening; stdin is sent to every client\n"
      "  sockit nc -z HOST 20-25,80   report which TCP ports accept connections\n"
      "End of stream: at stdin EOF, FIN is sent and output continues until the peer closes.\n"
      "Exit status: 0 success, 1 network failure, 2 usage error. See docs/NC.md.");
  app.add_option("args", o->args, "HOST PORT, [ADDR] PORT with -l, HOST PORTS with -z, PATH with -U");
  app.add_flag("-l,--listen", o->listen, "listen for a connection instead of connecting");
  app.add_flag("-k,--keep-open", o->keep, "with -l: keep listening, serve clients concurrently");
  app.add_flag("-u,--udp", o->udp, "UDP instead of TCP");
  app.add_flag("-U,--unixsock", o->unix_socket, "Unix-domain stream socket; the argument is its PATH");
  app.add_flag("-4", o->ipv4, "IPv4 only");
  app.add_flag("-6", o->ipv6, "IPv6 only");
  app.add_option("-s,--source", o->source, "local address to connect from (with -l: address to listen on)");
  app.add_option("-p,--source-port", o->source_port, "local port to connect from (with -l: port to listen on)");
  app.add_option("-w,--wait", o->wait_text, "connect timeout, also the idle timeout unless -i (500ms, 2s, 1m)");
  app.add_option("-i,--idle-timeout", o->idle_text, "exit with an error after TIME without data either way");
  app.add_option("-q,--quit-after-eof", o->quit_text, "after stdin EOF, wait at most TIME, then exit 0");
  app.add_flag("-z,--zero", o->scan, "scan: connect to each port and report open/closed (with -v)");
  app.add_flag("-v,--verbose", o->verbose, "progress and diagnostics on stderr (repeat for more)");
  app.add_flag("-C,--crlf", o->crlf, "send LF line endings as CRLF");
  app.add_option("-x,--hex-dump", o->hexdump_path, "hex+ASCII dump of both directions to FILE ('-' = stderr)");
  app.add_flag("--send-only", o->send_only, "only send; discard received data; exit at stdin EOF");
  app.add_flag("--recv-only", o->recv_only, "only receive; never read stdin");
  app.add_flag("--no-shutdown", o->no_shutdown, "at stdin EOF do not send FIN (half-close)");
  app.add_flag("--ssl", o->ssl, "TLS: connect with TLS, or with -l accept TLS (self-signed certificate unless --ssl-cert)");
  app.add_option("--ssl-cert", o->ssl_cert, "PEM certificate chain to present (with -l: the server's)");
  app.add_option("--ssl-key", o->ssl_key, "PEM private key of --ssl-cert (default: read from the --ssl-cert file)");
  app.add_flag("--ssl-verify", o->ssl_verify, "verify the server's certificate and host name (with -l and --ssl-trustfile: require a client certificate)");
  app.add_option("--ssl-trustfile", o->ssl_trustfile, "PEM CA certificates to verify with (implies --ssl-verify; default: the system's)");
  app.add_option("--ssl-servername", o->ssl_servername, "name to send as SNI and to verify (default: HOST)");
  app.add_option("--ssl-alpn", o->ssl_alpn, "ALPN protocols to offer or accept, comma-separated (h2,http/1.1)");
  app.add_option("--ssl-ciphers", o->ssl_ciphers, "OpenSSL cipher list (TLS 1.2), or TLS 1.3 suites (TLS_...)");
  return [o] { return sockit::nc::run(*o); };
});
