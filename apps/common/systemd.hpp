// Internal header of the sockit executable: the servers' side of systemd (docs/OPERATIONS.md
// "systemd"), over Debian's libsystemd. Every call is a no-op outside systemd.
//   - sd_notify: READY=1 once listening, RELOADING=1 + MONOTONIC_USEC on SIGHUP, STOPPING=1,
//     STATUS= lines (Type=notify units; NOTIFY_SOCKET unset -> nothing is sent).
//   - socket activation: the listening sockets systemd passed (LISTEN_PID, LISTEN_FDS), which
//     serve::ServerOptions::listen_fds adopts instead of binding.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sockit::sd {

/// READY=1 with STATUS=status (if not empty).
void notify_ready(std::string_view status = {});
/// RELOADING=1 and MONOTONIC_USEC=now, as Type=notify-reload wants; notify_ready() ends it.
void notify_reloading();
/// STOPPING=1 with STATUS=status (if not empty).
void notify_stopping(std::string_view status = {});
void notify_status(std::string_view status);

/// The descriptors systemd passed to this process (3, 4, ...), close-on-exec; LISTEN_PID,
/// LISTEN_FDS and LISTEN_FDNAMES are unset so children do not take them. Empty when there are none
/// (or they were meant for another process).
std::vector<int> listen_fds();

/// A descriptor systemd passed and its name (FileDescriptorName=, LISTEN_FDNAMES; "unknown"
/// when none was given, as sd_listen_fds_with_names says).
struct NamedFd {
  int fd = -1;
  std::string name;
};
/// listen_fds() with the names.
std::vector<NamedFd> listen_fds_with_names();

}  // namespace sockit::sd
