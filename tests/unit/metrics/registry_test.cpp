// The Prometheus registry and its text exposition format 0.0.4 (no sockets).
#include "tools/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace sockit::metrics {
namespace {

TEST(MetricsRegistry, GroupsSamplesOfOneNameUnderOneHelpAndType) {
  Registry reg;
  reg.add([](Collector& c) {
    c.counter("x_closed_total", "Closed, by reason.", 3, {{"reason", "reset"}});
    c.gauge("x_open", "Open now.", 10);
  });
  reg.add([](Collector& c) { c.counter("x_closed_total", "Closed, by reason.", 4, {{"reason", "timeout"}}); });
  EXPECT_EQ(reg.render(),
            "# HELP x_closed_total Closed, by reason.\n"
            "# TYPE x_closed_total counter\n"
            "x_closed_total{reason=\"reset\"} 3\n"
            "x_closed_total{reason=\"timeout\"} 4\n"
            "# HELP x_open Open now.\n"
            "# TYPE x_open gauge\n"
            "x_open 10\n");
}

TEST(MetricsRegistry, ValuesAreReadAtEachRender) {
  std::uint64_t n = 1;
  Registry reg;
  reg.add([&n](Collector& c) { c.counter("x_total", "X.", static_cast<double>(n)); });
  EXPECT_NE(reg.render().find("x_total 1\n"), std::string::npos);
  n = 12345678901ULL;
  EXPECT_NE(reg.render().find("x_total 12345678901\n"), std::string::npos);
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Collector c;
  c.gauge("x", "a \\ b\nc", 1, {{"path", "a\"b\\c\nd"}});
  EXPECT_EQ(c.text(), "# HELP x a \\\\ b\\nc\n# TYPE x gauge\nx{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsRegistry, RefusesNamesThatBreakTheRules) {
  Collector c;
  c.counter("requests", "no _total", 1);
  c.gauge("1bad", "starts with a digit", 1);
  c.gauge("ok", "bad label", 1, {{"__reserved", "v"}});
  c.gauge("ok2", "bad label", 1, {{"a-b", "v"}});
  c.gauge("twice_total", "", 1);
  c.counter("twice_total", "", 1);  // a gauge already
  EXPECT_EQ(c.errors().size(), 5u);
  std::string text = c.text();
  EXPECT_EQ(text.find("\nrequests"), std::string::npos);
  EXPECT_EQ(text.find("\n1bad"), std::string::npos);
  EXPECT_NE(text.find("# sockit: left out: counter 'requests' does not end in _total"), std::string::npos);
  EXPECT_TRUE(valid_metric_name("a:b_c9"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram h({0.25, 1, 0.5, 0.5});  // sorted, duplicates dropped
  for (double v : {0.125, 0.25, 0.375, 0.75, 2.0, 8.0}) h.observe(v);
  Collector c;
  c.histogram("x_seconds", "Durations.", h, {{"loop", "0"}});
  EXPECT_EQ(c.text(),
            "# HELP x_seconds Durations.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{loop=\"0\",le=\"0.25\"} 2\n"
            "x_seconds_bucket{loop=\"0\",le=\"0.5\"} 3\n"
            "x_seconds_bucket{loop=\"0\",le=\"1\"} 4\n"
            "x_seconds_bucket{loop=\"0\",le=\"+Inf\"} 6\n"
            "x_seconds_sum{loop=\"0\"} 11.5\n"
            "x_seconds_count{loop=\"0\"} 6\n");
  EXPECT_EQ(c.line(), "x_seconds_sum{loop=\"0\"}=11.5 x_seconds_count{loop=\"0\"}=6");
}

TEST(MetricsRegistry, HistogramAssignTakesASnapshotAndCountsItsBuckets) {
  Histogram h({0.5, 1});
  h.observe(0.25);
  h.assign({2, 0, 3}, 9.5);  // replaces what was observed; count = 2 + 0 + 3
  EXPECT_EQ(h.buckets(), (std::vector<std::uint64_t>{2, 0, 3}));
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.sum(), 9.5);
  h.assign({1}, 0.5);  // fewer counts: the rest are 0
  EXPECT_EQ(h.buckets(), (std::vector<std::uint64_t>{1, 0, 0}));
  EXPECT_EQ(h.count(), 1u);
}

// SIGUSR1's counters: line reads its values back from a Collector (one source of truth).
TEST(MetricsRegistry, ValueSumsAFamilyOrTheSamplesWithTheGivenLabels) {
  Collector c;
  c.counter("closed_total", "Closed.", 7, {{"reason", "normal"}});
  c.counter("closed_total", "Closed.", 2, {{"reason", "reset"}});
  c.gauge("open", "Open.", 3);
  Histogram h({1});
  h.observe(0.5);
  c.histogram("turn_seconds", "Turns.", h);
  EXPECT_EQ(c.value("closed_total"), 9);
  EXPECT_EQ(c.value("closed_total", {{"reason", "reset"}}), 2);
  EXPECT_EQ(c.value("closed_total", {{"reason", "timeout"}}), 0);
  EXPECT_EQ(c.value("open"), 3);
  EXPECT_EQ(c.value("missing_total"), 0);
  EXPECT_EQ(c.value("turn_seconds"), 0);  // only plain samples, not _bucket/_sum/_count
}

TEST(MetricsRegistry, SpecialValues) {
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0), "0");
}

TEST(MetricsRegistry, LineForSigusr1) {
  Collector c;
  c.gauge("x_open", "", 3);
  c.counter("x_closed_total", "", 1, {{"reason", "reset"}});
  EXPECT_EQ(c.line(), "x_open=3 x_closed_total{reason=\"reset\"}=1");
}

}  // namespace
}  // namespace sockit::metrics
