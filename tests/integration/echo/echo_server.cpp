// Helpers of the echo suite.
#include "echo_server.hpp"

#include "sockit/net/socket.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::test {

using namespace std::chrono_literals;

namespace {
std::uint16_t port_after(const std::string& text, const std::string& key) {
  auto pos = text.find(key);
  if (pos == std::string::npos) return 0;
  pos += key.size();
  return static_cast<std::uint16_t>(std::strtoul(text.c_str() + pos, nullptr, 10));
}
}  // namespace

EchoServer::EchoServer(const Variant& v, std::vector<std::string> extra, std::vector<std::string> prefix) {
  std::vector<std::string> argv = prefix;
  argv.push_back(sockit_bin());
  argv.insert(argv.end(), {"echo-server", "--model", v.model, "--listen", "127.0.0.1:0", "--backlog", "2048"});
  if (v.model == "pool" && std::find(extra.begin(), extra.end(), "--pool-queue") == extra.end()) {
    // The suite sends up to 1000 clients at once; PoolRefusesWhenQueueIsFull tests the bound.
    argv.insert(argv.end(), {"--pool-queue", "2048"});
  }
  if (v.threads > 0) {
    argv.push_back("--threads");
    argv.push_back(std::to_string(v.threads));
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  child_.emplace(Child::spawn(argv));
  err_ = child_->read_stderr_until("counters: kill -USR1", 20s);
  port_ = port_after(err_, "listening on tcp 127.0.0.1:");
  udp_port_ = port_after(err_, "listening on udp 127.0.0.1:");
  if (port_ != 0) {
    // The idle descriptor set, read once it holds still: two reads 50 ms apart that agree. CI saw
    // a pool server counted with 11 descriptors right after its banner and 9 at the test's end
    // (idle is 9): something at start-up had two more open for a moment.
    std::string before = fd_list();
    wait_until([&] {
      std::string now = fd_list();
      bool same = now == before;
      before = std::move(now);
      return same;
    }, 2s, 50ms);
    baseline_fd_list_ = before;
    baseline_fds_ = fd_count();
  }
}

std::string EchoServer::fd_list() const {
  std::string dir = "/proc/" + std::to_string(child_->pid()) + "/fd/";
  std::string out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    ssize_t n = ::readlink((dir + e->d_name).c_str(), target, sizeof target - 1);
    out += std::string(e->d_name) + "->" + std::string(target, n > 0 ? static_cast<std::size_t>(n) : 0) + " ";
  }
  ::closedir(d);
  return out;
}

EchoServer::~EchoServer() {
  if (child_ && !child_->status()) {
    child_->signal(SIGKILL);
    (void)child_->wait(5s);
  }
}

const std::string& EchoServer::err(std::chrono::milliseconds wait) {
  err_ += child_->read_stderr(wait);
  return err_;
}

bool EchoServer::wait_err(const std::string& needle, std::chrono::milliseconds timeout) {
  if (err_.find(needle) == std::string::npos) err_ += child_->read_stderr_until(needle, timeout);
  return err_.find(needle) != std::string::npos;
}

int EchoServer::child_count() const {
  // Each thread's children are listed under its own task (fork() runs on the accept thread).
  std::error_code ec;
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(child_->pid()) + "/task", ec)) {
    std::ifstream f(task.path() / "children");
    for (std::string p; f >> p;) ++n;
  }
  return n;
}

