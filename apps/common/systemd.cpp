// sd_notify and socket activation for the servers (systemd.hpp).
#include "common/systemd.hpp"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include <fcntl.h>

namespace sockit::sd {
namespace {

void notify(std::string text, std::string_view status) {
  if (!status.empty()) text += fmt::format("{}STATUS={}", text.empty() ? "" : "\n", status);
  if (text.empty()) return;
  (void)sd_notify(0, text.c_str());  // 0 without NOTIFY_SOCKET; nothing to do about a failure
}

}  // namespace

void notify_ready(std::string_view status) { notify("READY=1", status); }

void notify_reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
  notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec), "reloading the configuration");
}

void notify_stopping(std::string_view status) { notify("STOPPING=1", status); }

void notify_status(std::string_view status) { notify("", status); }

std::vector<int> listen_fds() {
  std::vector<int> fds;
  for (const NamedFd& f : listen_fds_with_names()) fds.push_back(f.fd);
  return fds;
}

std::vector<NamedFd> listen_fds_with_names() {
  std::vector<NamedFd> fds;
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);  // 1: unset LISTEN_* so children do not see them
  for (int i = 0; i < n; ++i) {
    int fd = SD_LISTEN_FDS_START + i;
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    fds.push_back({fd, names != nullptr && names[i] != nullptr ? names[i] : "unknown"});
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return fds;
}

}  // namespace sockit::sd
