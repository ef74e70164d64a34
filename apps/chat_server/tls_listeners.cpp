// `sockit chat-server`'s TLS listeners: see tls_listeners.hpp.
#include "chat_server/tls_listeners.hpp"

#include "common/log.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/transport.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <sys/socket.h>

namespace sockit::chat_server {

namespace {

// Client certificate fingerprints seen by the verify callback, by descriptor, until the
// connection's ListenerTransport takes its own (the callback only has the SSL object).
std::mutex g_seen_mu;
std::unordered_map<int, std::string> g_seen;

std::string hex_sha256(X509* x) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(x, EVP_sha256(), md.data(), &len) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

// Any client certificate is accepted (CertFP: self-signed ones are the rule); its fingerprint
// is kept. Without one the handshake goes on as well (requested, not required).
int record_client_cert(int /*preverify_ok*/, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (ssl != nullptr && leaf != nullptr) {
    std::string fp = hex_sha256(leaf);
    std::lock_guard g(g_seen_mu);
    g_seen[SSL_get_fd(ssl)] = std::move(fp);
  }
  return 1;
}

std::string take_seen(int fd) {
  std::lock_guard g(g_seen_mu);
  auto it = g_seen.find(fd);
  if (it == g_seen.end()) return {};
  std::string fp = std::move(it->second);
  g_seen.erase(it);
  return fp;
}

Result<tls::Context> server_context(const TlsListen& spec) {
  tls::ContextOptions o;
  o.role = tls::Role::server;
  o.cert_file = spec.cert;
  o.key_file = spec.key;
  o.verify = false;
  auto ctx = tls::Context::create(o);
  if (!ctx) return ctx;
  SSL_CTX_set_verify(ctx->native(), SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, &record_client_cert);
  // Required with SSL_VERIFY_PEER for a resumed session to be accepted.
  static constexpr unsigned char kSessionContext[] = "sockit-chat-server";
  SSL_CTX_set_session_id_context(ctx->native(), kSessionContext, sizeof(kSessionContext) - 1);
  return ctx;
}

Address socket_address(int fd, bool peer) {
  Address a;
  socklen_t len = Address::capacity();
  int rc = peer ? ::getpeername(fd, a.sockaddr_ptr(), &len) : ::getsockname(fd, a.sockaddr_ptr(), &len);
  if (rc != 0) return Address();
  a.set_length(len);
  return a;
}

bool wildcard(const Address& a) { return a.ip_string() == "0.0.0.0" || a.ip_string() == "::"; }

std::string connection_key(const Address& remote, std::uint16_t local_port) {
  return remote.to_string() + "|" + std::to_string(local_port);
}

}  // namespace

struct TlsListeners::Shared {
  struct Entry {
    TlsListen spec;
    tls::Context ctx;
    std::optional<Address> bound;
  };
  mutable std::mutex mu;
  std::vector<Entry> entries;
  tls::TransportOptions transport;  // handshake_timeout; counts -> `counts`
  tls::HandshakeCounts counts;
  std::map<std::string, std::string> certfp;  // connection_key -> fingerprint, live TLS connections

  /// The listener `local` belongs to, if it is a TLS one.
  const Entry* find(const Address& local) const {
    for (const Entry& e : entries) {
      if (e.bound && e.bound->port() == local.port() && (wildcard(*e.bound) || e.bound->ip_string() == local.ip_string())) {
        return &e;
      }
    }
    return nullptr;
  }
};

namespace {

// The plain socket or TLS, decided on the first handshake() from the socket's local address.
class ListenerTransport final : public loop::Transport {
 public:
  explicit ListenerTransport(std::shared_ptr<TlsListeners::Shared> s) : shared_(std::move(s)) {}
  ~ListenerTransport() override {
    if (fd_ < 0) return;
    (void)take_seen(fd_);
    if (!key_.empty()) {
      std::lock_guard g(shared_->mu);
      shared_->certfp.erase(key_);
    }
  }
  ListenerTransport(const ListenerTransport&) = delete;
  ListenerTransport& operator=(const ListenerTransport&) = delete;

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override {
    return tls_ ? tls_->read(fd, buf) : loop::PlainTransport::do_read(fd, buf);
  }
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override {
    return tls_ ? tls_->write(fd, bytes) : loop::PlainTransport::do_write(fd, bytes);
  }
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override {
    return tls_ ? tls_->writev(fd, iov, n) : loop::PlainTransport::do_writev(fd, iov, n);
  }
  int shutdown_write(int fd) noexcept override {
    return tls_ ? tls_->shutdown_write(fd) : loop::PlainTransport::do_shutdown_write(fd);
  }
  bool handshake(int fd) noexcept override {
    if (fd_ < 0) {
      // The first call comes from Connection::start(): a TLS connection only says what it waits
      // for (the ClientHello), its handshake runs from the first readiness event on.
      fd_ = fd;
      (void)take_seen(fd);  // a stale entry of an earlier connection on this descriptor
      if (decide(fd)) return false;
    }
    if (!tls_) return true;
    if (!tls_->handshake(fd)) {
      if (tls_->failure() != 0) log_failure(fd);
      return false;
    }
    if (key_.empty()) remember_certfp(fd);
    return true;
  }
  int failure() const noexcept override { return tls_ ? tls_->failure() : 0; }
  std::chrono::nanoseconds handshake_timeout() const noexcept override {
    if (fd_ < 0) {  // not known yet: TLS's limit (a reload may change it meanwhile)
      std::lock_guard g(shared_->mu);
      return shared_->transport.handshake_timeout;
    }
    return tls_ ? tls_->handshake_timeout() : std::chrono::nanoseconds::zero();
  }
  void handshake_expired() noexcept override {
    if (tls_) tls_->handshake_expired();
  }
  loop::Want wants() const noexcept override { return tls_ ? tls_->wants() : loop::Want::none; }
  std::size_t pending_input() const noexcept override { return tls_ ? tls_->pending_input() : 0; }
  std::size_t pending_output() const noexcept override { return tls_ ? tls_->pending_output() : 0; }
  ssize_t flush(int fd) noexcept override { return tls_ ? tls_->flush(fd) : 0; }
  bool drains_on_short_io() const noexcept override { return !tls_; }

