// RedisClient: hiredis's async API on sockit's EventLoop (see include/sockit/cluster/redis.hpp).
#include "sockit/cluster/redis.hpp"

#include "sockit/net/address.hpp"
#include "sockit/net/resolver.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <utility>

namespace sockit::cluster {

// ---- URLs -------------------------------------------------------------------------------------

std::string RedisUrl::display() const {
  if (is_unix()) return "unix:" + unix_path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "redis://" + (user.empty() ? std::string() : user + "@") + h + ":" + std::to_string(port);
}

namespace {

bool fail_url(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

// %XX escapes in user and password (a password may hold '@' or ':').
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    unsigned v = 0;
    auto r = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
    if (r.ec != std::errc() || r.ptr != in.data() + i + 3) return false;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return true;
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string* error) {
  RedisUrl u;
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // unix:///path
    if (path.empty() || path.front() != '/') {
      fail_url(error, "'" + std::string(text) + "': a unix: URL needs an absolute path (unix:/run/redis/redis.sock)");
      return std::nullopt;
    }
    u.unix_path = std::string(path);
    return u;
  }
  if (!text.starts_with("redis://")) {
    fail_url(error, "'" + std::string(text) +
                        "': not a Redis URL (expected redis://[user:password@]host[:port] or unix:/path)");
    return std::nullopt;
  }
  std::string_view rest = text.substr(8);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && db != "0") {
      fail_url(error, "'" + std::string(text) + "': database numbers are not supported (the cluster uses db 0)");
      return std::nullopt;
    }
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = cred, pass;
    if (auto colon = cred.find(':'); colon != std::string_view::npos) {
      user = cred.substr(0, colon);
      pass = cred.substr(colon + 1);
    } else {
      // redis://password@host is ambiguous; like redis-cli, a lone credential is the password.
      pass = cred;
      user = {};
    }
    if (!percent_decode(user, u.user) || !percent_decode(pass, u.password)) {
      fail_url(error, "bad %-escape in the credentials of the Redis URL (write '%40' for '@', '%25' for '%')");
      return std::nullopt;
    }
    if (!u.user.empty() && u.password.empty()) {
      fail_url(error, "ACL user '" + u.user + "' without a password (redis://user:password@host:port)");
      return std::nullopt;
    }
  }
  std::string_view host = rest, port;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) {
      fail_url(error, "'" + std::string(rest) + "': unclosed '[' in an IPv6 host");
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail_url(error, "'" + std::string(rest) + "': expected ':port' after ']'");
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      fail_url(error, "'" + std::string(rest) + "': an IPv6 host goes in brackets (redis://[::1]:6379)");
      return std::nullopt;
    }
  }
  if (host.empty()) {
    fail_url(error, "'" + std::string(text.substr(0, 8)) + "...': no host");
    return std::nullopt;
  }
  u.host = std::string(host);
  if (!port.empty() || rest.ends_with(':')) {
    unsigned v = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535) {
      fail_url(error, "'" + std::string(port) + "': not a port (1-65535)");
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(v);
  }
  return u;
}

// ---- hiredis glue -----------------------------------------------------------------------------

namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  if (r == nullptr) {
    out.type = RedisReply::Type::disconnected;
    out.str = "connection lost";
    return out;
  }
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::string; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::status; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::error; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::integer; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = RedisReply::Type::nil; break;
  }
  return out;
}

redisAsyncContext* ctx(void* p) { return static_cast<redisAsyncContext*>(p); }

}  // namespace

// Private access for the C callbacks below.
struct RedisClient::Impl {
  struct Pending {
    RedisClient* client;
    std::uint64_t generation;
    ReplyFn fn;
  };

  static void update(RedisClient* c, loop::Interest add, loop::Interest del) {
    if (c->fd_ < 0) return;
    loop::Interest next = (c->interest_ | add) & ~del;
    if (next == c->interest_) return;
    c->interest_ = next;
    (void)c->loop_.update(c->fd_, next);
  }
  static void add_read(void* p) { update(static_cast<RedisClient*>(p), loop::Interest::read, loop::Interest::none); }
  static void del_read(void* p) { update(static_cast<RedisClient*>(p), loop::Interest::none, loop::Interest::read); }
  static void add_write(void* p) { update(static_cast<RedisClient*>(p), loop::Interest::write, loop::Interest::none); }
  static void del_write(void* p) { update(static_cast<RedisClient*>(p), loop::Interest::none, loop::Interest::write); }
  // Called by hiredis before it closes the descriptor (possibly twice in 0.14: idempotent).
  static void cleanup(void* p) {
    auto* c = static_cast<RedisClient*>(p);
    if (c->fd_ >= 0) c->loop_.unwatch(c->fd_);
    c->fd_ = -1;
    c->interest_ = loop::Interest::none;
  }