int EchoServer::fd_count() const {
  std::string path = "/proc/" + std::to_string(child_->pid()) + "/fd";
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

bool EchoServer::wait_back_to_idle(std::chrono::milliseconds timeout) const {
  auto entries = [](const std::string& list) {
    std::set<std::string> out;
    std::istringstream in(list);
    for (std::string e; in >> e;) out.insert(e);
    return out;
  };
  const std::set<std::string> idle = entries(baseline_fd_list_);
  return wait_until([&] {
    if (fd_count() == baseline_fds_) return true;
    const std::set<std::string> now = entries(fd_list());
    return now.size() < idle.size() && std::includes(idle.begin(), idle.end(), now.begin(), now.end());
  }, timeout, 20ms);
}

std::chrono::milliseconds EchoServer::cpu_time() const {
  std::ifstream f("/proc/" + std::to_string(child_->pid()) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = all.rfind(')');
  if (rp == std::string::npos) return 0ms;
  std::istringstream in(all.substr(rp + 2));
  std::string field;
  std::vector<std::string> fields;
  while (in >> field) fields.push_back(field);
  // After the comm field: state(0) ... utime is field 14 overall -> index 11 here, stime 12.
  if (fields.size() < 13) return 0ms;
  long ticks = std::stol(fields[11]) + std::stol(fields[12]);
  long hz = ::sysconf(_SC_CLK_TCK);
  return std::chrono::milliseconds(ticks * 1000 / hz);
}

long EchoServer::rss_kib() const {
  std::ifstream f("/proc/" + std::to_string(child_->pid()) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::optional<int> EchoServer::stop(std::chrono::milliseconds timeout) {
  child_->signal(SIGTERM);
  auto st = child_->wait(timeout);
  err_ += child_->read_stderr(200ms);
  return st;
}

std::map<std::string, std::uint64_t> EchoServer::counters() {
  std::map<std::string, std::uint64_t> out;
  auto pos = err_.rfind("counters:");
  if (pos == std::string::npos) return out;
  auto end = err_.find('\n', pos);
  std::istringstream in(err_.substr(pos, end - pos));
  std::string tok, prefix;
  while (in >> tok) {
    auto eq = tok.find('=');
    if (eq == std::string::npos) {
      prefix = tok;
      continue;
    }
    out[prefix + "." + tok.substr(0, eq)] = std::stoull(tok.substr(eq + 1));
  }
  return out;
}

std::map<std::string, std::uint64_t> EchoServer::counters_now(std::chrono::milliseconds timeout) {
  std::size_t seen = err_.size();
  child_->signal(SIGUSR1);
  auto end = std::chrono::steady_clock::now() + timeout;
  while (err_.find("counters:", seen) == std::string::npos || err_.find('\n', err_.find("counters:", seen)) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= end) return {};
    err(50ms);
  }
  return counters();
}

std::string pattern(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::optional<std::string> read_to_eof(TcpStream& c, Deadline deadline) {
  std::string got;
  char buf[4096];
  for (;;) {
    auto n = c.read_some(std::as_writable_bytes(std::span(buf)), deadline);
    if (!n) return std::nullopt;
    if (*n == 0) return got;
    got.append(buf, *n);
  }
}

std::optional<std::string> echo_once(std::uint16_t port, const std::string& data, std::chrono::milliseconds timeout) {
  auto dl = Deadline::after(timeout);
  auto c = TcpStream::connect(Address::ipv4_loopback(port), dl);
  if (!c) return std::nullopt;
  std::string got;
  std::thread writer([&] {
    (void)c->write_all(data, dl);
    (void)c->shutdown_write();
  });
  char buf[65536];
  bool ok = true;
  for (;;) {
    auto n = c->read_some(std::as_writable_bytes(std::span(buf)), dl);
    if (!n) {
      ok = false;
      break;
    }
    if (*n == 0) break;
    got.append(buf, *n);
  }
  writer.join();
  if (!ok) return std::nullopt;
  return got;
}

ClientResult run_echo_clients(std::uint16_t port, std::size_t n, std::size_t bytes_each,
                              std::chrono::milliseconds timeout) {
  struct Client {
    int fd = -1;
    std::string out;
    std::size_t sent = 0;
    std::string in;
    bool write_done = false;
    bool done = false;
  };
  ClientResult res;
  std::vector<Client> cs(n);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (std::size_t i = 0; i < n; ++i) {
    auto& c = cs[i];
    c.out = pattern(bytes_each, static_cast<std::uint32_t>(i + 1));
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0 || (::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 && errno != EINPROGRESS)) {
      if (res.first_error.empty()) res.first_error = std::string("connect: ") + std::strerror(errno);
      ++res.failed;
      c.done = true;
    }
  }
  auto end = std::chrono::steady_clock::now() + timeout;
  std::vector<pollfd> pfds;
  std::vector<std::size_t> idx;
  char buf[65536];
  for (;;) {
    pfds.clear();
    idx.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (cs[i].done) continue;
      short ev = POLLIN;
      if (!cs[i].write_done) ev = static_cast<short>(ev | POLLOUT);
      pfds.push_back(pollfd{cs[i].fd, ev, 0});
      idx.push_back(i);
    }
    if (pfds.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      if (res.first_error.empty()) res.first_error = std::to_string(pfds.size()) + " clients timed out";
      res.failed += pfds.size();
      break;
    }
    int rc = ::poll(pfds.data(), pfds.size(), static_cast<int>(std::min<long long>(left, 1000)));
    if (rc <= 0) continue;
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      auto& c = cs[idx[k]];
      short re = pfds[k].revents;
      if (re == 0) continue;
      if ((re & POLLOUT) && !c.write_done) {
        if (c.sent < c.out.size()) {
          ssize_t w = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
          if (w > 0) c.sent += static_cast<std::size_t>(w);
        }
        if (c.sent == c.out.size()) {
          ::shutdown(c.fd, SHUT_WR);
          c.write_done = true;
        }
      }
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.in.append(buf, static_cast<std::size_t>(r));
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          if (r < 0 && res.first_error.empty()) res.first_error = std::string("recv: ") + std::strerror(errno);
          c.done = true;
          if (r == 0 && c.write_done && c.in == c.out) {
            ++res.ok;
          } else if (r == 0) {
            ++res.mismatched;
            if (res.first_error.empty()) {
              res.first_error = "client got " + std::to_string(c.in.size()) + " of " + std::to_string(c.out.size()) +
                                " bytes (sent " + std::to_string(c.sent) + ")";
            }
          } else {
            ++res.failed;
          }
        }
      }
    }
  }
  for (auto& c : cs) {
    if (c.fd >= 0) ::close(c.fd);
  }
  return res;
}

}  // namespace sockit::test
