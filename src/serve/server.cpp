// Server facade, listeners, limits, shared counters and the rate-limited operator log.
#include "internal.hpp"

#include "sockit/net/io.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <new>

#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::serve {

bool trim_unused_memory() noexcept {
  const struct mallinfo2 mi = ::mallinfo2();  // every arena; small, mmapped chunks apart
  const std::size_t in_use = mi.uordblks + mi.hblkhd;
  if (in_use == 0) return false;  // a sanitizer's allocator: malloc's own arenas are unused
  unsigned long size_pages = 0, resident_pages = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "re");
  if (f == nullptr) return false;
  const bool read = std::fscanf(f, "%lu %lu", &size_pages, &resident_pages) == 2;
  std::fclose(f);
  if (!read) return false;
  const std::size_t resident = resident_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  if (resident <= in_use || resident - in_use <= std::max<std::size_t>(std::size_t{16} << 20, in_use / 4)) return false;
  ::malloc_trim(0);
  return true;
}

SharedStats* SharedStats::create() {
  void* p = ::mmap(nullptr, sizeof(SharedStats), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return new SharedStats();  // fork counters then stay in the child; still correct otherwise
  return new (p) SharedStats();
}

void SharedStats::destroy(SharedStats* s) noexcept {
  if (s == nullptr) return;
  s->~SharedStats();
  ::munmap(s, sizeof(SharedStats));
}

ServerStats SharedStats::snapshot() const {
  ServerStats st;
  st.accepted = accepted.load(std::memory_order_relaxed);
  st.active = active.load(std::memory_order_relaxed);
  st.closed = closed.load(std::memory_order_relaxed);
  st.rejected = rejected.load(std::memory_order_relaxed);
  st.shed = shed.load(std::memory_order_relaxed);
  st.bytes_in = bytes_in.load(std::memory_order_relaxed);
  st.bytes_out = bytes_out.load(std::memory_order_relaxed);
  st.timeouts = timeouts.load(std::memory_order_relaxed);
  st.overflows = overflows.load(std::memory_order_relaxed);
  st.resets = resets.load(std::memory_order_relaxed);
  st.errors = errors.load(std::memory_order_relaxed);
  return st;
}

void SharedStats::count_close(CloseReason r) noexcept {
  closed.fetch_add(1, std::memory_order_relaxed);
  switch (r) {
    case CloseReason::idle_timeout: timeouts.fetch_add(1, std::memory_order_relaxed); break;
    case CloseReason::send_queue_full: overflows.fetch_add(1, std::memory_order_relaxed); break;
    case CloseReason::reset: resets.fetch_add(1, std::memory_order_relaxed); break;
    case CloseReason::error: errors.fetch_add(1, std::memory_order_relaxed); break;
    default: break;
  }
}

void RateLimitedLog::log(const std::string& kind, const std::string& line) {
  if (!sink_) return;
  std::string out;
  {
    std::lock_guard lock(mu_);
    Kind& k = kinds_[kind];
    auto now = std::chrono::steady_clock::now();
    if (k.last != std::chrono::steady_clock::time_point{} && now - k.last < std::chrono::seconds(1)) {
      ++k.suppressed;
      return;
    }
    k.last = now;
    out = line;
    if (k.suppressed > 0) out += " (" + std::to_string(k.suppressed) + " more since the last message)";
    k.suppressed = 0;
  }
  sink_(out);
}

void set_nodelay(int fd) noexcept {
  int one = 1;
  (void)sys::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on AF_UNIX
}

Server::Impl::Impl(ServerOptions opts, SessionFactory factory)
    : opts_(std::move(opts)), factory_(std::move(factory)), stats_(SharedStats::create()), log_(opts_.log) {
  if (opts_.max_conns == 0) {
    rlimit rl{};
    std::size_t limit = 1024;
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) limit = rl.rlim_cur;
    if (rl.rlim_cur == RLIM_INFINITY) limit = 1 << 20;
    // Blocking models with a wake descriptor per connection need two each.
    std::size_t per_conn = (opts_.model == Model::thread || opts_.model == Model::pool) ? 2 : 1;
    max_conns_ = limit > 64 ? (limit - 32) / per_conn : (limit > 16 ? (limit - 16) / per_conn : 1);
  } else {
    max_conns_ = opts_.max_conns;
  }
  threads_ = opts_.threads;
  if (threads_ <= 0) threads_ = opts_.model == Model::pool ? 4 : 1;
  if (opts_.model == Model::iterative) threads_ = 1;
  if (opts_.model == Model::thread || opts_.model == Model::fork) threads_ = 0;
  if (opts_.low_water > opts_.high_water) opts_.low_water = opts_.high_water;
}

Server::Impl::~Impl() { SharedStats::destroy(stats_); }

