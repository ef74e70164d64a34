// Internal header of sockit::pcapdecode: TCP conversation tracking for `sockit dump`.
//
// Fed with the TcpInfo of each decoded segment (in capture order), it reassembles both byte
// streams of every connection by sequence number (retransmitted bytes are dropped, out-of-order
// segments wait for the gap to fill) and keeps per-connection statistics: handshake RTT, bytes
// each way, retransmissions, resets. Sans-I/O; not thread-safe; memory is bounded by
// TrackerLimits (data beyond the limits is counted but not kept).
#pragma once

#include "packet_decoder.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sockit::dump {

struct TrackerLimits {
  bool keep_data = true;                          ///< keep stream bytes (for --follow)
  std::size_t max_pending = 4U << 20;             ///< out-of-order bytes buffered per direction
  std::size_t max_data = 64U << 20;               ///< stream bytes kept per connection
  std::size_t max_connections = 100000;           ///< older connections are still reported
};

/// One contiguous run of bytes in one direction (0: client to server, 1: server to client).
/// `missing` > 0 marks a gap of that many bytes that were never captured (data is empty then).
struct StreamChunk {
  int dir = 0;
  std::string data;
  std::uint64_t missing = 0;
};

struct Connection {
  std::string client, server;  ///< numeric addresses
  std::uint16_t client_port = 0, server_port = 0;
  double first_ts = 0, last_ts = 0;
  std::optional<double> syn_ts, synack_ts, ack_ts;
  std::uint64_t packets[2] = {0, 0};
  std::uint64_t bytes[2] = {0, 0};         ///< unique payload bytes delivered in order
  std::uint64_t missing[2] = {0, 0};       ///< bytes never seen (gaps, snaplen)
  std::uint64_t retransmits = 0;           ///< segments whose bytes were all seen before
  std::uint64_t out_of_order = 0;          ///< segments that arrived ahead of a gap
  std::uint64_t resets = 0;
  bool fin[2] = {false, false};
  std::vector<StreamChunk> chunks;         ///< the conversation, in delivery order
  std::size_t kept = 0;                    ///< bytes held in `chunks`

  /// SYN -> SYN-ACK time at the capture point, when both were seen.
  std::optional<double> handshake_rtt() const {
    if (syn_ts && synack_ts) return *synack_ts - *syn_ts;
    return std::nullopt;
  }
  /// "reset", "closed", "half-closed", "syn-sent", "open".
  std::string state() const;
  /// "127.0.0.1.45678 > 127.0.0.1.7007" (tcpdump endpoint style).
  std::string name() const;
};

class TcpTracker {
 public:
  explicit TcpTracker(TrackerLimits limits = {}) : limits_(limits) {}

  /// Adds one segment seen at `ts` seconds.
  void add(const TcpInfo& seg, double ts);
  /// Flushes buffered out-of-order data (gaps become `missing` chunks). Call once at the end.
  void finish();

  const std::vector<Connection>& connections() const { return conns_; }

 private:
  struct Direction {
    bool init = false;
    std::uint32_t base = 0;   // sequence number of stream offset 0
    std::uint32_t next = 0;   // next expected offset
    std::map<std::uint32_t, std::string> pending;  // offset -> bytes (ahead of `next`)
    std::size_t pending_bytes = 0;
  };
  struct State {
    std::size_t index = 0;
    Direction dir[2];
    std::optional<std::uint32_t> syn_seq;
  };
  void deliver(Connection& c, State& st, int d, std::uint32_t rel, std::string_view data, std::uint32_t wire_len,
               bool count_retransmit);
  void drain(Connection& c, State& st, int d);
  State* conversation(const TcpInfo& seg, double ts);  ///< found or opened; null past max_connections
  void add_payload(const TcpInfo& seg, Connection& c, State& st, int d);
  void append(Connection& c, int d, std::string_view data);
  void append_gap(Connection& c, int d, std::uint64_t n);

  TrackerLimits limits_;
  std::vector<Connection> conns_;
  std::unordered_map<std::string, State> states_;
};

}  // namespace sockit::dump
