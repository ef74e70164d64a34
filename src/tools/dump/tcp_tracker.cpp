// TCP stream reassembly and per-connection statistics (see tcp_tracker.hpp).
#include "tcp_tracker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace sockit::dump {

namespace {

// Signed distance a - b in sequence space.
std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b); }

}  // namespace

std::string Connection::state() const {
  if (resets > 0) return "reset";
  if (fin[0] && fin[1]) return "closed";
  if (fin[0] || fin[1]) return "half-closed";
  if (syn_ts && !synack_ts) return "syn-sent";
  return "open";
}

std::string Connection::name() const {
  return fmt::format("{}.{} > {}.{}", client, client_port, server, server_port);
}

void TcpTracker::append(Connection& c, int d, std::string_view data) {
  if (data.empty()) return;
  c.bytes[d] += data.size();
  if (!limits_.keep_data) return;
  if (c.kept >= limits_.max_data) return;
  data = data.substr(0, limits_.max_data - c.kept);
  c.kept += data.size();
  if (!c.chunks.empty() && c.chunks.back().dir == d && c.chunks.back().missing == 0)
    c.chunks.back().data.append(data);
  else
    c.chunks.push_back({d, std::string(data), 0});
}

void TcpTracker::append_gap(Connection& c, int d, std::uint64_t n) {
  if (n == 0) return;
  c.missing[d] += n;
  if (limits_.keep_data) c.chunks.push_back({d, {}, n});
}

// Delivers bytes at stream offset `rel` (in-order or behind `next`); `wire_len` >= data.size()
// is the segment's real payload length (the rest was cut by the snaplen).
void TcpTracker::deliver(Connection& c, State& st, int d, std::uint32_t rel, std::string_view data,
                         std::uint32_t wire_len, bool count_retransmit) {
  Direction& dir = st.dir[d];
  std::int32_t behind = seq_diff(dir.next, rel);  // bytes of this segment already delivered
  if (behind >= 0 && static_cast<std::uint32_t>(behind) >= wire_len) {
    if (count_retransmit) ++c.retransmits;
    return;
  }
  std::uint32_t skip = behind > 0 ? static_cast<std::uint32_t>(behind) : 0;
  if (skip < data.size()) append(c, d, data.substr(skip));
  if (data.size() < wire_len) append_gap(c, d, wire_len - std::max<std::size_t>(skip, data.size()));
  dir.next = rel + wire_len;
}

void TcpTracker::drain(Connection& c, State& st, int d) {
  Direction& dir = st.dir[d];
  while (!dir.pending.empty()) {
    // The map is ordered by offset; with wrap-around ignored (streams < 2 GiB per connection).
    auto it = dir.pending.begin();
    if (seq_diff(it->first, dir.next) > 0) break;
    std::string data = std::move(it->second);
    std::uint32_t rel = it->first;
    dir.pending_bytes -= data.size();
    dir.pending.erase(it);
    deliver(c, st, d, rel, data, static_cast<std::uint32_t>(data.size()), false);
  }
}

TcpTracker::State* TcpTracker::conversation(const TcpInfo& seg, double ts) {
  const bool syn = seg.flags & kTcpSyn, ack = seg.flags & kTcpAck;
  const bool rev = std::tie(seg.src, seg.sport) > std::tie(seg.dst, seg.dport);
  std::string key = rev ? fmt::format("{}|{}|{}|{}", seg.dst, seg.dport, seg.src, seg.sport)
                        : fmt::format("{}|{}|{}|{}", seg.src, seg.sport, seg.dst, seg.dport);
  auto it = states_.find(key);
  // A new SYN on a finished connection (port reuse) starts a new conversation.
  if (it != states_.end() && syn && !ack) {
    const Connection& old = conns_[it->second.index];
    bool same_syn = it->second.syn_seq && *it->second.syn_seq == seg.seq;
    if (!same_syn && (old.state() == "closed" || old.state() == "reset" || old.bytes[0] + old.bytes[1] > 0 ||
                      it->second.syn_seq)) {
      states_.erase(it);
      it = states_.end();
    }
  }
  if (it == states_.end()) {
    if (conns_.size() >= limits_.max_connections) return nullptr;
    Connection c;
    // The SYN sender is the client; a SYN-ACK's receiver is; otherwise the first sender.
    bool sender_is_client = !(syn && ack);
    c.client = sender_is_client ? seg.src : seg.dst;
    c.client_port = sender_is_client ? seg.sport : seg.dport;
    c.server = sender_is_client ? seg.dst : seg.src;
    c.server_port = sender_is_client ? seg.dport : seg.sport;
    c.first_ts = ts;
    conns_.push_back(std::move(c));
    State st;
    st.index = conns_.size() - 1;
    it = states_.emplace(key, std::move(st)).first;
  }
  return &it->second;
}

