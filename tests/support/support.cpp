#include "support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace sockit::test {

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);  // a test may leave it read-only
  std::filesystem::remove_all(path, ec);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout, std::chrono::milliseconds step) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(step);
  }
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != self) fds.insert(fd);
  }
  ::closedir(d);
  return fds;
}

FdLeakCheck::FdLeakCheck() : before_(open_fds()) {}
FdLeakCheck::~FdLeakCheck() {
  if (!checked_) expect_no_leak();
}

void FdLeakCheck::expect_no_leak() {
  checked_ = true;
  // Descriptors closed by other threads (a server stopping) may need a moment to go.
  std::vector<int> leaked;
  auto none_leaked = [&] {
    leaked.clear();
    for (int fd : open_fds())
      if (!before_.count(fd)) leaked.push_back(fd);
    return leaked.empty();
  };
  if (wait_until(none_leaked, std::chrono::seconds(1), std::chrono::milliseconds(20))) return;
  std::string list;
  for (int fd : leaked) {
    char target[256] = {};
    std::string link = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    list += " " + std::to_string(fd) + "(" + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?") + ")";
  }
  ADD_FAILURE() << "descriptors leaked:" << list;
}

bool have_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

Child Child::spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    // A test that dies (ASan abort, ctest's timeout kill) must not leave its servers behind:
    // the child gets SIGKILL when the spawning thread's process goes. Spawns happen on the
    // test's main thread, which lives as long as the process.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  Child c;
  c.pid_ = pid;
  c.in_ = in[1];
  c.out_ = out[0];
  c.err_ = err[0];
  return c;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), in_(std::exchange(o.in_, -1)), out_(std::exchange(o.out_, -1)),
      err_(std::exchange(o.err_, -1)), status_(o.status_) {}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  for (int fd : {in_, out_, err_})
    if (fd >= 0) ::close(fd);
}

bool Child::write_stdin(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(in_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void Child::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  wait_until(
      [&] {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return true;
      },
      timeout);
  return status_;
}

namespace {
std::string read_until(int fd, const std::string& needle, std::chrono::milliseconds timeout) {
  std::string out;
  if (fd < 0) return out;
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  for (;;) {
    if (!needle.empty() && out.find(needle) != std::string::npos) return out;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n <= 0) continue;
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return out;
    out.append(buf, static_cast<std::size_t>(r));
  }
}
}  // namespace

std::string Child::read_stdout(std::chrono::milliseconds timeout) { return read_until(out_, "", timeout); }
std::string Child::read_stderr(std::chrono::milliseconds timeout) { return read_until(err_, "", timeout); }
std::string Child::read_stderr_until(const std::string& needle, std::chrono::milliseconds timeout) {
  return read_until(err_, needle, timeout);
}
std::string Child::read_stdout_until(const std::string& needle, std::chrono::milliseconds timeout) {
  return read_until(out_, needle, timeout);
}

void Child::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

RunResult run(const std::vector<std::string>& argv, const std::string& stdin_data, std::chrono::milliseconds timeout) {
  Child c = Child::spawn(argv);
  std::thread writer([&] {
    c.write_stdin(stdin_data);
    c.close_stdin();
  });
  RunResult r;
  std::thread err_reader([&] { r.err = c.read_stderr(timeout); });
  r.out = c.read_stdout(timeout);
  writer.join();
  err_reader.join();
  auto st = c.wait(timeout);
  r.status = st ? *st : -1;
  return r;
}

std::string sockit_bin() {
  if (const char* env = std::getenv("SOCKIT")) return env;
  return SOCKIT_BIN;
}

std::vector<std::byte> datagram_payload(std::uint32_t client, std::uint32_t seq, std::size_t size) {
  std::vector<std::byte> d(size);
  std::array<std::uint32_t, 3> h{client, seq, static_cast<std::uint32_t>(size)};
  if (size > 0) std::memcpy(d.data(), h.data(), std::min(size, sizeof h));
  std::uint32_t x = client * 2654435761u + seq * 40503u + static_cast<std::uint32_t>(size);
  for (std::size_t i = sizeof h; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    d[i] = static_cast<std::byte>(x >> 16);
  }
  return d;
}

}  // namespace sockit::test
