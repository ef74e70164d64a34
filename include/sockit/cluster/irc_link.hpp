// Header of the internal cluster library: irc::ClusterLink (what the IRC core asks of a cluster)
// served by a cluster::Node. The only place the cluster library meets the IRC core, through its
// dependency-free interface header; apps/chat_server plugs it in with Server::set_cluster.
//
// Events (docs/CLUSTER.md, "Events between nodes"): one PUBLISH per event on `sockit:msg` through
// the node's command connection; the node's subscriber connection hands every event (its own
// included, marked `own`) to the deliver function, in Redis's one order.
#pragma once

#include "sockit/cluster/nicks.hpp"
#include "sockit/cluster/node.hpp"
#include "sockit/irc/cluster.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sockit::cluster {

/// The pub/sub channel every node publishes its events on and subscribes to.
inline constexpr char kEventChannel[] = "sockit:msg";

/// The payload of `e` ("sockit1 KIND NODE SENDER TARGET MASK ACCOUNT MSGID TAGS FLAGS REST").
std::string encode_event(const irc::ClusterEvent& e);
/// The event in `payload`; nullopt for anything else (another version, a missing field, CR/LF).
std::optional<irc::ClusterEvent> decode_event(std::string_view payload);

struct LinkStats {
  std::uint64_t published = 0;  ///< PUBLISH commands sent
  std::uint64_t received = 0;   ///< events decoded (own included)
  std::uint64_t malformed = 0;  ///< payloads ignored
};

class IrcLink final : public irc::ClusterLink {
 public:
  using DeliverFn = std::function<void(const irc::ClusterEvent&)>;
  /// Subscribes `node`'s subscriber connection to kEventChannel; `deliver` gets every event.
  IrcLink(Node& node, DeliverFn deliver);
  ~IrcLink() override;
  IrcLink(const IrcLink&) = delete;
  IrcLink& operator=(const IrcLink&) = delete;
  std::vector<irc::ClusterNode> nodes() const override;
  bool relaying() const override;
  void publish(const irc::ClusterEvent& e) override;
  /// Nick claims across nodes (src/cluster/nicks.cpp); without them every claim is ok.
  void set_nick_claims(NickClaims* claims) { claims_ = claims; }
  void claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                  std::function<void(NickVerdict)> done) override;
  void release_nick(const std::string& folded, std::uint64_t id) override;
  /// Publishes a QUIT (`reason`, e.g. "*.net *.split") for each user, as from the user's own node.
  void publish_quits(const std::vector<ReapedUser>& users, std::string_view reason);
  const LinkStats& stats() const noexcept { return stats_; }

 private:
  Node& node_;
  DeliverFn deliver_;
  LinkStats stats_;
  NickClaims* claims_ = nullptr;
  void send_sync();  ///< SYNC once the command connection is ready (retried every 100 ms)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sockit::cluster
