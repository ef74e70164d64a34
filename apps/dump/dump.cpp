// `sockit dump`: capture or read packets with libpcap and print them like tcpdump -n.
// Decoding lives in sockit::pcapdecode (src/tools/dump); this file is the I/O shell: options,
// pcap handles, BPF filters, privilege drop, signals, output formats. See docs/DUMP.md.
#include "common/command.hpp"
#include "packet_decoder.hpp"
#include "tcp_tracker.hpp"

#include <fmt/core.h>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using sockit::cli::kExitFailure;
using sockit::cli::kExitOk;
using sockit::cli::kExitUsage;
namespace dump = sockit::dump;

constexpr int kExitNoPrivilege = 77;  // like automake's "skipped": cannot capture here
constexpr int kDefaultSnaplen = 262144;
// The capture buffer timeout, tcpdump's on a terminal: packets are handed over (and printed) at
// most this long after they arrive.
constexpr int kBufferTimeoutMs = 100;
constexpr long kMaxBufferKiB = 1L << 20;  // -B: 1 GiB
constexpr long kBytesPerKiB = 1024;

struct Options {
  std::string iface;
  bool list = false;
  std::string write_file, read_file;
  long count = 0;
  int snaplen = kDefaultSnaplen;
  long buffer_kib = 0;  // -B; 0 = libpcap's default (2 MiB), as tcpdump
  bool immediate = false;
  bool numeric = false;  // always numeric; accepted for tcpdump muscle memory
  bool line_buffered = false, link = false, quick = false;
  // tcpdump counts these flags: -x/-X/-A once = from the network header, twice (-xx, -XX, -AA)
  // = the link header too; -t..-ttttt the timestamp style; -v..-vvv the detail.
  int hex = 0, hex_ascii = 0, ascii = 0, tstamp = 0, verbose = 0;
  bool absolute_seq = false;
  bool follow = false, json = false, no_hints = false, no_summary = false;
  bool tls = false;  // --tls: sockit's TLS record view (not in tcpdump)
  std::string user;
  std::vector<std::string> filter;
};

// The decoder options with --tls set (kept apart from the tcpdump flags' aggregate).
dump::DecodeOptions with_tls(dump::DecodeOptions o, bool tls) {
  o.tls = tls;
  return o;
}

// The decoder options with the -v count set.
dump::DecodeOptions with_verbose(dump::DecodeOptions o, int verbose) {
  o.verbose = verbose;
  return o;
}

// The one handle the signal handler may touch (pcap_breakloop is async-signal-safe).
pcap_t* volatile g_handle = nullptr;
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void sockit_dump_on_stop_signal(int) {
  g_interrupted = 1;
  if (pcap_t* h = g_handle) pcap_breakloop(h);
}

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = sockit_dump_on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: let poll() return so the loop notices
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

void error_line(const std::string& msg) { fmt::print(stderr, "sockit dump: {}\n", msg); }

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

int list_interfaces() {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_if_t* devs = nullptr;
  if (pcap_findalldevs(&devs, err) != 0) {
    error_line(err);
    return kExitFailure;
  }
  int i = 0;
  for (pcap_if_t* d = devs; d; d = d->next) {
    std::string line = fmt::format("{}.{}", ++i, d->name);
    if (d->description) line += fmt::format(" ({})", d->description);
    std::vector<std::string> flags;
    if (d->flags & PCAP_IF_UP) flags.emplace_back("Up");
    if (d->flags & PCAP_IF_RUNNING) flags.emplace_back("Running");
    if (d->flags & PCAP_IF_WIRELESS) flags.emplace_back("Wireless");
    if (d->flags & PCAP_IF_LOOPBACK) {
      flags.emplace_back("Loopback");
    } else {
      switch (d->flags & PCAP_IF_CONNECTION_STATUS) {
        case PCAP_IF_CONNECTION_STATUS_CONNECTED: flags.emplace_back("Connected"); break;
        case PCAP_IF_CONNECTION_STATUS_DISCONNECTED: flags.emplace_back("Disconnected"); break;
        default: break;
      }
    }
    if (!flags.empty()) {
      line += " [";
      for (std::size_t k = 0; k < flags.size(); ++k) line += (k ? ", " : "") + flags[k];
      line += "]";
    }
    fmt::print("{}\n", line);
  }
  pcap_freealldevs(devs);
  std::fflush(stdout);
  return kExitOk;
}