// A descriptor handed over by socket activation: a listening stream socket of a family we serve.
Result<void> Server::Impl::adopt(Fd fd) {
  int type = 0, listening = 0, domain = 0;
  socklen_t len = sizeof type;
  if (sys::getsockopt(fd.get(), SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
    return Error(sys_error(errno),
                 "server: inherited descriptor " + std::to_string(fd.get()) + " is not a socket");
  }
  len = sizeof listening;
  (void)sys::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
  len = sizeof domain;
  (void)sys::getsockopt(fd.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len);
  if (type != SOCK_STREAM || listening == 0 || (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX)) {
    return Error(errc::invalid_argument, "server: inherited descriptor " + std::to_string(fd.get()) +
                                             " is not a listening TCP or Unix stream socket");
  }
  Address local;
  socklen_t alen = Address::capacity();
  if (sys::getsockname(fd.get(), local.sockaddr_ptr(), &alen) < 0) {
    return Error(sys_error(errno), "server: getsockname");
  }
  local.set_length(alen);
  if (auto r = set_nonblocking(fd.get()); !r) return r;
  if (auto r = set_cloexec(fd.get()); !r) return r;
  locals_.push_back(local);
  listeners_.push_back(std::move(fd));
  return {};
}

Result<void> Server::Impl::bind_all() {
  // Owned from here on, whatever happens below.
  std::vector<Fd> inherited;
  for (int fd : opts_.listen_fds) inherited.emplace_back(fd);
  if (opts_.listen.empty() && inherited.empty()) return Error(errc::invalid_argument, "server: no listen address");
  ListenOptions lo;
  lo.backlog = opts_.backlog;
  lo.reuse_port = false;
  for (const Address& a : opts_.listen) {
    auto l = TcpListener::bind(a, lo);
    if (!l) return std::move(l).error();
    auto local = l->local_address();
    if (!local) return std::move(local).error();
    locals_.push_back(*local);
    Fd fd = l->release();
    if (auto r = set_nonblocking(fd.get()); !r) return r;
    listeners_.push_back(std::move(fd));
  }
  for (Fd& fd : inherited) {
    if (auto r = adopt(std::move(fd)); !r) return r;
  }
  return {};
}

bool Server::Impl::over_limit() {
  return stats_->active.load(std::memory_order_relaxed) >= max_conns_;
}

void Server::Impl::reject(Fd fd, const Address& peer, const std::string& why) {
  stats_->rejected.fetch_add(1, std::memory_order_relaxed);
  send_reject_message(fd.get());
  log_.log(why, why + ": refusing " + peer.to_string());
}

void Server::Impl::send_reject_message(int fd) {
  if (opts_.reject_message.empty()) return;
  (void)sys::send(fd, opts_.reject_message.data(), opts_.reject_message.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  sys::shutdown(fd, SHUT_WR);
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Server>> Server::create(ServerOptions opts, SessionFactory factory) {
  return detail::create_server(std::move(opts), std::move(factory), {});
}

Result<std::unique_ptr<Server>> detail::create_server(ServerOptions opts, SessionFactory factory, Tuning tuning) {
  if (!factory) return Error(errc::invalid_argument, "server: no session factory");
  std::unique_ptr<Server::Impl> impl = is_reactor(opts.model) ? make_reactor_impl(std::move(opts), std::move(factory))
                                                              : make_blocking_impl(std::move(opts), std::move(factory));
  impl->tuning_ = std::move(tuning);
  if (auto r = impl->bind_all(); !r) return std::move(r).error();
  if (auto r = impl->prepare(); !r) return std::move(r).error();
  return ServerAccess::wrap(std::move(impl));
}

std::uint64_t detail::bytes_spliced(const Server& server) { return ServerAccess::impl(server).bytes_spliced(); }

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->stop_now();
  impl_->wait();
}

Result<void> Server::start() { return impl_->start(); }
void Server::stop(std::chrono::nanoseconds drain) { impl_->stop(drain); }
void Server::stop_now() { impl_->stop_now(); }
void Server::wait() { impl_->wait(); }
Result<void> Server::run() { return impl_->run(); }

Result<void> Server::Impl::run() {
  if (auto r = start(); !r) return r;
  sigset_t set;
  sigemptyset(&set);
  for (int s : opts_.signals) sigaddset(&set, s);
  while (!finished()) {
    timespec tick{0, 100'000'000};  // finished() is checked at least this often
    int sig = ::sigtimedwait(&set, nullptr, &tick);
    if (sig > 0 && opts_.on_signal) opts_.on_signal(sig);
  }
  wait();
  return {};
}
bool Server::finished() const { return impl_->finished(); }
const std::vector<Address>& Server::local_addresses() const { return impl_->locals_; }
Model Server::model() const { return impl_->opts_.model; }
std::string_view Server::backend_name() const { return impl_->backend_name(); }
int Server::threads() const { return impl_->threads_; }
std::size_t Server::max_conns() const { return impl_->max_conns_; }
ServerStats Server::stats() const {
  ServerStats st = impl_->stats_->snapshot();
  impl_->add_counters(st);
  return st;
}
loop::EventLoop* Server::event_loop(int index) const { return impl_->loop_at(index); }

}  // namespace sockit::serve
