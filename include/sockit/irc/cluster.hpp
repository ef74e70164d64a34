// Public header. irc::ClusterLink: what the IRC core asks of a network of chat-server nodes
// (docs/CLUSTER.md). The core never sees Redis: apps/chat_server plugs in the implementation from
// the internal cluster library (src/cluster, hiredis), like the history store behind store::History.
// Without one (the default) the server is the single process it always was. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sockit::irc {

/// One live node as the last heartbeat saw it.
struct ClusterNode {
  std::string name;         ///< --node-name
  std::string server_name;  ///< its IRC server name
  std::uint64_t users = 0;  ///< registered users at its last heartbeat
  bool self = false;        ///< this process
};

/// One event between nodes (docs/CLUSTER.md, "Events between nodes": the wire format).
struct ClusterEvent {
  enum class Kind { message, private_message, join, part, quit, nick, sync, have };
  Kind kind = Kind::message;
  std::string node;          ///< the publishing node (filled in by the link)
  std::uint64_t sender = 0;  ///< the user's connection id on its node
  std::string target;        ///< channel (message, join, part, have), nick (private_message), new nick (nick)
  std::string mask;          ///< nick!user@host
  std::string account;       ///< "" = not logged in
  std::string msgid;
  std::string tags;          ///< client-only tags, escaped
  bool tagmsg = false;
  std::string rest;          ///< the IRC line without tags (join: the real name)
  bool own = false;          ///< on receipt: published by this node
};

class ClusterLink {
 public:
  virtual ~ClusterLink() = default;
  /// The live nodes (LINKS), this one included; at most one heartbeat stale, no Redis round trip.
  virtual std::vector<ClusterNode> nodes() const = 0;

  /// A network-wide nick claim's answer: ok, held by another client of any node, or unknown
  /// (Redis away): the network is degraded.
  enum class NickVerdict { ok, taken, unavailable };
  /// Claims the folded nick `folded` for local client `id` (`mask`: nick!user@host with that nick)
  /// in one atomic step (the owner may claim it again). `done` runs once, on the loop thread, on a
  /// later turn (the default, without claims: ok at once).
  virtual void claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                          std::function<void(NickVerdict)> done) {
    (void)folded, (void)id, (void)mask;
    done(NickVerdict::ok);
  }
  /// Releases `folded` if local client `id` holds it (QUIT, or registration abandoned). Fire and forget.
  virtual void release_nick(const std::string& folded, std::uint64_t id) { (void)folded, (void)id; }
  /// Whether events go through the cluster now (false while Redis is away: local delivery only).
  virtual bool relaying() const { return false; }
  /// Publishes `e` (one PUBLISH); every node's Server::deliver_from_cluster gets it back.
  virtual void publish(const ClusterEvent& e) { (void)e; }
};

}  // namespace sockit::irc