// The interface tcpdump would pick: the first one pcap_findalldevs reports.
std::string default_interface() {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_if_t* devs = nullptr;
  std::string name;
  if (pcap_findalldevs(&devs, err) == 0 && devs) name = devs->name;
  if (devs) pcap_freealldevs(devs);
  return name;
}

bool permission_problem(int status, const char* msg) {
  if (status == PCAP_ERROR_PERM_DENIED || status == PCAP_ERROR_PROMISC_PERM_DENIED) return true;
  return msg && (std::strstr(msg, "Operation not permitted") || std::strstr(msg, "ermission denied"));
}

// Switches to `name` for good: supplementary groups, gid, uid, then checks root cannot come back.
bool drop_privileges(const std::string& name) {
  errno = 0;
  struct passwd* pw = getpwnam(name.c_str());
  if (!pw) {
    error_line(fmt::format("--user {}: no such user", name));
    return false;
  }
  if (geteuid() != 0) {
    error_line(fmt::format("--user {}: dropping privileges needs root (running as uid {})", name, geteuid()));
    return false;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  if (initgroups(pw->pw_name, gid) != 0 && setgroups(1, &gid) != 0) {
    error_line(fmt::format("--user {}: setgroups: {}", name, std::strerror(errno)));
    return false;
  }
  if (setgid(gid) != 0 || setuid(uid) != 0) {
    error_line(fmt::format("--user {}: setgid/setuid: {}", name, std::strerror(errno)));
    return false;
  }
  bool ok = getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid;
  if (ok && uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) ok = false;
  if (!ok) {
    error_line(fmt::format("--user {}: privileges were not dropped", name));
    return false;
  }
  return true;
}

std::string json_escape_bytes(std::string_view s) {
  // nlohmann::json requires UTF-8; map bytes >= 0x80 to '.'.
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) >= 0x80) c = '.';
  return out;
}

struct Capture {
  Options opt;
  dump::PacketDecoder decoder;
  dump::TcpTracker tracker;
  dump::TimestampPrinter stamps;
  pcap_dumper_t* dumper = nullptr;
  pcap_t* handle = nullptr;
  long captured = 0;
  bool output_failed = false;
  bool track = true;

  Capture(Options o, int linktype)
      : opt(std::move(o)),
        decoder(linktype, with_verbose(with_tls(dump::DecodeOptions{opt.link, opt.quick, opt.absolute_seq, !opt.no_hints},
                                                opt.tls),
                                       opt.verbose)),
        tracker(dump::TrackerLimits{opt.follow, 4U << 20, 64U << 20, 100000}),
        stamps(opt.tstamp) {}