 private:
  /// True (and tls_ set) when `fd` came through a TLS listener.
  bool decide(int fd) noexcept {
    try {
      Address local = socket_address(fd, false);
      std::lock_guard g(shared_->mu);
      const TlsListeners::Shared::Entry* e = shared_->find(local);
      if (e == nullptr) return false;
      tls_ = std::make_unique<tls::Transport>(e->ctx, shared_->transport);
      port_ = local.port();
      return true;
    } catch (...) {
      return false;
    }
  }
  // A failed handshake at debug, like the core's refusals (a flood of them must not flood the
  // log): the peer and OpenSSL's reason, never key material.
  void log_failure(int fd) noexcept {
    try {
      if (!log::enabled(log::Level::debug)) return;
      log::debug("TLS handshake failed", {{"ip", socket_address(fd, true).to_string()},
                                          {"listener", std::to_string(port_)},
                                          {"reason", tls_->failure_text()}});
    } catch (...) {  // std::bad_alloc: the line is lost, the close is not
    }
  }
  void remember_certfp(int fd) noexcept {
    try {
      std::string fp = take_seen(fd);
      key_ = connection_key(socket_address(fd, true), port_);
      std::lock_guard g(shared_->mu);
      shared_->certfp[key_] = std::move(fp);
    } catch (...) {
      key_.clear();
    }
  }

  std::shared_ptr<TlsListeners::Shared> shared_;
  std::unique_ptr<tls::Transport> tls_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string key_;  // in shared_->certfp once the handshake is done
};

}  // namespace

TlsListeners::TlsListeners() : shared_(std::make_shared<Shared>()) { shared_->transport.counts = &shared_->counts; }

void TlsListeners::set_handshake_timeout(std::chrono::nanoseconds limit) {
  std::lock_guard g(shared_->mu);
  shared_->transport.handshake_timeout = limit;
}

TlsListeners::Counts TlsListeners::counts() const {
  const tls::HandshakeCounts& c = shared_->counts;
  return {c.ok.load(std::memory_order_relaxed), c.failed.load(std::memory_order_relaxed),
          c.timed_out.load(std::memory_order_relaxed)};
}
TlsListeners::~TlsListeners() = default;

bool TlsListeners::load(const std::vector<TlsListen>& specs, std::string& error) {
  std::vector<Shared::Entry> entries;
  for (const TlsListen& s : specs) {
    auto ctx = server_context(s);
    if (!ctx) {
      error = ctx.error().message();
      return false;
    }
    entries.push_back({s, std::move(*ctx), std::nullopt});
  }
  std::lock_guard g(shared_->mu);
  shared_->entries = std::move(entries);
  return true;
}

bool TlsListeners::empty() const {
  std::lock_guard g(shared_->mu);
  return shared_->entries.empty();
}

void TlsListeners::set_bound(const std::vector<Address>& bound) {
  std::lock_guard g(shared_->mu);
  for (std::size_t i = 0; i < shared_->entries.size() && i < bound.size(); ++i) shared_->entries[i].bound = bound[i];
}

std::string TlsListeners::reload() {
  std::vector<TlsListen> specs;
  {
    std::lock_guard g(shared_->mu);
    for (const auto& e : shared_->entries) specs.push_back(e.spec);
  }
  std::vector<tls::Context> fresh;
  for (const TlsListen& s : specs) {
    auto ctx = server_context(s);
    if (!ctx) return ctx.error().message();
    fresh.push_back(std::move(*ctx));
  }
  std::lock_guard g(shared_->mu);
  for (std::size_t i = 0; i < fresh.size() && i < shared_->entries.size(); ++i) shared_->entries[i].ctx = std::move(fresh[i]);
  return {};
}

loop::TransportFactory TlsListeners::factory() const {
  return [s = shared_]() -> std::unique_ptr<loop::Transport> { return std::make_unique<ListenerTransport>(s); };
}

irc::ConnectionSecurity TlsListeners::lookup(serve::Peer& peer) const {
  irc::ConnectionSecurity sec;
  const Address& local = peer.local();
  std::lock_guard g(shared_->mu);
  if (shared_->find(local) == nullptr) return sec;
  sec.tls = true;
  auto it = shared_->certfp.find(connection_key(peer.remote(), local.port()));
  if (it != shared_->certfp.end()) sec.certfp = it->second;
  return sec;
}

}  // namespace sockit::chat_server
