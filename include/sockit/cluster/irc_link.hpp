// Header of the internal cluster library: irc::ClusterLink (what the IRC core asks of a cluster)
// served by a cluster::Node. The only place the cluster library meets the IRC core, through its
// dependency-free interface header; apps/chat_server plugs it in with Server::set_cluster.
#pragma once

#include "sockit/cluster/node.hpp"
#include "sockit/irc/cluster.hpp"

namespace sockit::cluster {

class IrcLink final : public irc::ClusterLink {
 public:
  explicit IrcLink(Node& node) : node_(node) {}
  std::vector<irc::ClusterNode> nodes() const override {
    std::vector<irc::ClusterNode> out;
    for (const NodeInfo& n : node_.nodes()) out.push_back({n.name, n.server_name, n.users, n.self});
    return out;
  }

 private:
  Node& node_;
};

}  // namespace sockit::cluster
