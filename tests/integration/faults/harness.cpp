#include "harness.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <regex>

namespace sockit::test::faults {

using namespace std::chrono_literals;

UdpEcho::UdpEcho() {
  auto s = UdpSocket::bind(Address::ipv4_loopback(0));
  if (!s) throw std::runtime_error(s.error().message());
  sock_ = std::move(*s);
  addr_ = *sock_.local_address();
  thread_ = std::thread([this] {
    std::vector<std::byte> buf(65536);
    while (!stop_.load()) {
      auto d = sock_.recv_from(buf, Deadline::after(50ms));
      if (!d) continue;
      (void)sock_.send_to(std::span<const std::byte>(buf.data(), d->size), d->from, Deadline::after(1s));
    }
  });
}

UdpEcho::~UdpEcho() {
  stop_.store(true);
  thread_.join();
}

TcpEcho::TcpEcho() {
  auto l = TcpListener::bind(Address::ipv4_loopback(0));
  if (!l) throw std::runtime_error(l.error().message());
  listener_ = std::move(*l);
  addr_ = *listener_.local_address();
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      auto s = listener_.accept(Deadline::after(50ms));
      if (!s) continue;
      conns_.emplace_back([this, s = std::move(*s)]() mutable {
        std::vector<std::byte> buf(65536);
        while (!stop_.load()) {
          auto n = s.read_some(buf, Deadline::after(50ms));
          if (!n) {
            if (n.error() == std::errc::timed_out) continue;
            return;  // reset: drop the connection
          }
          if (*n == 0) {
            (void)s.shutdown_write();  // echo the half-close
            return;
          }
          if (!s.write_all(std::span<const std::byte>(buf.data(), *n), Deadline::after(10s))) return;
        }
      });
    }
  });
}

TcpEcho::~TcpEcho() {
  stop_.store(true);
  thread_.join();
  for (auto& t : conns_) t.join();
}

std::unique_ptr<ProxyProcess> ProxyProcess::start(const std::vector<std::string>& args,
                                                  const std::vector<std::string>& env) {
  std::vector<std::string> argv = {sockit_bin(), "proxy", "--control", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::unique_ptr<ProxyProcess>(new ProxyProcess(Child::spawn(argv, env)));
  std::string err = p->child_.read_stderr_until(" direction=", 10s);
  std::smatch m;
  if (!std::regex_search(err, m, std::regex("listening on ([0-9.]+:[0-9]+)")))
    throw std::runtime_error("proxy did not start: " + err);
  p->listen_ = *Address::parse(m[1].str());
  if (!std::regex_search(err, m, std::regex("control on ([0-9.]+:[0-9]+)")))
    throw std::runtime_error("proxy has no control port: " + err);
  p->control_ = *Address::parse(m[1].str());
  return p;
}

std::string ProxyProcess::command(const std::string& line) {
  auto s = TcpStream::connect(control_, Deadline::after(2s));
  if (!s) return "";
  if (!s->write_all(line + "\n", Deadline::after(2s))) return "";
  std::string reply;
  char c;
  while (reply.size() < 4096) {
    auto n = s->read_some(std::as_writable_bytes(std::span<char>(&c, 1)), Deadline::after(2s));
    if (!n || *n == 0 || c == '\n') break;
    reply += c;
  }
  return reply;
}

std::string ProxyProcess::stop() {
  child_.signal(SIGTERM);
  auto st = child_.wait(5s);
  EXPECT_TRUE(st.has_value()) << "proxy did not exit on SIGTERM";
  if (st) {
    EXPECT_EQ(*st, 0);
  }
  std::string err = child_.read_stderr(2s);
  auto at = err.find("stopped: ");
  return at == std::string::npos ? err : err.substr(at);
}

long long ProxyProcess::counter(const std::string& line, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("\\b" + name + "=([0-9]+)"))) return -1;
  return std::stoll(m[1].str());
}

PingRun run_ping(const std::vector<std::string>& args, const std::vector<std::string>& env,
                 std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {sockit_bin(), "ping", "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  Child c = Child::spawn(argv, env);
  c.close_stdin();
  PingRun r;
  std::thread err_reader([&] { r.err = c.read_stderr(timeout); });
  r.json = c.read_stdout(timeout);
  err_reader.join();
  auto st = c.wait(timeout);
  r.status = st ? *st : -1;
  return r;
}

}  // namespace sockit::test::faults
