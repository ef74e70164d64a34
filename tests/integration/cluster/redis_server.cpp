#include "redis_server.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::test {
namespace {

std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool RedisServer::available() { return ::access(kBinary, X_OK) == 0; }

RedisServer::RedisServer(std::vector<std::string> extra) : extra_(std::move(extra)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sockit-redis-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  port_ = free_loopback_port();
}

RedisServer::~RedisServer() {
  kill();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool RedisServer::start() {
  if (dir_.empty() || port_ == 0) return false;
  std::vector<std::string> argv = {kBinary,         "--port",        std::to_string(port_),
                                   "--bind",        "127.0.0.1",     "--save",
                                   "",              "--appendonly",  "no",
                                   "--dir",         dir_,            "--unixsocket",
                                   unix_path(),     "--unixsocketperm", "700",
                                   "--logfile",     dir_ + "/redis.log", "--daemonize", "no"};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  child_.emplace(Child::spawn(argv));
  return wait_until([&] { return accepts(port_) && ::access(unix_path().c_str(), F_OK) == 0; },
                    std::chrono::seconds(10), std::chrono::milliseconds(10));
}

void RedisServer::kill() {
  if (!child_) return;
  child_->signal(SIGKILL);
  (void)child_->wait(std::chrono::seconds(10));
  child_.reset();
}

void RedisServer::signal(int sig) {
  if (child_) child_->signal(sig);
}

void RedisServer::terminate() {
  if (!child_) return;
  child_->signal(SIGCONT);  // a stopped server would not act on SIGTERM
  child_->signal(SIGTERM);
  if (!child_->wait(std::chrono::seconds(10))) {
    child_->signal(SIGKILL);
    (void)child_->wait(std::chrono::seconds(10));
  }
  child_.reset();
}

std::string RedisServer::log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, std::chrono::seconds(10)).out;
}

bool RedisServer::wait_nodes_up(const std::vector<std::string>& names) const {
  std::vector<std::string> args{"EXISTS"};
  for (const auto& n : names) args.push_back("sockit:node:" + n);
  const std::string want = std::to_string(names.size()) + "\n";
  return wait_until([&] { return cli(args) == want; }, std::chrono::seconds(10), std::chrono::milliseconds(20));
}

}  // namespace sockit::test
