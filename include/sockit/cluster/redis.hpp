// Header of the internal cluster library (not installed: hiredis stays private to it).
// RedisClient: one hiredis async connection driven by a sockit EventLoop (docs/CLUSTER.md).
//
// hiredis 0.14 (Debian's libhiredis) is used through its async API only: the adapter is the five
// hooks addRead/delRead/addWrite/delWrite/cleanup mapped onto EventLoop::watch/update/unwatch, so
// no hiredis call ever waits on the loop thread. A host name in the URL is resolved once, by
// create(), before the loop runs; every later connect goes to that address.
//
// The client reconnects by itself: when the connection is lost (or a connect does not finish within
// connect_timeout, or AUTH is refused), it waits backoff_min, then twice that, ... up to
// backoff_max, and tries again; the wait goes back to backoff_min once a connection is ready.
// After a reconnect it sends AUTH again and re-subscribes to its channels. A command issued while
// the client is not ready is not queued: its callback runs (on a later turn) with a reply of type
// `disconnected`, so a caller never waits on a Redis that is away.
//
// Subscriptions: hiredis puts a connection that SUBSCRIBEs in pub/sub mode, where only
// (UN)SUBSCRIBE and PING are allowed; use one client for commands and another for subscribe().
// Loop thread only; the client must not be destroyed from inside one of its own callbacks.
#pragma once

#include "sockit/loop/event_loop.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::cluster {

/// Where Redis is: `redis://[user:password@]host[:port]` (port 6379 by default; host may be
/// `[v6]`) or `unix:/path/to/redis.sock` (`unix:` URLs carry no credentials: set them apart).
struct RedisUrl {
  std::string host;       ///< empty for a unix socket
  std::uint16_t port = 6379;
  std::string unix_path;  ///< set for unix:
  std::string user;       ///< ACL user (empty: AUTH <password> alone, the `default` user)
  std::string password;   ///< empty: no AUTH
  bool is_unix() const noexcept { return !unix_path.empty(); }
  /// The URL without the password ("redis://user@host:port", "unix:/path"): safe to print.
  std::string display() const;
};

/// Parses a URL as above; nullopt with a reason in `*error` ("--cluster: ..." is the caller's).
std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string* error);

struct RedisReply {
  enum class Type { nil, status, error, integer, string, array, disconnected };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;  ///< status, error and string replies
  std::vector<RedisReply> elements;
  bool ok() const noexcept { return type != Type::error && type != Type::disconnected; }
};

struct RedisOptions {
  RedisUrl url;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  /// A ready connection whose oldest command has had no reply for this long is dropped (its
  /// pending commands answered `disconnected`) and reconnected: a Redis that accepts but never
  /// answers (SIGSTOP, a hung host) holds no caller longer than this. 0: no limit.
  std::chrono::milliseconds command_timeout{3000};
  std::string client_name;  ///< CLIENT SETNAME after connecting (empty: none)
};

struct RedisStats {
  std::uint64_t connects = 0;       ///< connections that became ready (AUTH passed)
  std::uint64_t attempts = 0;       ///< connect attempts
  std::uint64_t disconnects = 0;    ///< ready connections lost
  std::uint64_t commands = 0;       ///< commands sent
  std::uint64_t refused = 0;        ///< commands answered `disconnected` without being sent
  std::uint64_t messages = 0;       ///< pub/sub messages received
  std::uint64_t timeouts = 0;       ///< connections dropped by command_timeout
};

class RedisClient {
 public:
  using ReplyFn = std::function<void(const RedisReply&)>;
  using MessageFn = std::function<void(std::string_view channel, std::string_view payload)>;
  /// up: a connection is ready (after AUTH); down: lost, with the reason (hiredis's errstr or the
  /// server's AUTH error). Called on every change.
  using StateFn = std::function<void(bool up, const std::string& why)>;

  /// Resolves the host (before the loop runs: the one blocking step); errors read like
  /// "resolve nosuch.invalid:6379: Name or service not known".
  static Result<std::unique_ptr<RedisClient>> create(loop::EventLoop& loop, RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Starts connecting (on the loop thread, or before run()).
  void start();
  bool ready() const noexcept { return ready_; }
  /// Sends one command (arguments binary-safe). `fn` (may be empty) runs with the reply, or with
  /// `disconnected` when the client is not ready or the connection drops before the reply.
  void command(const std::vector<std::string>& args, ReplyFn fn = {});
  /// Subscribes to `channel` now if ready and after every reconnect; messages go to on_message.
  void subscribe(const std::string& channel);
  /// Whether every channel given to subscribe() is confirmed on the current connection.
  bool subscribed() const noexcept { return ready_ && !channels_.empty() && subscribed_ >= channels_.size(); }
  /// Called when every channel is confirmed (subscribed() turns true), after each reconnection too.
  void set_on_subscribed(std::function<void()> fn) { on_subscribed_ = std::move(fn); }
  void set_on_message(MessageFn fn) { on_message_ = std::move(fn); }
  void set_on_state(StateFn fn) { on_state_ = std::move(fn); }
  const RedisStats& stats() const noexcept { return stats_; }
  const RedisOptions& options() const noexcept { return options_; }
  /// Drops the connection now (if any) as if it was lost with `why`: pending commands are answered
  /// `disconnected`, the state callback hears it, and a reconnect follows with backoff.
  void drop(const std::string& why);
  /// The wait before the next connect attempt (for tests and logs).
  std::chrono::milliseconds next_backoff() const noexcept { return backoff_; }

  struct Impl;  // the hiredis side (src/cluster/redis.cpp)

 private:
  RedisClient(loop::EventLoop& loop, RedisOptions options, std::string ip);
  void connect();
  void lost(const std::string& why);
  void schedule_reconnect();
  void became_ready();
  void send_subscribe(const std::string& channel);
  void watchdog();


  loop::EventLoop& loop_;
  RedisOptions options_;
  std::string ip_;  ///< the resolved host (TCP)
  void* ac_ = nullptr;  ///< redisAsyncContext*
  int fd_ = -1;         ///< watched descriptor (-1: none)
  loop::Interest interest_ = loop::Interest::none;
  bool ready_ = false;
  bool closing_ = false;
  bool started_ = false;
  std::chrono::milliseconds backoff_;
  loop::TimerId reconnect_timer_{};
  loop::TimerId connect_timer_{};
  bool reconnect_pending_ = false;
  bool connect_pending_ = false;
  std::uint64_t generation_ = 0;  ///< bumped per context: stale timers and callbacks see it
  std::deque<loop::TimePoint> inflight_;  ///< when each command awaiting its reply was sent (FIFO)
  loop::TimerId watchdog_timer_{};
  bool watchdog_set_ = false;
  std::vector<std::string> channels_;
  std::size_t subscribed_ = 0;  ///< channels the server confirmed on this connection
  MessageFn on_message_;
  std::function<void()> on_subscribed_;
  StateFn on_state_;
  RedisStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sockit::cluster
