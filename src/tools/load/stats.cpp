#include "stats.hpp"

#include "sockit/net/error.hpp"

#include <cerrno>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace sockit::load {

std::string_view to_string(ErrorKind k) noexcept {
  switch (k) {
    case ErrorKind::refused: return "refused";
    case ErrorKind::reset: return "reset";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::short_read: return "short_read";
    case ErrorKind::mismatch: return "mismatch";
    case ErrorKind::other: return "other";
    case ErrorKind::tls: return "tls";
  }
  return "other";
}

ErrorKind classify_errno(int err) noexcept {
  switch (err) {
    case ECONNREFUSED: return ErrorKind::refused;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED: return ErrorKind::reset;
    case ETIMEDOUT: return ErrorKind::timeout;
    default: return ErrorKind::other;
  }
}

std::uint64_t Stats::error_total() const noexcept {
  std::uint64_t t = 0;
  for (auto e : errors) t += e;
  return t;
}

void Stats::merge(const Stats& o) noexcept {
  units += o.units;
  bytes_out += o.bytes_out;
  bytes_in += o.bytes_in;
  for (std::size_t i = 0; i < kErrorKinds; ++i) errors[i] += o.errors[i];
  latency.merge(o.latency);
  latency_raw.merge(o.latency_raw);
  sent += o.sent;
  late += o.late;
  sent_all += o.sent_all;
  delivered_all += o.delivered_all;
  held += o.held;
  failed += o.failed;
  dropped += o.dropped;
  alive += o.alive;
  resumed += o.resumed;
  mix.add(o.mix);
}

namespace {

// Fields 14..17 of /proc/PID/stat (utime stime cutime cstime) and field 4 (ppid), in ticks.
bool read_stat(const std::string& path, long& ppid, double& own, double& children) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  std::vector<std::string> f;  // f[0] is field 3 (state)
  while (rest >> field && f.size() < 16) f.push_back(field);
  if (f.size() < 16) return false;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  ppid = std::stol(f[1]);
  own = (std::stod(f[11]) + std::stod(f[12])) / hz;
  children = (std::stod(f[13]) + std::stod(f[14])) / hz;
  return true;
}

}  // namespace

Result<ServerSample> sample_server(int pid) {
  ServerSample s;
  long ppid = 0;
  double own = 0, reaped = 0;
  if (!read_stat("/proc/" + std::to_string(pid) + "/stat", ppid, own, reaped))
    return Error(std::error_code(ESRCH, std::system_category()), "server pid " + std::to_string(pid));
  s.cpu_s = own + reaped;
  // Live children (the fork model): their CPU is not in cutime until they are reaped.
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      long pp = 0;
      double o = 0, c = 0;
      if (read_stat(std::string("/proc/") + e->d_name + "/stat", pp, o, c) && pp == pid) s.cpu_s += o;
    }
    closedir(d);
  }
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (st >> key) {
    if (key == "VmRSS:") st >> s.rss_kib;
    else if (key == "RssAnon:") st >> s.rss_anon_kib;
    st.ignore(1 << 20, '\n');
  }
  return s;
}

double self_cpu_seconds() noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

}  // namespace sockit::load
