// Header of the internal cluster library. cluster::Node: this chat-server process as a member of a
// network of nodes joined through one Redis (docs/CLUSTER.md).
//
// A node announces itself with a heartbeat: every `heartbeat` it sets `sockit:node:<name>` (value:
// "<instance> users=N started=UNIX server=NAME") with a TTL of `ttl` and adds its name to the set
// `sockit:nodes`, in one Lua script that refuses a key held by another live instance (two processes
// given the same --node-name: the second logs it and stays out of the view). A node that stops
// refreshing (SIGKILL, cut off) leaves the view when its key expires: within `ttl`.
// After each heartbeat it reads the live nodes (another script: the set's members whose key still
// exists; the dead are removed from the set), which nodes() returns: at most one heartbeat stale.
#pragma once

#include "sockit/cluster/redis.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sockit::cluster {

struct NodeInfo {
  std::string name;
  std::string server_name;  ///< its IRC server name
  std::uint64_t users = 0;  ///< registered users at its last heartbeat
  std::int64_t started = 0; ///< Unix time
  bool self = false;
};

struct NodeOptions {
  RedisOptions redis;
  std::string name;         ///< --node-name: [A-Za-z0-9._-], 1-63 characters
  std::string server_name;  ///< shown in the view
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds ttl{5000};
};

/// True for a usable node name; otherwise `*why` says what is wrong.
bool valid_node_name(std::string_view name, std::string* why);

/// The live nodes: one script call. `fn` gets nullopt-like `ok == false` with the reason when Redis
/// does not answer.
void fetch_nodes(RedisClient& redis, std::function<void(bool ok, std::vector<NodeInfo> nodes, std::string why)> fn);

class Node {
 public:
  static Result<std::unique_ptr<Node>> create(loop::EventLoop& loop, NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Connects and starts the heartbeat. `users` is read at each heartbeat (loop thread);
  /// `on_state` (may be empty) hears the Redis connection come and go (for the log).
  void start(std::function<std::uint64_t()> users, RedisClient::StateFn on_state = {});
  /// Another listener of the command connection's state (after on_state; the link's degraded mode).
  void add_state_listener(RedisClient::StateFn fn) { listeners_.push_back(std::move(fn)); }
  /// Called when a heartbeat finds this node's key gone though it had set it before: expired
  /// (the node was cut off or stopped longer than the TTL, so it may have been reaped) or Redis
  /// restarted. The link resyncs (claims its users again and publishes them).
  void set_on_expired(std::function<void()> fn) { on_expired_ = std::move(fn); }
  const std::vector<NodeInfo>& nodes() const noexcept { return nodes_; }
  const NodeOptions& options() const noexcept { return options_; }
  bool ready() const noexcept { return redis_->ready(); }
  /// False while another live process holds this node's name.
  bool owns_name() const noexcept { return owns_name_; }
  std::uint64_t heartbeats() const noexcept { return heartbeats_; }
  RedisClient& redis() noexcept { return *redis_; }
  /// The second connection, for SUBSCRIBE only (pub/sub mode); started with the first.
  RedisClient& subscriber() noexcept { return *sub_; }
  loop::EventLoop& loop() noexcept { return loop_; }
  /// 64 random bits (hex) drawn at start: tells this process from an earlier one of the same name.
  const std::string& instance() const noexcept { return instance_; }

 private:
  Node(loop::EventLoop& loop, NodeOptions options, std::unique_ptr<RedisClient> redis,
       std::unique_ptr<RedisClient> subscriber);
  void beat();

  loop::EventLoop& loop_;
  NodeOptions options_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<RedisClient> sub_;
  std::string instance_;
  std::int64_t started_ = 0;
  std::function<std::uint64_t()> users_;
  std::vector<RedisClient::StateFn> listeners_;
  std::function<void()> on_expired_;
  std::vector<NodeInfo> nodes_;
  bool owns_name_ = true;
  std::uint64_t heartbeats_ = 0;
  loop::TimerId timer_{};
  bool timer_set_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sockit::cluster