  static void on_connect(const redisAsyncContext* ac, int status) {
    auto* c = static_cast<RedisClient*>(ac->data);
    if (c == nullptr || c->closing_) return;
    if (status != REDIS_OK) {
      // hiredis frees the context after this callback.
      std::string why = ac->errstr[0] ? ac->errstr : "connect failed";
      c->ac_ = nullptr;
      c->lost(why);
      return;
    }
    // Connected: AUTH (if any), then ready.
    auto* a = const_cast<redisAsyncContext*>(ac);
    const RedisUrl& u = c->options_.url;
    std::vector<std::string> args;
    if (!u.password.empty()) {
      args = {"AUTH"};
      if (!u.user.empty()) args.push_back(u.user);
      args.push_back(u.password);
    } else {
      args = {"PING"};
    }
    send(c, a, args, [c, gen = c->generation_](const RedisReply& r) {
      if (gen != c->generation_ || c->closing_) return;
      if (r.type == RedisReply::Type::disconnected) return;  // lost() already ran
      if (!r.ok()) {
        c->lost((r.str.starts_with("NOAUTH") || r.str.starts_with("WRONGPASS") || r.str.starts_with("ERR")
                     ? "AUTH refused: "
                     : "") +
                r.str);
        if (c->ac_ != nullptr) {
          // Still connected: drop it (its disconnect callback is ignored: generation moved).
          void* old = c->ac_;
          c->ac_ = nullptr;
          redisAsyncDisconnect(ctx(old));
        }
        return;
      }
      c->became_ready();
    });
  }

  static void on_disconnect(const redisAsyncContext* ac, int status) {
    auto* c = static_cast<RedisClient*>(ac->data);
    if (c == nullptr || c->closing_) return;
    if (c->ac_ != ac) return;  // a context we already gave up
    c->ac_ = nullptr;
    c->lost(status == REDIS_OK ? std::string("disconnected") : std::string(ac->errstr[0] ? ac->errstr : "connection lost"));
  }

  static void on_reply(redisAsyncContext*, void* reply, void* privdata) {
    auto* p = static_cast<Pending*>(privdata);
    RedisClient* c = p->client;
    if (!c->closing_ && p->generation == c->generation_ && !c->inflight_.empty()) c->inflight_.pop_front();
    if (!c->closing_ && p->fn) p->fn(convert(static_cast<redisReply*>(reply)));
    delete p;
  }

  // Pub/sub: called for the subscribe confirmation and every message of the channel.
  static void on_sub(redisAsyncContext*, void* reply, void* privdata) {
    auto* c = static_cast<RedisClient*>(privdata);
    auto* r = static_cast<redisReply*>(reply);
    if (c->closing_ || r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    std::string_view kind(r->element[0]->str ? r->element[0]->str : "", r->element[0]->len);
    if (kind == "subscribe" && r->element[2]->type == REDIS_REPLY_INTEGER) {
      c->subscribed_ = static_cast<std::size_t>(r->element[2]->integer);
      if (c->subscribed() && c->on_subscribed_) c->on_subscribed_();
      return;
    }
    if (kind != "message") return;
    ++c->stats_.messages;
    if (c->on_message_) {
      c->on_message_(std::string_view(r->element[1]->str, r->element[1]->len),
                     std::string_view(r->element[2]->str, r->element[2]->len));
    }
  }

  static bool send(RedisClient* c, redisAsyncContext* ac, const std::vector<std::string>& args, ReplyFn fn) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* p = new Pending{c, c->generation_, std::move(fn)};
    if (redisAsyncCommandArgv(ac, on_reply, p, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
      delete p;
      return false;
    }
    ++c->stats_.commands;
    c->inflight_.push_back(c->loop_.now());
    return true;
  }

  static void on_io(RedisClient* c, const loop::Ready& r) {
    // A read may end in a disconnect that frees the context (ac_ becomes null): check between.
    if (r.readable && c->ac_ != nullptr) redisAsyncHandleRead(ctx(c->ac_));
    if (r.writable && c->ac_ != nullptr) redisAsyncHandleWrite(ctx(c->ac_));
  }
};

Result<std::unique_ptr<RedisClient>> RedisClient::create(loop::EventLoop& loop, RedisOptions options) {
  std::string ip;
  if (!options.url.is_unix()) {
    auto numeric = Address::from_ip(options.url.host, options.url.port);
    if (numeric) {
      ip = options.url.host;
    } else {
      auto addrs = Resolver::resolve(options.url.host, std::to_string(options.url.port));
      if (!addrs) return addrs.error();
      ip = addrs.value().front().ip_string();
    }
  }
  return std::unique_ptr<RedisClient>(new RedisClient(loop, std::move(options), std::move(ip)));
}

RedisClient::RedisClient(loop::EventLoop& loop, RedisOptions options, std::string ip)
    : loop_(loop), options_(std::move(options)), ip_(std::move(ip)), backoff_(options_.backoff_min) {}

RedisClient::~RedisClient() {
  closing_ = true;
  *alive_ = false;
  if (reconnect_pending_) loop_.cancel(reconnect_timer_);
  if (connect_pending_) loop_.cancel(connect_timer_);
  if (watchdog_set_) loop_.cancel(watchdog_timer_);
  if (ac_ != nullptr) {
    void* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ctx(ac));  // runs pending callbacks with no reply (ignored: closing_)
  }
}

