// Prometheus metrics without a client library: a registry of collect callbacks that fill in
// counters, gauges and fixed-bucket histograms at scrape time, rendered in the text exposition
// format 0.0.4 (# HELP / # TYPE lines, escaped label values, cumulative `le` buckets).
//
// Values come from the servers' existing counters when the page is asked for, so the hot path
// keeps the counters it has and gains no atomics. A collect callback runs on the thread that
// renders (the server's event loop for `--metrics`), so it may read loop-owned state.
//
//   metrics::Registry reg;
//   reg.add([&](metrics::Collector& c) {
//     auto st = server.stats();
//     c.gauge("sockit_connections_open", "Connections open now.", st.active);
//     c.counter("sockit_received_bytes_total", "Bytes read from clients.", st.bytes_in);
//     c.counter("sockit_connections_closed_total", "Connections closed, by reason.", st.resets, {{"reason", "reset"}});
//   });
//   std::string page = reg.render();
//
// Samples of one name are grouped under one HELP/TYPE, in the order names first appear. A name
// or label that breaks the Prometheus rules (a counter must end in _total, names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, labels [a-zA-Z_][a-zA-Z0-9_]* and not __*, one type per name) is left
// out of the page and listed in Collector::errors() (and as a comment at the end of the page),
// so a programming slip shows in the tests instead of breaking every scrape.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sockit::metrics {

enum class Type { counter, gauge, histogram };
std::string_view to_string(Type t) noexcept;

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Observations in fixed buckets (upper bounds, ascending; +Inf is implicit). One writer thread;
/// read it from the same thread (collect callbacks run there).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  /// Replaces the contents with a snapshot: per-bucket counts (bounds().size() + 1 of them, the
  /// last +Inf; fewer are padded with 0) and their sum; count() becomes the counts' total.
  void assign(const std::vector<std::uint64_t>& counts, double sum);
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// Per-bucket counts (not cumulative); the last one is the +Inf bucket.
  const std::vector<std::uint64_t>& buckets() const noexcept { return counts_; }
  std::uint64_t count() const noexcept { return count_; }
  double sum() const noexcept { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

/// What a collect callback writes into (one per render).
class Collector {
 public:
  void counter(std::string_view name, std::string_view help, double value, Labels labels = {});
  void gauge(std::string_view name, std::string_view help, double value, Labels labels = {});
  void histogram(std::string_view name, std::string_view help, const Histogram& h, Labels labels = {});

  /// Names and labels refused (see the header comment), one line each.
  const std::vector<std::string>& errors() const noexcept { return errors_; }
  /// The text exposition format 0.0.4 of everything collected.
  std::string text() const;
  /// One line of `name{labels}=value` pairs (histograms as name_count and name_sum), for the
  /// servers' SIGUSR1 counters.
  std::string line() const;
  /// The sum of the samples of `name` whose labels include `labels` (all of them when empty);
  /// 0 when there are none. For the SIGUSR1 counters, read back from what the page shows.
  double value(std::string_view name, const Labels& labels = {}) const;

 private:
  struct Sample {
    std::string suffix;  // "", "_bucket", "_sum", "_count"
    Labels labels;
    double value;
  };
  struct Family {
    std::string name, help;
    Type type;
    std::vector<Sample> samples;
  };
  Family* family(std::string_view name, std::string_view help, Type type, const Labels& labels);
  std::vector<Family> families_;
  std::vector<std::string> errors_;
};

class Registry {
 public:
  using Collect = std::function<void(Collector&)>;
  /// Adds a callback, run at every render in the order added.
  void add(Collect fn) { collects_.push_back(std::move(fn)); }
  /// Runs every callback into a fresh Collector.
  Collector collect() const;
  std::string render() const { return collect().text(); }

 private:
  std::vector<Collect> collects_;
};

/// The Content-Type of the text format.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

bool valid_metric_name(std::string_view name) noexcept;
bool valid_label_name(std::string_view name) noexcept;
/// A sample value as the text format writes it: shortest round-trip form, +Inf, -Inf, NaN.
std::string format_value(double v);
/// Escapes a label value (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);
/// Escapes HELP text (backslash, newline).
std::string escape_help(std::string_view v);

}  // namespace sockit::metrics
