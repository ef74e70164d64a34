// Prometheus text exposition format 0.0.4: see registry.hpp.
#include "registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sockit::metrics {

std::string_view to_string(Type t) noexcept {
  switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

namespace {

bool name_char(char c, bool first, bool colon) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  while (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();  // +Inf is implicit
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);  // first bound >= v: le is inclusive
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += v;
}

void Histogram::assign(const std::vector<std::uint64_t>& counts, double sum) {
  count_ = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    counts_[i] = i < counts.size() ? counts[i] : 0;
    count_ += counts_[i];
  }
  sum_ = sum;
}

Collector::Family* Collector::family(std::string_view name, std::string_view help, Type type, const Labels& labels) {
  if (!valid_metric_name(name)) {
    errors_.push_back(fmt::format("invalid metric name '{}'", name));
    return nullptr;
  }
  if (type == Type::counter && !name.ends_with("_total")) {
    errors_.push_back(fmt::format("counter '{}' does not end in _total", name));
    return nullptr;
  }
  for (const auto& [k, v] : labels) {
    if (!valid_label_name(k) || (type == Type::histogram && k == "le")) {
      errors_.push_back(fmt::format("invalid label name '{}' on '{}'", k, name));
      return nullptr;
    }
  }
  for (auto& f : families_) {
    if (f.name != name) continue;
    if (f.type != type) {
      errors_.push_back(fmt::format("'{}' given as {} and as {}", name, to_string(f.type), to_string(type)));
      return nullptr;
    }
    return &f;
  }
  families_.push_back(Family{std::string(name), std::string(help), type, {}});
  return &families_.back();
}

void Collector::counter(std::string_view name, std::string_view help, double value, Labels labels) {
  if (Family* f = family(name, help, Type::counter, labels)) f->samples.push_back({"", std::move(labels), value});
}

void Collector::gauge(std::string_view name, std::string_view help, double value, Labels labels) {
  if (Family* f = family(name, help, Type::gauge, labels)) f->samples.push_back({"", std::move(labels), value});
}

void Collector::histogram(std::string_view name, std::string_view help, const Histogram& h, Labels labels) {
  Family* f = family(name, help, Type::histogram, labels);
  if (f == nullptr) return;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.buckets().size(); ++i) {
    cumulative += h.buckets()[i];
    Labels l = labels;
    l.emplace_back("le", i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf");
    f->samples.push_back({"_bucket", std::move(l), static_cast<double>(cumulative)});
  }
  f->samples.push_back({"_sum", labels, h.sum()});
  f->samples.push_back({"_count", std::move(labels), static_cast<double>(h.count())});
}

std::string Collector::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, escape_help(f.help), f.name, to_string(f.type));
    for (const auto& s : f.samples) {
      out += f.name;
      out += s.suffix;
      append_labels(out, s.labels);
      out += ' ';
      out += format_value(s.value);
      out += '\n';
    }
  }
  for (const auto& e : errors_) out += "# sockit: left out: " + escape_help(e) + "\n";
  return out;
}

std::string Collector::line() const {
  std::string out;
  for (const auto& f : families_) {
    for (const auto& s : f.samples) {
      if (s.suffix == "_bucket") continue;
      if (!out.empty()) out += ' ';
      out += f.name;
      out += s.suffix;
      append_labels(out, s.labels);
      out += '=';
      out += format_value(s.value);
    }
  }
  return out;
}

double Collector::value(std::string_view name, const Labels& labels) const {
  double total = 0;
  for (const auto& f : families_) {
    if (f.name != name) continue;
    for (const auto& s : f.samples) {
      if (!s.suffix.empty()) continue;
      bool match = std::all_of(labels.begin(), labels.end(), [&s](const auto& want) {
        return std::find(s.labels.begin(), s.labels.end(), want) != s.labels.end();
      });
      if (match) total += s.value;
    }
  }
  return total;
}

Collector Registry::collect() const {
  Collector c;
  for (const auto& fn : collects_) fn(c);
  return c;
}

}  // namespace sockit::metrics
