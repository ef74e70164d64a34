// ss -s: the same counters and layout as iproute2 6.1.
#include "summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace sockit::ss {
namespace {

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

/// Value following `key` in a "LABEL: key v key v" line, or 0.
int value_of(const std::vector<std::string>& w, const char* key) {
  for (std::size_t i = 1; i + 1 < w.size(); ++i)
    if (w[i] == key) return std::atoi(w[i + 1].c_str());
  return 0;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

void parse_sockstat(std::string_view text, Summary& s) {
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto w = split_words(line);
    if (w.empty()) continue;
    const std::string& id = w[0];
    if (id == "sockets:") s.sockets_used = value_of(w, "used");
    else if (id == "TCP:") {
      s.tcp_inuse4 = value_of(w, "inuse");
      s.tcp_orphan = value_of(w, "orphan");
      s.tcp_tw = value_of(w, "tw");
      s.tcp_alloc = value_of(w, "alloc");
      s.tcp_mem_pages = value_of(w, "mem");
    } else if (id == "TCP6:") s.tcp_inuse6 = value_of(w, "inuse");
    else if (id == "UDP:") s.udp4 = value_of(w, "inuse");
    else if (id == "UDP6:") s.udp6 = value_of(w, "inuse");
    else if (id == "RAW:") s.raw4 = value_of(w, "inuse");
    else if (id == "RAW6:") s.raw6 = value_of(w, "inuse");
    else if (id == "FRAG:") s.frag4 = value_of(w, "inuse");
    else if (id == "FRAG6:") s.frag6 = value_of(w, "inuse");
  }
}

int parse_snmp_curr_estab(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> header;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Tcp:", 0) != 0) continue;
    auto w = split_words(line);
    if (header.empty()) {
      header = w;
      continue;
    }
    for (std::size_t i = 1; i < header.size() && i < w.size(); ++i)
      if (header[i] == "CurrEstab") return std::atoi(w[i].c_str());
    return -1;
  }
  return -1;
}

Result<Summary> read_summary(const std::string& proc_root) {
  Summary s;
  std::string text;
  if (!read_file(proc_root + "/net/sockstat", text))
    return Error(std::error_code(errno ? errno : ENOENT, std::system_category()), proc_root + "/net/sockstat");
  parse_sockstat(text, s);
  if (read_file(proc_root + "/net/sockstat6", text)) parse_sockstat(text, s);
  if (read_file(proc_root + "/net/snmp", text)) s.tcp_established = std::max(0, parse_snmp_curr_estab(text));
  return s;
}

std::string format_summary(const Summary& s) {
  std::string out;
  int tcp_hashed = s.tcp_inuse4 + s.tcp_inuse6;
  out += fmt::format("Total: {}\n", s.sockets_used);
  out += fmt::format("TCP:   {} (estab {}, closed {}, orphaned {}, timewait {})\n", s.tcp_alloc + s.tcp_tw,
                     s.tcp_established, s.tcp_alloc - (tcp_hashed - s.tcp_tw), s.tcp_orphan, s.tcp_tw);
  out += "\nTransport Total     IP        IPv6\n";
  auto row = [&](const char* name, int v4, int v6) {
    out += fmt::format("{}\t  {:<9} {:<9} {:<9}\n", name, v4 + v6, v4, v6);
  };
  row("RAW", s.raw4, s.raw6);
  row("UDP", s.udp4, s.udp6);
  row("TCP", s.tcp_inuse4, s.tcp_inuse6);
  row("INET", s.raw4 + s.udp4 + s.tcp_inuse4, s.raw6 + s.udp6 + s.tcp_inuse6);
  row("FRAG", s.frag4, s.frag6);
  out += "\n";
  return out;
}

}  // namespace sockit::ss
