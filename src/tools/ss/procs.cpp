// /proc scan for ss -p: pid -> fd -> "socket:[inode]".
#include "procs.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sockit::ss {
namespace {

bool all_digits(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (!std::isdigit(static_cast<unsigned char>(*s))) return false;
  return true;
}

std::string comm_of(const std::string& pid_dir) {
  std::ifstream in(pid_dir + "/stat");
  std::string line;
  std::getline(in, line);
  auto open = line.find('(');
  auto close = line.rfind(')');  // comm may itself contain ')'
  if (open == std::string::npos || close == std::string::npos || close < open) return "?";
  return line.substr(open + 1, close - open - 1);
}

}  // namespace

UsersMap scan_processes(const std::string& proc_root) {
  UsersMap map;
  DIR* procs = ::opendir(proc_root.c_str());
  if (!procs) return map;
  while (dirent* p = ::readdir(procs)) {
    if (!all_digits(p->d_name)) continue;
    std::string pid_dir = proc_root + "/" + p->d_name;
    std::string fd_dir = pid_dir + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (!fds) continue;
    std::string comm;
    int pid = std::atoi(p->d_name);
    while (dirent* f = ::readdir(fds)) {
      if (!all_digits(f->d_name)) continue;
      char link[64];
      std::string path = fd_dir + "/" + f->d_name;
      ssize_t n = ::readlink(path.c_str(), link, sizeof link - 1);
      if (n <= 0) continue;
      link[n] = '\0';
      unsigned long ino = 0;
      char tail = 0;
      if (std::sscanf(link, "socket:[%lu%c", &ino, &tail) != 2 || tail != ']') continue;
      if (comm.empty()) comm = comm_of(pid_dir);
      map[static_cast<std::uint32_t>(ino)].push_back(ProcessRef{comm, pid, std::atoi(f->d_name)});
    }
    ::closedir(fds);
  }
  ::closedir(procs);
  for (auto& [ino, users] : map)
    std::sort(users.begin(), users.end(), [](const ProcessRef& a, const ProcessRef& b) {
      return a.pid != b.pid ? a.pid < b.pid : a.fd < b.fd;
    });
  return map;
}

std::string users_text(const std::vector<ProcessRef>& users) {
  std::string out;
  for (const auto& u : users) {
    if (!out.empty()) out += ',';
    out += "(\"" + u.name + "\",pid=" + std::to_string(u.pid) + ",fd=" + std::to_string(u.fd) + ")";
  }
  return out;
}

}  // namespace sockit::ss
