// The load generator's run: starts one Worker (an EventLoop on its own thread, worker.hpp) per
// --threads, moves the run through its mode's phases, samples the server and this process at
// the start and end of the measured interval, prints the progress line, merges the counters.
#include "engine.hpp"

#include "worker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <sys/resource.h>
#include <thread>
#include <time.h>
#include <vector>

namespace sockit::load {

namespace {

constexpr std::int64_t kSuperviseNs = 50 * kNsPerMs;   // the controlling thread's longest sleep
constexpr std::int64_t kMinSleepNs = 100'000;           // and its shortest
constexpr std::uint32_t kSpareDescriptors = 32;         // loops, timerfds, stdio...

Result<void> check_descriptors(const Options& o) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  if (static_cast<rlim_t>(o.connections) + kSpareDescriptors > rl.rlim_cur)
    return Error(errc::invalid_argument,
                 fmt::format("{} connections need {} descriptors, but this process may open {} (ulimit -n)",
                             o.connections, o.connections + kSpareDescriptors, rl.rlim_cur));
  return {};
}

void sleep_ns(std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / kNsPerSecond), static_cast<long>(ns % kNsPerSecond)};
  nanosleep(&ts, nullptr);
}

// The controlling thread of one run: phases, samples and progress while the workers run.
class Supervisor {
 public:
  Supervisor(const Options& o, Shared& sh, RunResult& res, std::vector<std::unique_ptr<Worker>>& workers,
             const std::function<void(const std::string&)>& progress)
      : o_(o), sh_(sh), res_(res), workers_(workers), progress_(progress), mode_(workers.front()->strategy()) {}

  /// Until every worker is done.
  void supervise();
  /// The measured interval's length in seconds.
  double measured_seconds() const;

 private:
  bool all_done() const {
    return std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->done.load(); });
  }
  void begin_or_end(std::int64_t now, bool done);
  void report_progress(std::int64_t now);
  std::int64_t wake_time(std::int64_t now) const;

  const Options& o_;
  Shared& sh_;
  RunResult& res_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  const std::function<void(const std::string&)>& progress_;
  Strategy& mode_;
  const std::int64_t t0_ = now_ns();
  std::int64_t mode_end_ = kNever;  // the end the mode set itself (hold)
  bool begun_ = false, ended_ = false;
  std::int64_t begin_at_ = 0, end_at_ = 0;
  double cpu_begin_ = 0;
  std::int64_t next_progress_ = t0_ + kNsPerSecond;
  std::uint64_t last_units_ = 0;
};

void Supervisor::supervise() {
  const RunClock base{0, t0_ + std::max<std::int64_t>(o_.timeout.count(), kSettleMinNs), false};
  for (;;) {
    const std::int64_t now = now_ns();
    const bool done = all_done();
    RunClock at = base;
    at.now = now;
    at.ended = ended_;
    mode_end_ = std::min(mode_end_, mode_.control(sh_, res_, at));
    begin_or_end(now, done);
    if (done) return;
    if (now >= next_progress_) report_progress(now);
    sleep_ns(std::max<std::int64_t>(wake_time(now) - now, kMinSleepNs));
  }
}

void Supervisor::begin_or_end(std::int64_t now, bool done) {
  const std::int64_t t_end = mode_end_ != kNever ? mode_end_ : sh_.t_end.load();
  if (!begun_ && now >= sh_.t_measure.load()) {
    begun_ = true;
    begin_at_ = now;
    cpu_begin_ = self_cpu_seconds();
    if (o_.server_pid)
      if (auto s = sample_server(o_.server_pid)) res_.server_begin = *s;
  }
  if (begun_ && !ended_ && (now >= t_end || done)) {
    ended_ = true;
    end_at_ = now;
    res_.client_cpu_s = self_cpu_seconds() - cpu_begin_;
    if (o_.server_pid)
      if (auto s = sample_server(o_.server_pid)) res_.server_end = *s;
  }
}