void RedisClient::start() {
  if (started_) return;
  started_ = true;
  connect();
}

void RedisClient::connect() {
  ++generation_;
  ++stats_.attempts;
  const RedisUrl& u = options_.url;
  redisAsyncContext* ac = u.is_unix() ? redisAsyncConnectUnix(u.unix_path.c_str())
                                      : redisAsyncConnect(ip_.c_str(), u.port);
  if (ac == nullptr) {
    lost("out of memory");
    return;
  }
  if (ac->err) {
    std::string why = ac->errstr;
    redisAsyncFree(ac);
    lost(why);
    return;
  }
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = Impl::add_read;
  ac->ev.delRead = Impl::del_read;
  ac->ev.addWrite = Impl::add_write;
  ac->ev.delWrite = Impl::del_write;
  ac->ev.cleanup = Impl::cleanup;
  redisAsyncSetConnectCallback(ac, Impl::on_connect);
  redisAsyncSetDisconnectCallback(ac, Impl::on_disconnect);
  fd_ = ac->c.fd;
  interest_ = loop::Interest::read_write;
  if (auto w = loop_.watch(fd_, interest_, [this](const loop::Ready& r) { Impl::on_io(this, r); }); !w) {
    fd_ = -1;
    redisAsyncFree(ac);
    lost(w.error().message());
    return;
  }
  ac_ = ac;
  connect_pending_ = true;
  connect_timer_ = loop_.run_after(options_.connect_timeout, [this, gen = generation_] {
    connect_pending_ = false;
    if (gen != generation_ || ready_ || ac_ == nullptr) return;
    drop("connect timed out");
  });
}

void RedisClient::lost(const std::string& why) {
  ++generation_;  // replies and timers of the old context are stale from now on
  if (connect_pending_) {
    loop_.cancel(connect_timer_);
    connect_pending_ = false;
  }
  bool was_ready = ready_;
  ready_ = false;
  inflight_.clear();
  subscribed_ = 0;
  if (was_ready) ++stats_.disconnects;
  if (on_state_) on_state_(false, why);
  schedule_reconnect();
}

void RedisClient::schedule_reconnect() {
  if (closing_ || reconnect_pending_) return;
  reconnect_pending_ = true;
  auto wait = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  reconnect_timer_ = loop_.run_after(wait, [this] {
    reconnect_pending_ = false;
    if (closing_ || ac_ != nullptr) return;
    connect();
  });
}

void RedisClient::became_ready() {
  if (connect_pending_) {
    loop_.cancel(connect_timer_);
    connect_pending_ = false;
  }
  ready_ = true;
  backoff_ = options_.backoff_min;
  ++stats_.connects;
  if (!watchdog_set_ && options_.command_timeout.count() > 0) {
    watchdog_set_ = true;
    watchdog_timer_ = loop_.run_every(std::clamp(options_.command_timeout / 4, std::chrono::milliseconds(20),
                                                 std::chrono::milliseconds(500)),
                                      [this] { watchdog(); });
  }
  if (!options_.client_name.empty()) command({"CLIENT", "SETNAME", options_.client_name});
  for (const auto& ch : channels_) send_subscribe(ch);
  if (on_state_) on_state_(true, "connected to " + options_.url.display());
}

// A ready connection whose oldest command waits longer than command_timeout is dropped: every
// pending callback hears `disconnected`, and the reconnect (with backoff) starts.
void RedisClient::watchdog() {
  if (!ready_ || ac_ == nullptr || inflight_.empty()) return;
  if (loop_.now() - inflight_.front() < options_.command_timeout) return;
  ++stats_.timeouts;
  drop("no reply in " + std::to_string(options_.command_timeout.count()) + " ms");
}

void RedisClient::drop(const std::string& why) {
  if (ac_ == nullptr) return;
  void* old = ac_;
  ac_ = nullptr;
  lost(why);                // a new generation first: the callbacks freed below are stale
  redisAsyncFree(ctx(old)); // answers the pending commands `disconnected`
}

void RedisClient::command(const std::vector<std::string>& args, ReplyFn fn) {
  if (!ready_ || ac_ == nullptr || !Impl::send(this, ctx(ac_), args, fn)) {
    ++stats_.refused;
    if (fn) {
      loop_.post([fn = std::move(fn), alive = alive_] {
        if (*alive) fn(convert(nullptr));
      });
    }
  }
}

void RedisClient::send_subscribe(const std::string& channel) {
  const char* argv[] = {"SUBSCRIBE", channel.data()};
  const std::size_t lens[] = {9, channel.size()};
  if (redisAsyncCommandArgv(ctx(ac_), Impl::on_sub, this, 2, argv, lens) == REDIS_OK) ++stats_.commands;
}

void RedisClient::subscribe(const std::string& channel) {
  if (std::find(channels_.begin(), channels_.end(), channel) != channels_.end()) return;
  channels_.push_back(channel);
  if (ready_ && ac_ != nullptr) send_subscribe(channel);
}

}  // namespace sockit::cluster
