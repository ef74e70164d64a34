// Public header. irc::ClusterLink: what the IRC core asks of a network of chat-server nodes
// (docs/CLUSTER.md). The core never sees Redis: apps/chat_server plugs in the implementation from
// the internal cluster library (src/cluster, hiredis), like the history store behind store::History.
// Without one (the default) the server is the single process it always was. Loop thread only.
#pragma once

#include <cstdint>
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

class ClusterLink {
 public:
  virtual ~ClusterLink() = default;
  /// The live nodes (LINKS), this one included; at most one heartbeat stale, no Redis round trip.
  virtual std::vector<ClusterNode> nodes() const = 0;
};

}  // namespace sockit::irc