void Supervisor::report_progress(std::int64_t now) {
  next_progress_ += kNsPerSecond;
  std::uint64_t units = 0, errors = 0;
  for (auto& w : workers_) {
    units += w->live_units.load(std::memory_order_relaxed);
    errors += w->live_errors.load(std::memory_order_relaxed);
  }
  const auto secs = (now - t0_) / kNsPerSecond;
  std::string line;
  if (std::string settling = mode_.settling_text(sh_); !settling.empty()) {
    line = fmt::format("[{:4d}s] {}, {} errors", secs, settling, errors);
  } else if (!begun_) {
    line = fmt::format("[{:4d}s] warming up, {} errors", secs, errors);
  } else {
    line = fmt::format("[{:4d}s] {} {}/s, {} errors", secs, units - last_units_, mode_.unit_name(), errors);
    last_units_ = units;
  }
  if (progress_) progress_(line);
}

std::int64_t Supervisor::wake_time(std::int64_t now) const {
  std::int64_t wake = std::min<std::int64_t>(next_progress_, now + kSuperviseNs);
  if (!begun_) wake = std::min(wake, std::max(now, sh_.t_measure.load()));
  const std::int64_t t_end = mode_end_ != kNever ? mode_end_ : sh_.t_end.load();
  if (begun_ && !ended_) wake = std::min(wake, std::max(now, t_end));
  return wake;
}

double Supervisor::measured_seconds() const {
  const std::int64_t t_measure = sh_.t_measure.load();
  const std::int64_t t_end = sh_.t_end.load();
  double s = static_cast<double>(end_at_ - begin_at_) / 1e9;
  if (mode_.fixed_interval() && o_.timed() && t_end != kNever && end_at_ >= t_end)
    s = static_cast<double>(t_end - t_measure) / 1e9;
  return s <= 0 ? 1e-9 : s;
}

void init_shared(const Options& o, Shared& sh, const Strategy& mode) {
  if (o.mode == Mode::irc) {
    sh.inflight = std::make_unique<std::atomic<int>[]>(o.senders);
    sh.progress_at = std::make_unique<std::atomic<std::int64_t>[]>(o.senders);
    for (std::uint32_t i = 0; i < o.senders; ++i) {
      sh.inflight[i].store(0);
      sh.progress_at[i].store(0);
    }
  }
  if (mode.measures_from_start()) {
    const std::int64_t t0 = now_ns();
    sh.t_measure.store(t0 + o.warmup.count());
    sh.t_end.store(o.timed() ? t0 + o.warmup.count() + o.duration.count() : kNever);
  }
}

}  // namespace

Result<RunResult> run(const Options& o, const std::function<void(const std::string&)>& progress) {
  if (auto r = check_descriptors(o); !r) return std::move(r).error();
  RunResult res;
  if (o.server_pid) {
    auto s = sample_server(o.server_pid);
    if (!s) return Error(errc::invalid_argument, fmt::format("no process {} (--server-pid)", o.server_pid));
    if (o.mode == Mode::hold || o.mode == Mode::irc_mix) res.hold_before = *s;  // RSS before any client
  }
  Shared sh(o);
  if (o.tls) {
    tls::ContextOptions co;
    co.role = tls::Role::client;
    co.verify = !o.tls_ca.empty();  // a load tool: no check unless a CA is named
    co.ca_file = o.tls_ca;
    auto ctx = tls::Context::create(co);
    if (!ctx) return Error(errc::invalid_argument, ctx.error().message());  // "tls: trust file x: ..."
    sh.tls = std::move(*ctx);
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<Worker>(sh, i, o.threads));
  init_shared(o, sh, workers.front()->strategy());
  Supervisor supervisor(o, sh, res, workers, progress);
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  supervisor.supervise();
  for (auto& t : threads) t.join();
  for (auto& w : workers) {
    res.stats.merge(w->stats);
    if (!w->fatal.empty() && res.note.empty()) res.note = w->fatal;
    if (!w->note.empty() && res.note.empty()) res.note = w->note;
    if (!w->tls_error().empty() && res.note.empty()) res.note = "first TLS failure: " + w->tls_error();
  }
  workers.front()->strategy().finish(res);
  res.measured_s = supervisor.measured_seconds();
  return res;
}

}  // namespace sockit::load
