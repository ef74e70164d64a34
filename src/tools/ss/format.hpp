// Internal header of `sockit ss`: text (ss and netstat layouts) and JSON renderings of sockets.
//
// Pure functions of their inputs, except that `resolve` consults the system resolver
// (getnameinfo, getservbyport) through a per-call cache.
#pragma once

#include "diag.hpp"
#include "procs.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::ss {

struct FormatOptions {
  bool header = true;        ///< -H turns it off
  bool show_netid = false;   ///< more than one table selected
  bool show_state = true;    ///< more than one state selected
  bool numeric = false;      ///< -n: rates as plain numbers ("154202352941bps" not "154Gbps")
  bool resolve = false;      ///< -r: host and service names
  bool extended = false;     ///< -e: uid, inode, cookie, v6only, shutdown
  bool timers = false;       ///< -o (implied by -e): timer:(...)
  bool memory = false;       ///< -m: skmem:(...)
  bool info = false;         ///< -i: tcp_info
  bool processes = false;    ///< -p: users:(...)
};

/// The ss table built one socket at a time, without keeping the sockets: each row's cells are
/// stored as text (about 50 bytes per socket, in 64 KiB blocks; no allocation per socket), the
/// column widths grow as rows come, and write() pads the rows into lines once every width is known.
class TableWriter {
 public:
  /// `users` (may be null) must outlive the writer.
  TableWriter(const FormatOptions& o, const UsersMap* users);
  void add(const Socket& s);
  /// Sockets added so far.
  std::size_t size() const { return rows_; }
  /// The whole table, as format_table() prints it, handed to `sink` in pieces of about 16 KiB.
  void write(const std::function<void(std::string_view)>& sink) const;
  std::string str() const;

 private:
  enum Cell { kNetid, kState, kRecvQ, kSendQ, kLocal, kLocalPort, kPeer, kPeerPort, kProcess, kDetail, kCells };
  void end_cell(int c);
  void store_row();

  FormatOptions o_;
  const UsersMap* users_;
  std::string row_;                           ///< the row being added (its capacity is reused)
  std::size_t cell_start_ = 0;                ///< where the current cell starts in row_
  std::array<std::size_t, kCells> lengths_{};  ///< of the row's cells
  std::vector<std::string> blocks_;           ///< stored rows (header first), see store_row()
  std::array<std::size_t, kCells> w_{};
  std::size_t rows_ = 0;
};

/// The whole table, header included, one socket per line (plus a "\t..." line for -i/-m).
std::string format_table(const std::vector<Socket>& sockets, const FormatOptions& o, const UsersMap* users);
/// `netstat -tunap` layout: "Proto Recv-Q Send-Q Local Address Foreign Address State PID/Program name",
/// then a Unix table when Unix sockets are present. `states` picks the title ("only servers"...).
std::string format_netstat(const std::vector<Socket>& sockets, const FormatOptions& o, const UsersMap* users,
                           StateMask states);
/// One JSON object (schema 1, see docs/SS.md) on one line, no trailing newline.
std::string format_json(const Socket& s, const FormatOptions& o, const UsersMap* users,
                        std::optional<std::uint64_t> snapshot = std::nullopt);

// Pieces, exposed for unit tests.
std::string format_ms_timer(std::uint32_t ms);          ///< ss print_ms_timer: "2min", "2.428ms", "58sec"
std::string format_bps(double bps, bool numeric);       ///< "154Gbps" style without the "bps"
std::string timer_text(const Timer& t);                 ///< "timer:(keepalive,1min,0)" or ""
std::string skmem_text(const SkMem& m);                 ///< "skmem:(r0,rb131072,...)"
std::string tcp_info_text(const Socket& s, const FormatOptions& o);  ///< " ts sack cubic wscale:7,7 ..."
/// Address column as ss prints it: "127.0.0.1", "[::1]", "*" (v6 any, dual-stack), a Unix name or "*".
std::string host_text(const Socket& s, bool local, bool resolve);
/// Port column: "80", "*" for 0, a service name when resolving, the inode for Unix sockets.
std::string port_text(const Socket& s, bool local, bool resolve);

}  // namespace sockit::ss