  void write(const std::string& s) {
    if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size() || (opt.line_buffered && std::fflush(stdout) != 0)) {
      output_failed = true;
      pcap_breakloop(handle);
    }
  }

  void packet(const pcap_pkthdr* h, const u_char* bytes) {
    ++captured;
    if (dumper) {
      pcap_dump(reinterpret_cast<u_char*>(dumper), h, bytes);
      if (opt.line_buffered) pcap_dump_flush(dumper);
    }
    // Records a decoder must not trust (tcpdump's pretty_print_packet checks).
    std::string invalid;
    if (h->caplen == 0) invalid += " caplen==0";
    if (h->len == 0) invalid += std::string(invalid.empty() ? "" : ",") + " len==0";
    else if (h->len < h->caplen) invalid += fmt::format("{} len({}) < caplen({})", invalid.empty() ? "" : ",", h->len, h->caplen);
    if (h->caplen > static_cast<bpf_u_int32>(kDefaultSnaplen))
      invalid += fmt::format("{} caplen({}) > {}", invalid.empty() ? "" : ",", h->caplen, kDefaultSnaplen);
    if (!invalid.empty()) {
      if (!dumper && !opt.follow) {
        if (opt.json)
          write(nlohmann::json{{"type", "packet"}, {"invalid", "Invalid header:" + invalid}}.dump() + "\n");
        else
          write("[Invalid header:" + invalid + "]\n");
      }
      return;
    }
    std::span<const std::uint8_t> data(bytes, h->caplen);
    dump::Decoded d = decoder.decode(data, h->len);
    const double ts = static_cast<double>(h->ts.tv_sec) + static_cast<double>(h->ts.tv_usec) / 1e6;
    if (track && d.tcp) tracker.add(*d.tcp, ts);
    if (dumper || opt.follow) return;
    const std::string stamp = dump::format_timestamp(h->ts.tv_sec, h->ts.tv_usec);
    if (opt.json) {
      nlohmann::json j;
      j["type"] = "packet";
      j["ts"] = fmt::format("{}.{:06}", h->ts.tv_sec, h->ts.tv_usec);
      j["time"] = stamp;
      j["caplen"] = h->caplen;
      j["len"] = h->len;
      j["link"] = dump::link_type_name(decoder.linktype());
      j["proto"] = d.proto;
      if (!d.src.empty()) j["src"] = d.src;
      if (!d.dst.empty()) j["dst"] = d.dst;
      if (d.sport) j["sport"] = *d.sport;
      if (d.dport) j["dport"] = *d.dport;
      if (d.tcp) {
        j["flags"] = dump::tcp_flags_string(d.tcp->flags);
        j["seq"] = d.tcp->seq;
        j["ack"] = d.tcp->ack;
        j["win"] = d.tcp->win;
      }
      if (d.payload_len) j["payload_len"] = *d.payload_len;
      if (!d.hint.empty()) j["hint"] = d.hint;
      if (d.truncated) j["truncated"] = true;
      if (d.malformed) j["malformed"] = true;
      j["summary"] = json_escape_bytes(d.text);
      write(j.dump() + "\n");
      return;
    }
    std::string line = stamps.next(h->ts.tv_sec, h->ts.tv_usec) + d.text;
    auto net = data.subspan(std::min(d.network_offset, data.size()));
    // tcpdump hex-dumps payloads of unknown ethertypes even without -X (not with -q, -x, -X);
    // frames of an unsupported link type always.
    if (d.unsupported_link || (d.unknown_payload && !opt.hex && !opt.hex_ascii && !opt.quick))
      line += dump::hex_ascii_dump(net);
    // pretty_print_packet: -X before -x before -A; doubled, from the link header.
    if (opt.hex_ascii)
      line += dump::hex_ascii_dump(opt.hex_ascii > 1 ? data : net);
    else if (opt.hex)
      line += dump::hex_dump(opt.hex > 1 ? data : net);
    else if (opt.ascii && !(opt.ascii > 1 ? data : net).empty())
      line += dump::ascii_dump(opt.ascii > 1 ? data : net);
    line += '\n';
    write(line);
  }
};

extern "C" void sockit_dump_on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
  reinterpret_cast<Capture*>(user)->packet(h, bytes);
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    out += (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' ? ch : '.';
  }
  return out;
}

void print_follow(const dump::TcpTracker& tracker, bool json) {
  for (const auto& c : tracker.connections()) {
    if (json) {
      for (const auto& ch : c.chunks) {
        nlohmann::json j{{"type", "stream"}, {"conn", c.name()}, {"dir", ch.dir == 0 ? ">" : "<"}};
        if (ch.missing) j["missing"] = ch.missing;
        else j["data"] = json_escape_bytes(ch.data);
        fmt::print("{}\n", j.dump());
      }
      continue;
    }
    fmt::print("=== TCP {} ===\n", c.name());
    for (const auto& ch : c.chunks) {
      const char* arrow = ch.dir == 0 ? ">" : "<";
      if (ch.missing) {
        fmt::print("{} [{} bytes missing]\n", arrow, ch.missing);
        continue;
      }
      fmt::print("{} {} bytes\n", arrow, ch.data.size());
      std::string text = printable(ch.data);
      if (!text.empty() && text.back() != '\n') text += '\n';
      fmt::print("{}", text);
    }
    fmt::print("=== end: {}, {} bytes >, {} bytes <, {} retransmits, {} out of order ===\n", c.state(), c.bytes[0],
               c.bytes[1], c.retransmits, c.out_of_order);
  }
}

std::string rtt_text(const dump::Connection& c) {
  auto rtt = c.handshake_rtt();
  return rtt ? fmt::format("{:.3f} ms", *rtt * 1e3) : "-";
}