void TcpTracker::add(const TcpInfo& seg, double ts) {
  const bool syn = seg.flags & kTcpSyn, ack = seg.flags & kTcpAck;
  State* found = conversation(seg, ts);
  if (!found) return;  // past max_connections
  State& st = *found;
  Connection& c = conns_[st.index];
  const int d = (seg.src == c.client && seg.sport == c.client_port) ? 0 : 1;
  c.last_ts = ts;
  ++c.packets[d];
  Direction& dir = st.dir[d];

  if (syn) {
    if (d == 0 && !ack) {
      if (!c.syn_ts) c.syn_ts = ts;
      st.syn_seq = seg.seq;
    } else if (d == 1 && ack && !c.synack_ts) {
      c.synack_ts = ts;
    }
    if (!dir.init) {
      dir.init = true;
      dir.base = seg.seq + 1;
      dir.next = 0;
    }
  } else if (d == 0 && ack && c.synack_ts && !c.ack_ts) {
    c.ack_ts = ts;
  }
  if (seg.flags & kTcpRst) ++c.resets;

  if (seg.payload_len > 0) add_payload(seg, c, st, d);
  if (seg.flags & kTcpFin) c.fin[d] = true;
}

// The segment's data: in order it is delivered, ahead of the next byte it waits in `pending`
// (within max_pending, else the hole is recorded), then whatever became contiguous follows.
void TcpTracker::add_payload(const TcpInfo& seg, Connection& c, State& st, int d) {
  Direction& dir = st.dir[d];
  if (!dir.init) {
    dir.init = true;
    dir.base = seg.seq;
    dir.next = 0;
  }
  const std::uint32_t rel = seg.seq - dir.base;
  std::string_view data(reinterpret_cast<const char*>(seg.payload.data()), seg.payload.size());
  if (seq_diff(rel, dir.next) > 0) {
    ++c.out_of_order;
    if (data.size() == seg.payload_len && dir.pending_bytes + data.size() <= limits_.max_pending) {
      auto [p, inserted] = dir.pending.emplace(rel, std::string(data));
      if (inserted) {
        dir.pending_bytes += data.size();
      } else if (p->second.size() < data.size()) {
        dir.pending_bytes += data.size() - p->second.size();
        p->second = std::string(data);
      } else {
        ++c.retransmits;
      }
    } else {
      // Cannot buffer it: record the hole and move on.
      append_gap(c, d, static_cast<std::uint32_t>(rel - dir.next));
      dir.next = rel;
      deliver(c, st, d, rel, data, seg.payload_len, true);
    }
  } else {
    deliver(c, st, d, rel, data, seg.payload_len, true);
  }
  drain(c, st, d);
}

void TcpTracker::finish() {
  for (auto& [key, st] : states_) {
    Connection& c = conns_[st.index];
    for (int d = 0; d < 2; ++d) {
      Direction& dir = st.dir[d];
      while (!dir.pending.empty()) {
        auto first = dir.pending.begin()->first;
        if (seq_diff(first, dir.next) > 0) {
          append_gap(c, d, static_cast<std::uint32_t>(first - dir.next));
          dir.next = first;
        }
        drain(c, st, d);
      }
    }
  }
}

}  // namespace sockit::dump
