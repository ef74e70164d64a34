// Helpers of the `sockit dump` integration tests (dump_test.cpp, apps_test.cpp): output lines,
// tool lookup, a per-process temporary directory, pcap rewriting for truncation tests, and
// waiting for a capture file to hold the packets a test made.
#pragma once

#include "support/support.hpp"

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace sockit::test {

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) v.push_back(l);
  return v;
}

inline int count_of(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// Reads the capture file being written with `reader` (argv ending in the file) until `done`
// holds for its output or 10 s pass; returns the last output.
inline std::string poll_capture_file(const std::vector<std::string>& reader,
                                     const std::function<bool(const std::string&)>& done) {
  std::string out;
  wait_until(
      [&] {
        out = run(reader).out;
        return done(out);
      },
      std::chrono::seconds(10), std::chrono::milliseconds(50));
  return out;
}

// A tcpdump capture on lo into `file`, started and ready (nullopt: cannot capture here).
inline std::optional<Child> start_tcpdump(const std::string& file, const std::string& filter,
                                          const std::string& user = "root") {
  Child td = Child::spawn({"tcpdump", "-i", "lo", "--immediate-mode", "-U", "-Z", user, "-w", file, filter});
  if (td.read_stderr_until("listening on", std::chrono::seconds(10)).find("listening on") == std::string::npos)
    return std::nullopt;
  return td;
}

// Waits until `tcpdump -n -r file` shows what `done` wants (deadline 10 s), then stops tcpdump;
// returns that output.
inline std::string finish_capture(Child& td, const std::string& file, const std::function<bool(const std::string&)>& done) {
  std::string out = poll_capture_file({"tcpdump", "-n", "-r", file}, done);
  td.signal(SIGTERM);
  td.read_stderr(std::chrono::seconds(5));
  td.wait(std::chrono::seconds(5));
  return out;
}

inline bool have_tool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

inline std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("sockit-dump-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

struct TempDirCleanup {
  ~TempDirCleanup() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("sockit-dump-" + std::to_string(getpid())), ec);
  }
};

// Rewrites a little-endian classic pcap so that every frame appears once per possible capture
// length (1..caplen, original length kept): every truncation point of every header.
inline bool write_all_truncations(const std::string& in_path, const std::string& out_path) {
  std::ifstream in(in_path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  if (all.size() < 24 || all.compare(0, 4, "\xd4\xc3\xb2\xa1") != 0) return false;
  auto u32 = [&](std::size_t off) {
    std::uint32_t v;
    std::memcpy(&v, all.data() + off, 4);
    return v;
  };
  std::string out = all.substr(0, 24);
  for (std::size_t off = 24; off + 16 <= all.size();) {
    std::uint32_t caplen = u32(off + 8);
    std::string hdr = all.substr(off, 16);
    std::string frame = all.substr(off + 16, caplen);
    for (std::uint32_t n = 1; n <= frame.size(); ++n) {
      std::string h = hdr;
      std::memcpy(h.data() + 8, &n, 4);
      out += h + frame.substr(0, n);
    }
    off += 16 + caplen;
  }
  std::ofstream(out_path, std::ios::binary) << out;
  return true;
}

}  // namespace sockit::test