void print_summary(const dump::TcpTracker& tracker, bool json) {
  const auto& conns = tracker.connections();
  if (conns.empty()) return;
  if (json) {
    for (const auto& c : conns) {
      nlohmann::json j{{"type", "connection"}, {"client", c.client},   {"client_port", c.client_port},
                       {"server", c.server},   {"server_port", c.server_port},
                       {"packets_to_server", c.packets[0]}, {"packets_to_client", c.packets[1]},
                       {"bytes_to_server", c.bytes[0]},     {"bytes_to_client", c.bytes[1]},
                       {"retransmits", c.retransmits},      {"out_of_order", c.out_of_order},
                       {"resets", c.resets},                {"state", c.state()},
                       {"duration_ms", std::round((c.last_ts - c.first_ts) * 1e6) / 1e3}};
      if (auto rtt = c.handshake_rtt()) j["handshake_rtt_ms"] = std::round(*rtt * 1e6) / 1e3;
      fmt::print("{}\n", j.dump());
    }
    return;
  }
  fmt::print(stderr, "{} TCP connection{}:\n", conns.size(), conns.size() == 1 ? "" : "s");
  for (const auto& c : conns) {
    fmt::print(stderr,
               "  {}: handshake rtt {}, {} bytes >, {} bytes <, {} packets, {} retransmits, {} resets, {}\n",
               c.name(), rtt_text(c), c.bytes[0], c.bytes[1], c.packets[0] + c.packets[1], c.retransmits, c.resets,
               c.state());
  }
}

const char* plural(unsigned long n) { return n == 1 ? "" : "s"; }

void check_options(Options& o) {
  if (!o.read_file.empty() && !o.iface.empty()) throw sockit::cli::UsageError("-r and -i cannot be combined");
  if (o.snaplen < 0) throw sockit::cli::UsageError(fmt::format("invalid snaplen {}", o.snaplen));
  if (o.snaplen == 0 || o.snaplen > kDefaultSnaplen) o.snaplen = kDefaultSnaplen;
  if (o.count < 0) throw sockit::cli::UsageError(fmt::format("invalid packet count {}", o.count));
  if (o.tstamp > dump::TimestampPrinter::kMaxStyle)
    throw sockit::cli::UsageError("only -t, -tt, -ttt, -tttt and -ttttt are supported");
  if (o.buffer_kib < 0 || o.buffer_kib > kMaxBufferKiB)
    throw sockit::cli::UsageError(fmt::format("invalid -B/--buffer-size {} KiB (1 to {})", o.buffer_kib, kMaxBufferKiB));
}

using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

// pcap_activate's failure as tcpdump words it, and its exit code.
int activate_failed(const Options& o, pcap_t* p, int st) {
  const char* msg = pcap_geterr(p);
  if (permission_problem(st, msg)) {
    error_line(fmt::format("{}: no permission to capture (needs root or CAP_NET_RAW+CAP_NET_ADMIN)", o.iface));
    return kExitNoPrivilege;
  }
  if (st == PCAP_ERROR_NO_SUCH_DEVICE)
    error_line(fmt::format("{}: no such device (see sockit dump -D)", o.iface));
  else
    error_line(fmt::format("{}: {}", o.iface, (msg && *msg) ? msg : pcap_statustostr(st)));
  return kExitFailure;
}

