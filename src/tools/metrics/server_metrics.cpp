// The metrics of sockit::serve's servers: see server_metrics.hpp.
#include "server_metrics.hpp"

#include "serve/tuning.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

namespace sockit::metrics {
namespace {
double d(std::uint64_t v) { return static_cast<double>(v); }
}  // namespace

void collect_server(Collector& c, const serve::Server& server, const Endpoint* same_loop) {
  serve::ServerStats st = server.stats();
  if (same_loop != nullptr) {
    st.bytes_in -= std::min(st.bytes_in, same_loop->bytes_in());
    st.bytes_out -= std::min(st.bytes_out, same_loop->bytes_out());
  }
  c.gauge("sockit_connections_open", "TCP connections open now.", d(st.active));
  c.counter("sockit_connections_accepted_total", "TCP connections accepted and served.", d(st.accepted));
  constexpr std::string_view refused = "TCP connections refused at once, by reason.";
  c.counter("sockit_connections_refused_total", refused, d(st.rejected), {{"reason", "limit"}});
  c.counter("sockit_connections_refused_total", refused, d(st.shed), {{"reason", "out_of_descriptors"}});
  constexpr std::string_view closed = "TCP connections closed, by reason.";
  std::uint64_t known = st.resets + st.timeouts + st.overflows + st.errors;
  c.counter("sockit_connections_closed_total", closed, d(st.closed > known ? st.closed - known : 0), {{"reason", "normal"}});
  c.counter("sockit_connections_closed_total", closed, d(st.resets), {{"reason", "reset"}});
  c.counter("sockit_connections_closed_total", closed, d(st.timeouts), {{"reason", "idle_timeout"}});
  c.counter("sockit_connections_closed_total", closed, d(st.overflows), {{"reason", "send_queue_full"}});
  c.counter("sockit_connections_closed_total", closed, d(st.errors), {{"reason", "error"}});
  c.counter("sockit_received_bytes_total", "Bytes read from TCP clients.", d(st.bytes_in));
  c.counter("sockit_sent_bytes_total", "Bytes written to TCP clients.", d(st.bytes_out));
  c.counter("sockit_spliced_bytes_total", "Of sockit_sent_bytes_total, bytes echoed with splice().", d(serve::detail::bytes_spliced(server)));
  c.counter("sockit_send_queue_overflows_total", "Connections closed because their output queue passed the cap.",
            d(st.overflows));
  c.counter("sockit_timeouts_total", "Connections closed for a timeout, by kind.", d(st.timeouts), {{"kind", "idle"}});
  c.counter("sockit_emfile_events_total",
            "Connections accepted and closed at once because the process was out of descriptors.", d(st.shed));
  c.counter("sockit_errors_total", "Accept and socket errors.", d(st.errors));
  c.gauge("sockit_buffered_bytes", "Output bytes queued for all connections now (with a buffer budget).",
          d(st.buffered));
  c.gauge("sockit_buffered_peak_bytes", "The most output bytes ever queued at once.", d(st.buffered_peak));
  c.counter("sockit_budget_pauses_total", "Times a connection stopped reading for the buffer budget.",
            d(st.budget_pauses));
}

void collect_tls_handshakes(Collector& c, std::uint64_t ok, std::uint64_t failed, std::uint64_t timed_out) {
  constexpr std::string_view help =
      "TLS handshakes of the server's TLS listeners, by result (failed: an alert, a peer that speaks no TLS; "
      "timeout: closed unfinished at the handshake limit).";
  c.counter("sockit_tls_handshakes_total", help, d(ok), {{"result", "ok"}});
  c.counter("sockit_tls_handshakes_total", help, d(failed), {{"result", "failed"}});
  c.counter("sockit_tls_handshakes_total", help, d(timed_out), {{"result", "timeout"}});
}

struct TurnHistogram::PerLoop {
  explicit PerLoop(std::size_t buckets) : counts(buckets) {}
  // One writer (the loop's thread): plain load + store, relaxed; readers may see a bucket a turn
  // ahead of the sum, never a torn value.
  void observe(const std::vector<double>& bounds, double v) noexcept {
    auto i = static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
    counts[i].store(counts[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum.store(sum.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  std::vector<std::atomic<std::uint64_t>> counts;
  std::atomic<double> sum{0};
};

TurnHistogram::TurnHistogram()
    : bounds_({10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1.0}) {}

TurnHistogram::~TurnHistogram() = default;

void TurnHistogram::attach(const serve::Server& server) {
  for (int i = 0; loop::EventLoop* l = server.event_loop(i); ++i) {
    loops_.push_back(std::make_unique<PerLoop>(bounds_.size() + 1));
    l->set_turn_observer([this, p = loops_.back().get()](loop::Duration busy) {
      p->observe(bounds_, std::chrono::duration<double>(busy).count());
    });
  }
}

void TurnHistogram::collect(Collector& c) const {
  Histogram h(bounds_);
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    const PerLoop& p = *loops_[i];
    for (std::size_t b = 0; b < counts.size(); ++b) counts[b] = p.counts[b].load(std::memory_order_relaxed);
    h.assign(counts, p.sum.load(std::memory_order_relaxed));
    c.histogram("sockit_loop_turn_seconds",
                "Time an event-loop turn takes once its wait returns (dispatch, timers, writes).", h,
                {{"loop", std::to_string(i)}});
  }
}

std::string counter_fields(const Collector& c, std::span<const CounterField> fields) {
  std::string out;
  for (const CounterField& f : fields) {
    if (!out.empty()) out += ' ';
    out += f.key;
    out += '=';
    // Whole numbers as integers at every size (the text format's shortest form turns 1e16 into
    // "1e+16"; scripts parse these as integers).
    double v = c.value(f.metric, f.labels);
    out += v >= 0 && v < 1.8e19 && v == std::floor(v) ? std::to_string(static_cast<std::uint64_t>(v)) : format_value(v);
  }
  return out;
}

std::string tcp_counters(const Collector& c) {
  const CounterField fields[] = {
      {"accepted", "sockit_connections_accepted_total"},
      {"active", "sockit_connections_open"},
      {"closed", "sockit_connections_closed_total"},
      {"rejected", "sockit_connections_refused_total", {{"reason", "limit"}}},
      {"shed", "sockit_connections_refused_total", {{"reason", "out_of_descriptors"}}},
      {"resets", "sockit_connections_closed_total", {{"reason", "reset"}}},
      {"timeouts", "sockit_timeouts_total", {{"kind", "idle"}}},
      {"overflows", "sockit_send_queue_overflows_total"},
      {"errors", "sockit_errors_total"},
      {"bytes_in", "sockit_received_bytes_total"},
      {"bytes_out", "sockit_sent_bytes_total"},
      {"spliced", "sockit_spliced_bytes_total"},
      {"buffered", "sockit_buffered_bytes"},
      {"buffered_peak", "sockit_buffered_peak_bytes"},
      {"budget_pauses", "sockit_budget_pauses_total"},
  };
  return "tcp " + counter_fields(c, fields);
}

std::string udp_counters(const Collector& c) {
  const CounterField fields[] = {
      {"received", "sockit_udp_received_datagrams_total"},
      {"sent", "sockit_udp_sent_datagrams_total"},
      {"dropped", "sockit_udp_unanswered_datagrams_total", {{"reason", "send_dropped"}}},
      {"truncated", "sockit_udp_truncated_datagrams_total"},
      {"errors", "sockit_udp_errors_total"},
      {"bytes_in", "sockit_udp_received_bytes_total"},
      {"bytes_out", "sockit_udp_sent_bytes_total"},
      {"wakeups", "sockit_udp_wakeups_total"},
      {"recv_calls", "sockit_udp_receive_calls_total"},
      {"send_calls", "sockit_udp_send_calls_total"},
      {"coalesced", "sockit_udp_coalesced_replies_total"},
      {"refused", "sockit_udp_unanswered_datagrams_total", {{"reason", "refused_port"}}},
      {"limited", "sockit_udp_unanswered_datagrams_total", {{"reason", "rate_limited"}}},
  };
  return "udp " + counter_fields(c, fields);
}

serve::UdpStats sum_udp(std::span<const std::unique_ptr<serve::UdpServer>> servers) {
  serve::UdpStats t;
  for (const auto& u : servers) {
    auto s = u->stats();
    t.received += s.received;
    t.sent += s.sent;
    t.dropped += s.dropped;
    t.truncated += s.truncated;
    t.bytes_in += s.bytes_in;
    t.bytes_out += s.bytes_out;
    t.errors += s.errors;
    t.wakeups += s.wakeups;
    t.recv_calls += s.recv_calls;
    t.send_calls += s.send_calls;
    t.coalesced += s.coalesced;
    t.refused += s.refused;
    t.limited += s.limited;
  }
  return t;
}

void collect_udp(Collector& c, const serve::UdpStats& st) {
  c.counter("sockit_udp_received_datagrams_total", "UDP datagrams received.", d(st.received));
  c.counter("sockit_udp_sent_datagrams_total", "UDP replies sent.", d(st.sent));
  constexpr std::string_view unanswered = "UDP datagrams not answered, by reason.";
  c.counter("sockit_udp_unanswered_datagrams_total", unanswered, d(st.dropped), {{"reason", "send_dropped"}});
  c.counter("sockit_udp_unanswered_datagrams_total", unanswered, d(st.refused), {{"reason", "refused_port"}});
  c.counter("sockit_udp_unanswered_datagrams_total", unanswered, d(st.limited), {{"reason", "rate_limited"}});
  c.counter("sockit_udp_truncated_datagrams_total", "UDP requests larger than 64 KiB (cut).", d(st.truncated));
  c.counter("sockit_udp_received_bytes_total", "UDP payload bytes received.", d(st.bytes_in));
  c.counter("sockit_udp_sent_bytes_total", "UDP payload bytes sent.", d(st.bytes_out));
  c.counter("sockit_udp_errors_total", "UDP socket errors.", d(st.errors));
  c.counter("sockit_udp_wakeups_total", "Readiness events the UDP servers served.", d(st.wakeups));
  c.counter("sockit_udp_receive_calls_total", "recvfrom/recvmmsg calls of the UDP servers, including those that saw EAGAIN.", d(st.recv_calls));
  c.counter("sockit_udp_send_calls_total", "Send calls of the UDP servers.", d(st.send_calls));
  c.counter("sockit_udp_coalesced_replies_total", "UDP replies sent inside UDP GSO messages of 2 or more.",
            d(st.coalesced));
}

}  // namespace sockit::metrics
