// cluster::Node: heartbeat and the view of live nodes (include/sockit/cluster/node.hpp).
#include "sockit/cluster/node.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <random>

namespace sockit::cluster {
namespace {

constexpr char kNodesKey[] = "sockit:nodes";
constexpr char kNodePrefix[] = "sockit:node:";

// KEYS[1] node key, KEYS[2] node set; ARGV: instance, rest of the value, ttl ms, name.
// 0: another instance holds the name; 1: refreshed; 2: the key had expired (or Redis restarted).
constexpr char kHeartbeat[] = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
if cur then return 1 end
return 2
)lua";

// KEYS[1] node set; ARGV[1] key prefix. Returns name, value, name, value... of the live nodes.
constexpr char kLiveNodes[] = R"lua(
local out = {}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. n)
  if v then out[#out + 1] = n; out[#out + 1] = v else redis.call('SREM', KEYS[1], n) end
end
return out
)lua";

NodeInfo parse_node(std::string name, std::string_view value) {
  NodeInfo n;
  n.name = std::move(name);
  while (!value.empty()) {
    auto sp = value.find(' ');
    std::string_view word = value.substr(0, sp);
    value = sp == std::string_view::npos ? std::string_view() : value.substr(sp + 1);
    auto eq = word.find('=');
    if (eq == std::string_view::npos) continue;  // the instance id
    std::string_view k = word.substr(0, eq), v = word.substr(eq + 1);
    if (k == "users") std::from_chars(v.data(), v.data() + v.size(), n.users);
    if (k == "started") std::from_chars(v.data(), v.data() + v.size(), n.started);
    if (k == "server") n.server_name = std::string(v);
  }
  return n;
}

}  // namespace

bool valid_node_name(std::string_view name, std::string* why) {
  if (name.empty() || name.size() > 63) {
    if (why) *why = "a node name has 1 to 63 characters";
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) {
      if (why) *why = "'" + std::string(name) + "': a node name holds only letters, digits, '.', '-' and '_'";
      return false;
    }
  }
  return true;
}

void fetch_nodes(RedisClient& redis, std::function<void(bool, std::vector<NodeInfo>, std::string)> fn) {
  redis.command({"EVAL", kLiveNodes, "1", kNodesKey, kNodePrefix}, [fn = std::move(fn)](const RedisReply& r) {
    if (r.type != RedisReply::Type::array) {
      fn(false, {}, r.str.empty() ? std::string("unexpected reply") : r.str);
      return;
    }
    std::vector<NodeInfo> nodes;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) nodes.push_back(parse_node(r.elements[i].str, r.elements[i + 1].str));
    std::sort(nodes.begin(), nodes.end(), [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
    fn(true, std::move(nodes), {});
  });
}

Result<std::unique_ptr<Node>> Node::create(loop::EventLoop& loop, NodeOptions options) {
  if (options.redis.client_name.empty()) options.redis.client_name = "sockit-node-" + options.name;
  auto r = RedisClient::create(loop, options.redis);
  if (!r) return r.error();
  RedisOptions so = options.redis;
  so.client_name += "-sub";
  auto sub = RedisClient::create(loop, so);
  if (!sub) return sub.error();
  return std::unique_ptr<Node>(new Node(loop, std::move(options), std::move(r).value(), std::move(sub).value()));
}

Node::Node(loop::EventLoop& loop, NodeOptions options, std::unique_ptr<RedisClient> redis,
           std::unique_ptr<RedisClient> subscriber)
    : loop_(loop), options_(std::move(options)), redis_(std::move(redis)), sub_(std::move(subscriber)) {
  std::random_device rd;
  std::uniform_int_distribution<std::uint64_t> dist;
  char buf[17];
  std::uint64_t v = dist(rd);
  for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
  buf[16] = '\0';
  instance_ = buf;
  started_ = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Node::~Node() {
  *alive_ = false;
  if (timer_set_) loop_.cancel(timer_);
}

void Node::start(std::function<std::uint64_t()> users, RedisClient::StateFn on_state) {
  users_ = std::move(users);
  redis_->set_on_state([this, on_state = std::move(on_state)](bool up, const std::string& why) {
    if (on_state) on_state(up, why);
    if (up) beat();  // at once, not a heartbeat later
    for (auto& l : listeners_) l(up, why);
  });
  redis_->start();
  sub_->start();
  timer_ = loop_.run_every(options_.heartbeat, [this] { beat(); });
  timer_set_ = true;
}

void Node::beat() {
  if (!redis_->ready()) return;
  const std::string value = "users=" + std::to_string(users_ ? users_() : 0) + " started=" + std::to_string(started_) +
                            " server=" + options_.server_name;
  redis_->command({"EVAL", kHeartbeat, "2", kNodePrefix + options_.name, kNodesKey, instance_, value,
                   std::to_string(options_.ttl.count()), options_.name},
                  [this, alive = alive_](const RedisReply& r) {
                    if (!*alive || r.type != RedisReply::Type::integer) return;
                    owns_name_ = r.integer != 0;
                    // Our key had expired while the connection stayed up (the process was stopped,
                    // or its heartbeats did not get through): the others may have reaped our users.
                    if (r.integer == 2 && heartbeats_ > 0 && on_expired_) on_expired_();
                    if (owns_name_) ++heartbeats_;
                  });
  fetch_nodes(*redis_, [this, alive = alive_](bool ok, std::vector<NodeInfo> nodes, const std::string&) {
    if (!*alive || !ok) return;
    for (auto& n : nodes) n.self = owns_name_ && n.name == options_.name;
    nodes_ = std::move(nodes);
  });
}

}  // namespace sockit::cluster