// Opens -i (or the default interface) for capture; kExitOk or the exit code of the failure.
int open_live(Options& o, PcapHandle& handle) {
  char err[PCAP_ERRBUF_SIZE] = {};
  if (o.iface.empty()) o.iface = default_interface();
  if (o.iface.empty()) {
    error_line("no capture interface found (try -D, or -i lo)");
    return kExitFailure;
  }
  handle.reset(pcap_create(o.iface.c_str(), err));
  if (!handle) {
    error_line(fmt::format("{}: {}", o.iface, err));
    return kExitFailure;
  }
  pcap_t* p = handle.get();
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, 0);
  // Not immediate mode by default, as tcpdump: libpcap then uses TPACKET_V3, whose blocks hold
  // packets at their captured size (thousands in 2 MiB), where immediate mode's TPACKET_V2 ring
  // has fixed slots sized for the snapshot length: at -s 262144 only a handful fit in 2 MiB, so
  // on `any` (every lo packet seen twice) a few short connections overran it while the lines
  // were printed and the kernel dropped SYNs and FINs. The 100 ms timeout bounds the delay.
  pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
  pcap_set_timeout(p, kBufferTimeoutMs);
  if (o.buffer_kib > 0) pcap_set_buffer_size(p, static_cast<int>(o.buffer_kib * kBytesPerKiB));
  const int st = pcap_activate(p);
  if (st < 0) return activate_failed(o, p, st);
  if (st > 0) error_line(fmt::format("warning: {}: {}", o.iface, pcap_geterr(p)));
  // -i any: prefer Linux cooked v2 (interface names), as tcpdump 4.99 does.
  if (o.iface == "any") pcap_set_datalink(p, DLT_LINUX_SLL2);
  return kExitOk;
}

int open_capture(Options& o, PcapHandle& handle) {
  if (o.read_file.empty()) return open_live(o, handle);
  char err[PCAP_ERRBUF_SIZE] = {};
  handle.reset(pcap_open_offline(o.read_file.c_str(), err));
  if (handle) return kExitOk;
  error_line(err);
  return kExitFailure;
}

// The filter words as one expression, compiled and set; kExitOk or the exit code of the failure.
int set_filter(pcap_t* p, const std::vector<std::string>& words) {
  std::string filter;
  for (const auto& w : words) filter += (filter.empty() ? "" : " ") + w;
  if (filter.empty()) return kExitOk;
  bpf_program prog{};
  if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    error_line(fmt::format("bad filter expression '{}': {}", filter, pcap_geterr(p)));
    return kExitUsage;
  }
  const int rc = pcap_setfilter(p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) {
    error_line(fmt::format("cannot set filter: {}", pcap_geterr(p)));
    return kExitFailure;
  }
  return kExitOk;
}

void print_listening(const Options& o, pcap_t* p, int linktype) {
  // As tcpdump: libpcap's name and description of the link type, or its number when libpcap has
  // no name for it (frames of a link type sockit does not decode print "UNSUPPORTED" + hex).
  const char* lt_name = pcap_datalink_val_to_name(linktype);
  const char* lt_desc = pcap_datalink_val_to_description(linktype);
  const std::string lt = lt_name ? fmt::format("{} ({})", lt_name, lt_desc ? lt_desc : "") : std::to_string(linktype);
  if (o.read_file.empty())
    fmt::print(stderr, "sockit dump: listening on {}, link-type {}, snapshot length {} bytes\n", o.iface, lt,
               pcap_snapshot(p));
  else
    fmt::print(stderr, "reading from file {}, link-type {}, snapshot length {}\n", o.read_file, lt, pcap_snapshot(p));
  std::fflush(stderr);
}

void print_capture_stats(pcap_t* p, const Capture& cap) {
  pcap_stat st{};
  if (g_interrupted && isatty(STDERR_FILENO)) fmt::print(stderr, "\n");  // after the terminal's ^C
  fmt::print(stderr, "{} packet{} captured\n", cap.captured, plural(static_cast<unsigned long>(cap.captured)));
  if (pcap_stats(p, &st) != 0) return;
  fmt::print(stderr, "{} packet{} received by filter\n", st.ps_recv, plural(st.ps_recv));
  fmt::print(stderr, "{} packet{} dropped by kernel\n", st.ps_drop, plural(st.ps_drop));
}

