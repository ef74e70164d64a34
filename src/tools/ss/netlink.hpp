// Internal header of `sockit ss`: asks the kernel for socket lists over NETLINK_SOCK_DIAG.
#pragma once

#include "diag.hpp"

#include "sockit/net/result.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

namespace sockit::ss {

/// Which tables to dump. States go to the kernel as idiag_states, so it filters before sending.
struct Query {
  bool tcp = false, udp = false, unix_sockets = false;
  bool ipv4 = false, ipv6 = false;
  StateMask states = kDefaultStates;
  InetExtensions ext;
  bool unix_memory = false;
  /// When set, every datagram received is also written here raw (ss -D FILE): concatenated
  /// netlink messages, the format the decoder and the fuzz corpus use.
  std::FILE* raw_dump = nullptr;
  /// Bound on each recv(); the kernel answers in microseconds, this only guards against a hang.
  std::chrono::milliseconds timeout{5000};
};

/// Dumps the requested tables in ss order: Unix, UDP (v4, v6), TCP (v4, v6). Opens one netlink
/// socket per call and closes it before returning. Blocking; cost ~ number of sockets.
/// Errors: socket()/sendto()/recv() failures, NLMSG_ERROR from the kernel, malformed replies,
/// timed_out when the kernel does not answer in `timeout`.
Result<std::vector<Socket>> query_sockets(const Query& q);

/// The same dumps, in the same order, handing each socket to `on_socket` as it is decoded instead
/// of collecting them: memory stays at one receive buffer whatever the number of sockets.
Result<void> for_each_socket(const Query& q, const std::function<void(Socket&&)>& on_socket);

}  // namespace sockit::ss
