// Internal header of `sockit ss`: which processes hold which sockets (ss -p), from /proc.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sockit::ss {

struct ProcessRef {
  std::string name;  ///< comm, from /proc/PID/stat
  int pid = 0;
  int fd = 0;
};

/// Socket inode -> holders, sorted by (pid, fd).
using UsersMap = std::unordered_map<std::uint32_t, std::vector<ProcessRef>>;

/// Reads every PROC_ROOT/<pid>/fd/<n> link of the form "socket:[INODE]". Processes we may not
/// inspect (other users without CAP_SYS_PTRACE) are skipped silently, as ss does. Cost: one
/// readlink per open descriptor on the machine; call once per refresh. `proc_root` is for tests.
UsersMap scan_processes(const std::string& proc_root = "/proc");

/// ss text: ("nginx",pid=12,fd=6),("nginx",pid=13,fd=6) -- without the users:( ) wrapper.
std::string users_text(const std::vector<ProcessRef>& users);

}  // namespace sockit::ss
