// Internal header of `sockit ss -s`: socket counters from /proc/net/sockstat{,6} and /proc/net/snmp.
#pragma once

#include "sockit/net/result.hpp"

#include <string>
#include <string_view>

namespace sockit::ss {

struct Summary {
  int sockets_used = 0;
  int tcp_inuse4 = 0, tcp_inuse6 = 0, tcp_orphan = 0, tcp_tw = 0, tcp_alloc = 0, tcp_mem_pages = 0;
  int tcp_established = 0;  ///< Tcp: CurrEstab from /proc/net/snmp
  int udp4 = 0, udp6 = 0, raw4 = 0, raw6 = 0, frag4 = 0, frag6 = 0;
};

/// Adds the counters of one sockstat file ("TCP: inuse 5 orphan 0 tw 3 alloc 6 mem 173" ...).
void parse_sockstat(std::string_view text, Summary& s);
/// CurrEstab from the two "Tcp:" lines of /proc/net/snmp (header line, value line); -1 if absent.
int parse_snmp_curr_estab(std::string_view text);
/// Reads the files under proc_root ("/proc" normally). Error if sockstat is unreadable.
Result<Summary> read_summary(const std::string& proc_root = "/proc");
/// The text of `ss -s` (iproute2 6.1 layout).
std::string format_summary(const Summary& s);

}  // namespace sockit::ss