int run(Options o) {
  if (o.list) return list_interfaces();
  check_options(o);
  PcapHandle handle;
  if (int rc = open_capture(o, handle); rc != kExitOk) return rc;
  pcap_t* p = handle.get();
  const bool live = o.read_file.empty();

  if (!o.user.empty() && !drop_privileges(o.user)) return kExitFailure;
  if (int rc = set_filter(p, o.filter); rc != kExitOk) return rc;

  const int linktype = pcap_datalink(p);
  Capture cap(o, linktype);
  cap.handle = p;
  std::unique_ptr<pcap_dumper_t, DumperCloser> dumper;
  if (!o.write_file.empty()) {
    dumper.reset(pcap_dump_open(p, o.write_file.c_str()));
    if (!dumper) {
      error_line(pcap_geterr(p));
      return kExitFailure;
    }
    cap.dumper = dumper.get();
  }
  print_listening(o, p, linktype);

  g_handle = p;
  install_signals();
  int rc = g_interrupted ? PCAP_ERROR_BREAK
                         : pcap_loop(p, o.count > 0 ? static_cast<int>(std::min<long>(o.count, INT_MAX)) : -1, sockit_dump_on_packet, reinterpret_cast<u_char*>(&cap));
  g_handle = nullptr;
  std::fflush(stdout);
  if (dumper) pcap_dump_flush(dumper.get());

  int status = kExitOk;
  if (rc == PCAP_ERROR) {
    error_line(fmt::format("{}: {}", live ? o.iface : o.read_file, pcap_geterr(p)));
    status = kExitFailure;
  }
  cap.tracker.finish();
  if (o.follow && !cap.output_failed) print_follow(cap.tracker, o.json);
  if (!o.no_summary && !cap.output_failed) print_summary(cap.tracker, o.json);
  std::fflush(stdout);

  if (live) print_capture_stats(p, cap);
  return status;
}

}  // namespace

SOCKIT_COMMAND(dump, "dump", "capture and decode packets (tcpdump)", [](CLI::App& app) -> sockit::cli::Runner {
  auto o = std::make_shared<Options>();
  app.add_option("-i,--interface", o->iface, "capture on this interface (lo, any, ...); default: the first one");
  app.add_flag("-D,--list-interfaces", o->list, "list the interfaces that can be captured on");
  app.add_option("-w", o->write_file, "write raw packets to this pcap file ('-' = stdout) instead of printing");
  app.add_option("-r", o->read_file, "read packets from this pcap file ('-' = stdin)");
  app.add_option("-c", o->count, "stop after this many packets");
  app.add_option("-s,--snapshot-length", o->snaplen, "bytes captured per packet (0 = 262144)");
  app.add_option("-B,--buffer-size", o->buffer_kib, "capture buffer size in KiB (0 or default: libpcap's 2048)");
  app.add_flag("--immediate-mode", o->immediate,
               "hand each packet over at once (a ring of snapshot-sized slots: drops under bursts)");
  app.add_flag("-n", o->numeric, "numeric addresses and ports (always on)");
  app.add_flag("-x", o->hex, "print each packet (without link header) in hex; -xx: with it");
  app.add_flag("-X", o->hex_ascii, "print each packet (without link header) in hex and ASCII; -XX: with it");
  app.add_flag("-A", o->ascii, "print each packet (without link header) in ASCII; -AA: with it");
  app.add_flag("-t", o->tstamp,
               "-t no timestamp, -tt seconds since the epoch, -ttt delta to the previous packet, "
               "-tttt date and time, -ttttt delta to the first packet");
  app.add_flag("-v", o->verbose, "verbose: IP header fields, checksums (-vv, -vvv: more)");
  app.add_flag("-l", o->line_buffered, "flush output after each packet");
  app.add_flag("-e", o->link, "print the link-level header");
  app.add_flag("-q", o->quick, "quick output: less protocol information");
  app.add_flag("-S", o->absolute_seq, "absolute TCP sequence numbers");
  app.add_flag("--follow", o->follow, "print reassembled TCP conversations instead of packets");
  app.add_flag("--json", o->json, "one JSON object per packet (NDJSON), then one per connection");
  app.add_flag("--no-hints", o->no_hints, "no echo/IRC application hints (plain tcpdump lines)");
  app.add_flag("--tls", o->tls,
               "after each TCP segment that starts TLS records: record types, ClientHello SNI/ALPN/versions, "
               "ServerHello choice, alert names (not in tcpdump)");
  app.add_flag("--no-summary", o->no_summary, "no per-connection summary at the end");
  app.add_option("--user", o->user, "when root: switch to this user once the capture is open");
  app.add_option("filter", o->filter, "BPF filter expression (pcap-filter(7)), e.g. tcp port 7007");
  app.footer(
      "Exit status: 0 ok, 1 error (no such device, unreadable file), 2 usage or bad filter,\n"
      "77 no permission to capture. End statistics go to stderr.");
  return [o] { return run(*o); };
});
