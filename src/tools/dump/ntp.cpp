// NTP as tcpdump 4.99 prints it (print-ntp.c and ntp.c): version and mode, and with -v the
// header fields, the four timestamps and their differences, control-message fields.
#include "app_decoders.hpp"

#include <fmt/format.h>

#include <ctime>

namespace sockit::dump::app {

namespace {

constexpr std::uint32_t kTimeMsgMinLen = 48;  // NTP_TIMEMSG_MINLEN
constexpr std::uint32_t kCtrlMsgMinLen = 12;  // NTP_CTRLMSG_MINLEN
constexpr double kFMaxInt = 4294967296.0;
constexpr std::int64_t kJan1970 = 2208988800LL;

const char* mode_name(unsigned mode) {
  static constexpr const char* kModes[] = {"unspecified", "symmetric active", "symmetric passive", "Client",
                                           "Server",      "Broadcast",        "Control Message",   "Reserved"};
  return kModes[mode & 7];
}

const char* leap_name(unsigned leap) {
  switch (leap) {
    case 0x00: return "";
    case 0x40: return "+1s";
    case 0x80: return "-1s";
    default: return "clock unsynchronized";
  }
}

// p_sfix: a 16.16 fixed-point value as "%u.%06u".
std::string sfix(const Bytes& b, std::size_t off) {
  unsigned i = b.be16(off), f = b.be16(off + 2);
  double ff = f / 65536.0;
  return fmt::format("{}.{:06}", i, static_cast<unsigned>(ff * 1000000.0));
}

unsigned ppb(std::uint32_t fraction) {
  double ff = static_cast<double>(fraction) / kFMaxInt;
  return static_cast<unsigned>(ff * 1000000000.0);
}

// p_ntp_time: "%u.%09u" and, when the seconds are not 0, " (YYYY-MM-DDTHH:MM:SSZ)".
std::string ntp_time(const Bytes& b, std::size_t off) {
  std::uint32_t i = b.be32(off), uf = b.be32(off + 4);
  std::string s = fmt::format("{}.{:09}", i, ppb(uf));
  if (i) {
    std::time_t seconds = static_cast<std::time_t>(static_cast<std::int64_t>(i) - kJan1970);
    std::tm tm{};
    if (gmtime_r(&seconds, &tm)) {
      char buf[64];
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
      s += fmt::format(" ({})", buf);
    } else {
      s += " ([Time is too large to fit into a time_t])";
    }
  }
  return s;
}

// p_ntp_delta: lfp - olfp as a signed seconds.nanoseconds; lfp itself when olfp's seconds are 0.
std::string ntp_delta(const Bytes& b, std::size_t olfp, std::size_t lfp) {
  std::uint32_t u = b.be32(lfp), ou = b.be32(olfp), uf = b.be32(lfp + 4), ouf = b.be32(olfp + 4);
  if (ou == 0) return ntp_time(b, lfp);
  auto i = static_cast<std::int32_t>(u - ou);
  bool negative = false;
  std::uint32_t f = 0;
  if (i > 0) {
    f = uf - ouf;
    if (ouf > uf) i -= 1;
  } else if (i < 0) {
    negative = true;
    f = ouf - uf;
    if (uf > ouf) i += 1;
    // tcpdump's `i = -i` wraps INT32_MIN to itself (printing "--2147483648"); negate modulo 2^32
    // for the same text without signed overflow.
    i = static_cast<std::int32_t>(0U - static_cast<std::uint32_t>(i));
  } else if (uf > ouf) {
    f = uf - ouf;
  } else {
    negative = true;
    f = ouf - uf;
  }
  return fmt::format("{}{}.{:09}", negative ? "-" : "+", i, ppb(f));
}

std::string poll_text(int poll) {
  if (poll <= -32 || poll >= 32) return {};
  if (poll >= 0) return fmt::format(" ({}s)", 1U << poll);
  return fmt::format(" (1/{}s)", 1U << -poll);
}

// nd_print_invalid, then tcpdump checks that the whole message was captured.
void invalid(std::string& out, const Bytes& b, std::uint32_t length) {
  out += " (invalid)";
  if (!b.have(0, length)) out += " [|ntp]";
}

void time_print(std::string& out, const Bytes& b, std::uint32_t length) {
  if (length < kTimeMsgMinLen) return invalid(out, b, length);
  const unsigned stratum = b.u8(1);
  const char* sname = stratum == 0 ? "unspecified" : stratum == 1 ? "primary reference"
                      : stratum <= 15                           ? "secondary reference"
                                                                : "reserved";
  out += fmt::format(", Stratum {} ({})", stratum, sname);
  const int poll = static_cast<std::int8_t>(b.u8(2));
  out += fmt::format(", poll {}{}", poll, poll_text(poll));
  out += fmt::format(", precision {}", static_cast<std::int8_t>(b.u8(3)));
  b.need(4, 4);
  out += "\n\tRoot Delay: " + sfix(b, 4);
  out += ", Root dispersion: " + sfix(b, 8);
  b.need(12, 4);
  out += ", Reference-ID: ";
  switch (stratum) {
    case 0: out += "(unspec)"; break;
    case 1:
      for (std::size_t k = 12; k < 16; ++k) print_char(out, b.u8(k));
      break;
    case 62: out += b.ip4(12) + " INFO_QUERY"; return;
    case 63: out += b.ip4(12) + " INFO_REPLY"; return;
    default: out += fmt::format("0x{:08x}", b.be32(12)); break;
  }
  out += "\n\t  Reference Timestamp:  " + ntp_time(b, 16);
  out += "\n\t  Originator Timestamp: " + ntp_time(b, 24);
  out += "\n\t  Receive Timestamp:    " + ntp_time(b, 32);
  out += "\n\t  Transmit Timestamp:   " + ntp_time(b, 40);
  out += "\n\t    Originator - Receive Timestamp:  " + ntp_delta(b, 24, 32);
  out += "\n\t    Originator - Transmit Timestamp: " + ntp_delta(b, 24, 40);
  if (length == kTimeMsgMinLen + 4) {
    out += fmt::format("\n\tKey id: {}", b.be32(48));
  } else if (length == kTimeMsgMinLen + 4 + 16 || length == kTimeMsgMinLen + 4 + 20) {
    out += fmt::format("\n\tKey id: {}", b.be32(48));
    b.need(52, length - 52);  // one printf in tcpdump: every word is read before anything is printed
    out += "\n\tAuthentication: ";
    for (std::size_t k = 52; k < length; k += 4) out += fmt::format("{:08x}", b.be32(k));
  } else if (length > kTimeMsgMinLen) {
    out += fmt::format("\n\t({} more bytes after the header)", length - kTimeMsgMinLen);
  }
}

void control_print(std::string& out, const Bytes& b, std::uint32_t length) {
  const unsigned control = b.u8(1);
  out += fmt::format(", {}, {}, {}, OpCode={}\n", (control & 0x80) ? "Response" : "Request",
                     (control & 0x40) ? "Error" : "OK", (control & 0x20) ? "More" : "Last", control & 0x1f);
  out += fmt::format("\tSequence={}", b.be16(2));
  const unsigned status = b.be16(4);
  out += status ? fmt::format(", Status={:#x}", status) : std::string(", Status=0");
  out += fmt::format(", Assoc.={}", b.be16(6));
  out += fmt::format(", Offset={}", b.be16(8));
  const unsigned count = b.be16(10);
  out += fmt::format(", Count={}", count);
  if (kCtrlMsgMinLen + count > length) return invalid(out, b, length);
  if (count != 0) {
    if (!b.have(12, count)) {
      out += " [|ntp]";
      return;
    }
    out += "\n\tTO-BE-DONE: data not interpreted";
  }
}

}  // namespace

void ntp_print(std::string& out, Bytes b, std::uint32_t length, int verbose) {
  const unsigned status = b.u8(0);
  out += fmt::format("NTPv{}", (status & 0x38) >> 3);
  const unsigned mode = status & 0x07;
  out += fmt::format(", {}, length {}", mode_name(mode), length);
  if (!verbose) return;
  const unsigned leap = status & 0xc0;
  out += fmt::format("\n\tLeap indicator: {} ({})", leap_name(leap), leap);
  if (mode <= 5)
    time_print(out, b, length);
  else if (mode == 6)
    control_print(out, b, length);
}

}  // namespace sockit::dump::app
