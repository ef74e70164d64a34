// The DNS printer: what tcpdump 4.99 -n prints for a DNS message (print-domain.c), line for line.
// Offsets stand for tcpdump's pointers; kNull for its NULL. Every read is checked against the
// captured bytes (app::Bytes): where tcpdump's GET_* macros longjmp, a read throws
// app::AppTruncated and dns_print() appends " [|domain]"; where tcpdump tests with ND_TTEST and
// returns NULL, so do we.
#include "dns.hpp"

#include "app_decoders.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <string_view>

namespace sockit::dump {

namespace {

constexpr std::size_t kNull = std::numeric_limits<std::size_t>::max();
constexpr unsigned kTypeMask = 0xc0, kTypeIndir = 0xc0, kTypeEdns0 = 0x40, kTypeReserved = 0x80;
constexpr unsigned kEltBitlabel = 0x01;
constexpr unsigned kMaxCdname = 255;
constexpr std::uint16_t kTA = 1, kTNs = 2, kTCname = 5, kTSoa = 6, kTPtr = 12, kTMx = 15, kTTxt = 16,
                        kTAaaa = 28, kTSrv = 33, kTA6 = 38, kTDname = 39, kTOpt = 41, kTUnspeca = 104,
                        kTTsig = 250, kTUri = 256;
constexpr unsigned kClassIn = 1, kMdnsBit = 0x8000;
constexpr std::size_t kRrFixedLen = 10;  // type, class, TTL and data length after a record's name
constexpr unsigned kIp4Len = 4, kIp6Len = 16, kIp6Bits = 128;
constexpr unsigned kSoaCounters = 5;             // serial, refresh, retry, expire, minimum (32 bits each)
constexpr unsigned kEdnsDoBit = 0x8000;          // DNSSEC OK in the OPT record's flags
constexpr std::size_t kTsigTimeSignedLen = 6;    // TSIG's 48-bit time signed, before fudge

constexpr std::array<std::string_view, 16> kOps = {
    "",           " inv_q",    " stat",     " op3",      " notify",   " update",   " op6",       " op7",
    " op8",       " updateA",  " updateD",  " updateDA", " updateM",  " updateMA", " zoneInit",  " zoneRef"};
constexpr std::array<std::string_view, 24> kRcodes = {
    "",        " FormErr", " ServFail", " NXDomain", " NotImp",  " Refused", " YXDomain", " YXRRSet",
    " NXRRSet", " NotAuth", " NotZone",  " Resp11",   " Resp12",  " Resp13",  " Resp14",   " NoChange",
    " BadVers", "Resp17",  " Resp18",   " Resp19",   " Resp20",  "Resp21",   " Resp22",   " BadCookie"};

std::string_view type_name(unsigned t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 19: return "X25";
    case 20: return "ISDN";
    case 21: return "RT";
    case 22: return "NSAP";
    case 23: return "NSAP_PTR";
    case 24: return "SIG";
    case 25: return "KEY";
    case 26: return "PX";
    case 27: return "GPOS";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 31: return "EID";
    case 32: return "NIMLOC";
    case 33: return "SRV";
    case 34: return "ATMA";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 40: return "SINK";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 99: return "SPF";
    case 100: return "UINFO";
    case 101: return "UID";
    case 102: return "GID";
    case 103: return "UNSPEC";
    case 104: return "UNSPECA";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 253: return "MAILB";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    default: return {};
  }
}

std::string type_string(unsigned t) {
  auto n = type_name(t);
  return n.empty() ? fmt::format("Type{}", t) : std::string(n);
}

std::string class_string(unsigned c) {
  switch (c) {
    case 1: return "IN";
    case 3: return "CHAOS";
    case 4: return "HS";
    case 255: return "ANY";
    default: return fmt::format("(Class {})", c);
  }
}

std::string_view edns_option_name(unsigned o) {
  switch (o) {
    case 1: return "LLQ";
    case 2: return "UL";
    case 3: return "NSID";
    case 5: return "DAU";
    case 6: return "DHU";
    case 7: return "N3U";
    case 8: return "ECS";
    case 9: return "EXPIRE";
    case 10: return "COOKIE";
    case 11: return "KEEPALIVE";
    case 12: return "PADDING";
    case 13: return "CHAIN";
    case 14: return "KEY-TAG";
    case 16: return "CLIENT-TAG";
    case 17: return "SERVER-TAG";
    default: return {};
  }
}

std::string dau_name(unsigned a) {
  switch (a) {
    case 0: return "DELETE";
    case 1: return "RSAMD5";
    case 2: return "DH";
    case 3: return "DS";
    case 5: return "RSASHA1";
    case 6: return "DSA-NSEC3-SHA1";
    case 7: return "RSASHA1-NSEC3-SHA1";
    case 8: return "RSASHA256";
    case 10: return "RSASHA512";
    case 12: return "ECC-GOST";
    case 13: return "ECDSAP256SHA256";
    case 14: return "ECDSAP384SHA384";
    case 15: return "ED25519";
    case 16: return "ED448";
    case 252: return "INDIRECT";
    case 253: return "PRIVATEDNS";
    case 254: return "PRIVATEOID";
    default: return fmt::format("Alg_{}", a);
  }
}

std::string dhu_name(unsigned a) {
  switch (a) {
    case 1: return "SHA-1";
    case 2: return "SHA-256";
    case 3: return "GOST_R_34.11-94";
    case 4: return "SHA-384";
    default: return fmt::format("Alg_{}", a);
  }
}

std::string n3u_name(unsigned a) { return a == 1 ? "SHA-1" : fmt::format("Alg_{}", a); }

// tcpdump's unsigned_relts_print: 3661 -> "1h1m1s", 0 -> "0s".
std::string relts(std::uint32_t secs) {
  static constexpr std::array<std::uint32_t, 6> kSeconds = {31536000, 604800, 86400, 3600, 60, 1};
  static constexpr std::array<char, 6> kUnits = {'y', 'w', 'd', 'h', 'm', 's'};
  if (secs == 0) return "0s";
  std::string s;
  for (std::size_t i = 0; i < kSeconds.size() && secs > 0; ++i) {
    if (secs >= kSeconds[i]) {
      s += fmt::format("{}{}", secs / kSeconds[i], kUnits[i]);
      secs %= kSeconds[i];
    }
  }
  return s;
}

class Printer {
 public:
  Printer(std::span<const std::uint8_t> msg, bool mdns, int verbose, std::string& out)
      : m_(msg), b_(msg), mdns_(mdns), v_(verbose), out_(out) {}

  // domain_print after the TCP length prefix; `length` excludes the prefix.
  void message(std::uint32_t length, DnsText& r) {
    if (length < 12) {
      out_ += fmt::format("domain [length {} < 12] (invalid)", length);
      r.malformed = true;
      return;
    }
    if (!have(0, 12)) return trunc(r);  // ND_TCHECK_SIZE: a "goto trunc", no longjmp
    const unsigned flags = be16(2);
    unsigned qd = be16(4), an = be16(6), ns = be16(8), ar = be16(10);
    const unsigned rcode = extended_rcode(flags, qd, an, ns, ar);
    const unsigned opcode = (flags >> 11) & 0xf;
    if (flags & 0x8000) {  // a response
      out_ += fmt::format("{}{}{}{}{}{}{}", be16(0), kOps[opcode], rcode_string(rcode), (flags & 0x0400) ? "*" : "",
                          (flags & 0x0080) ? "" : "-", (flags & 0x0200) ? "|" : "", (flags & 0x0020) ? "$" : "");
      if (qd != 1) out_ += fmt::format(" [{}q]", qd);
      std::size_t cp = 12;
      for (unsigned i = 0; i < qd; ++i) {
        if (i != 0) out_ += ",";
        if (v_ > 1) {
          out_ += " q:";
          if ((cp = qprint(cp)) == kNull) return trunc(r);
        } else {
          if ((cp = nskip(cp)) == kNull) return trunc(r);
          cp += 4;
        }
      }
      out_ += fmt::format(" {}/{}/{}", an, ns, ar);
      if (!section(cp, an, "")) return trunc(r);
      if (v_ > 1) {
        if (!section(cp, ns, " ns:", true) || !section(cp, ar, " ar:", true)) return trunc(r);
      }
    } else {  // a query
      out_ += fmt::format("{}{}{}{}", be16(0), kOps[opcode], (flags & 0x0100) ? "+" : "", (flags & 0x0010) ? "%" : "");
      if (flags & 0x6cf) out_ += fmt::format(" [b2&3=0x{:x}]", flags);
      if (opcode == 1) {  // IQUERY
        if (qd) out_ += fmt::format(" [{}q]", qd);
        if (an != 1) out_ += fmt::format(" [{}a]", an);
      } else {
        if (an) out_ += fmt::format(" [{}a]", an);
        if (qd != 1) out_ += fmt::format(" [{}q]", qd);
      }
      if (ns) out_ += fmt::format(" [{}n]", ns);
      if (ar) out_ += fmt::format(" [{}au]", ar);
      std::size_t cp = 12;
      if (qd) {
        if ((cp = qprint(cp)) == kNull) return trunc(r);
        --qd;
        while (cp < m_.size() && qd) {
          if ((cp = qprint(cp)) == kNull) return trunc(r);
          --qd;
        }
      }
      if (qd) return trunc(r);
      if (v_ > 1) {
        if (!section(cp, an, "") || !section(cp, ns, " ns:", true) || !section(cp, ar, " ar:", true)) return trunc(r);
      }
    }
    out_ += fmt::format(" ({})", length);
  }

 private:
  std::span<const std::uint8_t> m_;
  app::Bytes b_;  // the same bytes, read with tcpdump's GET_* semantics (throws past the capture)
  bool mdns_;
  int v_;
  std::string& out_;

  bool have(std::size_t off, std::size_t n) const { return b_.have(off, n); }
  std::uint8_t byte(std::size_t off) const { return b_.u8(off); }  // GET_U_1
  unsigned be16(std::size_t off) const { return b_.be16(off); }
  std::uint32_t be32(std::size_t off) const { return b_.be32(off); }

  void trunc(DnsText& r) {
    out_ += " [|domain]";
    r.truncated = true;
  }

  static std::string rcode_string(unsigned rcode) {
    if (rcode < kRcodes.size()) return std::string(kRcodes[rcode]);
    return fmt::format(" Resp{}", rcode & 0xfff);
  }

  // The rcode extended by the OPT record's high bits, found by skipping through the sections.
  unsigned extended_rcode(unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar) const {
    unsigned rcode = flags & 0xf;
    const std::size_t end = m_.size();
    std::size_t cp = 12;
    for (unsigned i = 0; i < qd; ++i) {
      if ((cp = nskip(cp)) == kNull) return rcode;
      cp += 4;
      if (cp >= end) return rcode;
    }
    for (unsigned i = 0; i < an + ns; ++i) {
      if ((cp = nskip(cp)) == kNull) return rcode;
      cp += 8;
      if (cp + 2 > end) return rcode;
      cp += 2 + be16(cp);
      if (cp >= end) return rcode;
    }
    for (unsigned i = 0; i < ar; ++i) {
      if ((cp = nskip(cp)) == kNull) return rcode;
      if (cp + 2 > end) return rcode;
      unsigned type = be16(cp);
      cp += 4;
      if (cp + 1 > end) return rcode;
      if (type == kTOpt) return (rcode | (unsigned{byte(cp)} << 4)) & 0xffff;
      cp += 4;
      if (cp + 2 > end) return rcode;
      cp += 2 + be16(cp);
      if (cp >= end) return rcode;
    }
    return rcode;
  }

  // Prints `count` resource records: "prefix rr,rr,...". False: tcpdump's "goto trunc".
  // `need_data`: the section is printed only if something is left to read (ns:/ar:).
  bool section(std::size_t& cp, unsigned count, std::string_view prefix, bool need_data = false) {
    if (count && (!need_data || cp < m_.size())) {
      out_ += prefix;
      if ((cp = rprint(cp)) == kNull) return false;
      --count;
      while (cp < m_.size() && count) {
        out_ += ",";
        if ((cp = rprint(cp)) == kNull) return false;
        --count;
      }
    }
    return count == 0;
  }

  // nd_printn up to the end of the capture: true when the capture ended first.
  bool printn(std::size_t cp, std::size_t n) {
    while (n > 0 && cp < m_.size()) {
      --n;
      app::print_char(out_, m_[cp++]);
    }
    return n != 0;
  }

  std::size_t nskip(std::size_t cp) const {
    if (!have(cp, 1)) return kNull;
    unsigned i = m_[cp++];
    while (i) {
      switch (i & kTypeMask) {
        case kTypeIndir: return cp + 1;
        case kTypeEdns0: {
          if ((i & ~kTypeMask) != kEltBitlabel) return kNull;
          if (!have(cp, 1)) return kNull;
          unsigned bitlen = m_[cp] ? m_[cp] : 256;
          ++cp;
          cp += (bitlen + 7) / 8;
          break;
        }
        case kTypeReserved: return kNull;
        default: cp += i; break;
      }
      if (!have(cp, 1)) return kNull;
      i = m_[cp++];
    }
    return cp;
  }

  // labellen: the length of the label at cp, or kNull (with tcpdump's remark for bad types).
  std::size_t labellen(std::size_t cp) {
    if (!have(cp, 1)) return kNull;
    unsigned i = m_[cp];
    switch (i & kTypeMask) {
      case kTypeEdns0: {
        unsigned elt = i & ~kTypeMask;
        if (elt != kEltBitlabel) {
          out_ += fmt::format("<ELT {}>", elt);
          return kNull;
        }
        if (!have(cp + 1, 1)) return kNull;
        unsigned bitlen = m_[cp + 1] ? m_[cp + 1] : 256;
        return (bitlen + 7) / 8 + 1;
      }
      case kTypeIndir:
      case 0: return i;
      default: out_ += "<BAD LABEL TYPE>"; return kNull;
    }
  }

  std::size_t blabel(std::size_t cp) {
    if (!have(cp, 1)) return kNull;
    unsigned bitlen = m_[cp] ? m_[cp] : 256;
    const std::size_t lim = cp + 1 + (bitlen + 3) / 4;
    out_ += "\\[x";
    std::size_t bitp = cp + 1;
    unsigned b = bitlen;
    for (; bitp < lim && b > 7; b -= 8, ++bitp) out_ += fmt::format("{:02x}", byte(bitp));
    if (b > 4) {
      unsigned tc = byte(bitp++);
      out_ += fmt::format("{:02x}", tc & (0xffU << (8 - b)));
    } else if (b > 0) {
      unsigned tc = byte(bitp++);
      out_ += fmt::format("{:x}", ((tc >> 4) & 0x0f) & (0x0fU << (4 - b)));
    }
    out_ += fmt::format("/{}]", bitlen);
    return lim;
  }

  // fqdn_print: the name at cp, compression pointers relative to bp; returns the offset after
  // the name in place (not after the pointer's target), or kNull.
  std::size_t fqdn(std::size_t cp, std::size_t bp = 0) {
    std::size_t l = labellen(cp);
    if (l == kNull || !have(cp, 1)) return kNull;
    std::uint32_t max_offset = static_cast<std::uint32_t>(cp - bp);
    unsigned i = m_[cp++];
    std::size_t rp = kNull;
    bool compress = false;
    unsigned name_chars = 0;
    if ((i & kTypeMask) != kTypeIndir) rp = cp + l;
    if (i == 0) {
      out_ += ".";
      return rp;
    }
    while (i && cp < m_.size()) {
      switch (i & kTypeMask) {
        case kTypeIndir: {
          if (!compress) {
            rp = cp + 1;
            compress = true;
          }
          if (!have(cp, 1)) return kNull;
          std::uint32_t offset = ((i << 8) | m_[cp]) & 0x3fff;
          // Must move backwards, as BIND requires: this is what ends pointer cycles.
          if (offset >= max_offset) {
            out_ += "<BAD PTR>";
            return kNull;
          }
          max_offset = offset;
          cp = bp + offset;
          if (!have(cp, 1)) return kNull;
          i = m_[cp];
          if ((l = labellen(cp)) == kNull) return kNull;
          ++cp;
          continue;
        }
        case kTypeEdns0: {
          unsigned elt = i & ~kTypeMask;
          if (elt != kEltBitlabel) {
            out_ += fmt::format("<ELT {}>", elt);
            return kNull;
          }
          if (blabel(cp) == kNull) return kNull;
          break;
        }
        case kTypeReserved: out_ += "<BAD LABEL TYPE>"; return kNull;
        default:
          if (name_chars + l <= kMaxCdname) {
            if (printn(cp, l)) return kNull;
          } else if (name_chars < kMaxCdname) {
            if (printn(cp, kMaxCdname - name_chars)) return kNull;
          }
          name_chars += static_cast<unsigned>(l);
          break;
      }
      cp += l;
      if (name_chars <= kMaxCdname) out_ += ".";
      ++name_chars;
      if (!have(cp, 1)) return kNull;
      i = m_[cp];
      if ((l = labellen(cp)) == kNull) return kNull;
      ++cp;
      if (!compress) rp += l + 1;
    }
    if (name_chars > kMaxCdname) out_ += "<DOMAIN NAME TOO LONG>";
    return rp;
  }

  std::size_t cprint(std::size_t cp) {
    if (!have(cp, 1)) return kNull;
    unsigned i = m_[cp++];
    if (printn(cp, i)) return kNull;
    return cp + i;
  }

  std::size_t qprint(std::size_t cp) {
    const std::size_t np = cp;
    cp = nskip(cp);
    if (cp == kNull || !have(cp, 4)) return kNull;
    out_ += " " + type_string(be16(cp));
    unsigned i = be16(cp + 2);
    unsigned cls = mdns_ ? (i & ~kMdnsBit) : i;
    if (cls != kClassIn) out_ += " " + class_string(cls);
    if (mdns_) out_ += (i & kMdnsBit) ? " (QU)" : " (QM)";
    out_ += "? ";
    cp = fqdn(np);
    return cp == kNull ? kNull : cp + 4;
  }

  std::size_t rprint(std::size_t cp) {
    if (v_) {
      out_ += " ";
      if ((cp = fqdn(cp)) == kNull) return kNull;
    } else {
      cp = nskip(cp);
    }
    if (cp == kNull || !have(cp, kRrFixedLen)) return m_.size();
    const unsigned typ = be16(cp);
    const unsigned i = be16(cp + 2);
    const unsigned cls = mdns_ ? (i & ~kMdnsBit) : i;
    cp += 4;
    if (cls != kClassIn && typ != kTOpt) out_ += " " + class_string(cls);
    if (mdns_ && (i & kMdnsBit)) out_ += " (Cache flush)";
    unsigned opt_flags = 0;
    if (typ == kTOpt) {
      opt_flags = be16(cp + 2);
    } else if (v_ > 2) {
      out_ += " [" + relts(be32(cp)) + "]";
    }
    cp += 4;
    const unsigned len = be16(cp);
    cp += 2;
    const std::size_t rp = cp + len;
    out_ += " " + type_string(typ);
    if (rp > m_.size()) return kNull;
    return rdata(typ, cls, opt_flags, cp, len) ? rp : kNull;
  }

  // The record's data after its type name; false where tcpdump gives up on the message.
  bool rdata(unsigned typ, unsigned cls, unsigned opt_flags, std::size_t cp, unsigned len) {
    const std::size_t rp = cp + len;
    switch (typ) {
      case kTA:
        if (!have(cp, kIp4Len)) return false;
        out_ += " " + b_.ip4(cp);
        return true;
      case kTNs:
      case kTCname:
      case kTPtr:
      case kTDname:
        out_ += " ";
        return fqdn(cp) != kNull;
      case kTSoa: return rdata_soa(cp);
      case kTMx:
        out_ += " ";
        if (!have(cp, 2) || fqdn(cp + 2) == kNull) return false;
        out_ += fmt::format(" {}", be16(cp));
        return true;
      case kTTxt:
        while (cp < rp) {
          out_ += " \"";
          if ((cp = cprint(cp)) == kNull) return false;
          out_ += "\"";
        }
        return true;
      case kTSrv:
        out_ += " ";
        if (!have(cp, 6) || fqdn(cp + 6) == kNull) return false;
        out_ += fmt::format(":{} {} {}", be16(cp + 4), be16(cp), be16(cp + 2));
        return true;
      case kTAaaa: {
        if (!have(cp, kIp6Len)) return false;
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, m_.data() + cp, buf, sizeof buf);
        out_ += fmt::format(" {}", buf);
        return true;
      }
      case kTA6: return rdata_a6(cp);
      case kTUri: return rdata_uri(cp, len);
      case kTOpt: return rdata_opt(cls, opt_flags, cp, rp);
      case kTUnspeca: return have(cp, len) && !printn(cp, len);
      case kTTsig: return rdata_tsig(cp, len);
      default: return true;
    }
  }

  bool rdata_soa(std::size_t cp) {
    if (!v_) return true;
    out_ += " ";
    if ((cp = fqdn(cp)) == kNull) return false;
    out_ += " ";
    if ((cp = fqdn(cp)) == kNull) return false;
    if (!have(cp, kSoaCounters * 4)) return false;  // serial, refresh, retry, expire, minimum
    for (unsigned k = 0; k < kSoaCounters; ++k, cp += 4) out_ += fmt::format(" {}", be32(cp));
    return true;
  }

  bool rdata_a6(std::size_t cp) {  // prefix length, the address bits after it, the prefix name
    if (!have(cp, 1)) return false;
    const unsigned pbit = m_[cp];
    const unsigned pbyte = (pbit & ~7U) / 8;
    if (pbit > kIp6Bits) {
      out_ += fmt::format(" {}(bad plen)", pbit);
      return true;
    }
    if (pbit < kIp6Bits) {
      std::array<std::uint8_t, kIp6Len> a{};
      b_.need(cp + 1, kIp6Len - pbyte);  // GET_CPY_BYTES
      for (unsigned k = 0; k < kIp6Len - pbyte; ++k) a[pbyte + k] = m_[cp + 1 + k];
      char buf[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
      out_ += fmt::format(" {} {}", pbit, buf);
    }
    if (pbit > 0) {
      out_ += " ";
      if (fqdn(cp + 1 + kIp6Len - pbyte) == kNull) return false;
    }
    return true;
  }

  bool rdata_uri(std::size_t cp, unsigned len) {
    if (!have(cp, len)) return false;
    out_ += fmt::format(" {} {} ", be16(cp), be16(cp + 2));
    // tcpdump passes len - 4 as an unsigned count: a record shorter than 4 bytes prints to
    // the end of the capture and is then reported truncated.
    return !printn(cp + 4, len >= 4 ? len - 4 : std::numeric_limits<std::uint32_t>::max() - (3 - len));
  }

  bool rdata_opt(unsigned udp_size, unsigned opt_flags, std::size_t cp, std::size_t rp) {
    out_ += fmt::format(" UDPsize={}", udp_size);  // OPT's class field is the requester's UDP size
    if (opt_flags & kEdnsDoBit) out_ += " DO";
    if (cp >= rp) return true;
    out_ += " [";
    while (cp < rp) {
      if ((cp = eopt(cp)) == kNull) return false;
      if (cp < rp) out_ += ",";
    }
    out_ += "]";
    return true;
  }

  bool rdata_tsig(std::size_t cp, unsigned len) {
    if (cp + len > m_.size()) return false;
    if (!v_) return true;
    out_ += " ";
    if ((cp = fqdn(cp)) == kNull) return false;
    cp += kTsigTimeSignedLen;
    // Each field is 16 bits; the MAC (maclen bytes) follows its length.
    static constexpr std::array<std::string_view, 5> kFields = {"fudge", "maclen", "origid", "error", "otherlen"};
    for (std::string_view field : kFields) {
      if (!have(cp, 2)) return false;
      const unsigned v = be16(cp);
      out_ += fmt::format(" {}={}", field, v);
      cp += 2;
      if (field == "maclen") cp += v;
    }
    return true;
  }

  // eopt_print: one EDNS option "NAME data".
  std::size_t eopt(std::size_t cp) {
    if (!have(cp, 2)) return kNull;
    const unsigned opt = be16(cp);
    cp += 2;
    auto name = edns_option_name(opt);
    out_ += name.empty() ? fmt::format("Opt{}", opt) : std::string(name);
    if (!have(cp, 2)) return kNull;
    const unsigned n = be16(cp);
    cp += 2;
    if (!have(cp, n)) return kNull;
    if (n == 0) return cp;
    out_ += " ";
    auto list = [&](auto&& namer) {
      for (unsigned k = 0; k < n; ++k) out_ += (k ? " " : "") + namer(m_[cp + k]);
    };
    switch (opt) {
      case 8: ecs(cp, n); break;
      case 10:
        if (n < 8 || (n > 8 && n < 16) || n > 40) {
          out_ += " (invalid)";
        } else {
          for (unsigned k = 0; k < n; ++k) out_ += fmt::format("{}{:02x}", k == 8 ? " " : "", m_[cp + k]);
        }
        break;
      case 11:
        if (n != 2) out_ += " (invalid)";
        else out_ += fmt::format("{:.1f} sec", be16(cp) / 10.0);
        break;
      case 9:
        if (n != 4) out_ += " (invalid)";
        else out_ += fmt::format("{} sec", be32(cp));
        break;
      case 12: out_ += fmt::format("({})", n); break;
      case 14:
        if (n % 2 != 0) {
          out_ += " (invalid)";
        } else {
          for (unsigned k = 0; k < n; k += 2) out_ += fmt::format("{}{}", k ? " " : "", be16(cp + k));
        }
        break;
      case 5: list(dau_name); break;
      case 6: list(dhu_name); break;
      case 7: list(n3u_name); break;
      case 13: fqdn(cp, cp + n); break;
      default:
        for (unsigned k = 0; k < n; ++k) out_ += fmt::format("{:02x}", m_[cp + k]);
        break;
    }
    return cp + n;
  }

  // print_eopt_ecs: "ADDR/SOURCE/SCOPE".
  void ecs(std::size_t cp, unsigned n) {
    if (n < 4) {
      out_ += " (invalid)";
      return;
    }
    const unsigned family = be16(cp), src = m_[cp + 2], scope = m_[cp + 3];
    const unsigned bits = family == 1 ? 32 : family == 2 ? 128 : 0;
    if (bits == 0 || n - 4 > bits / 8 || src > bits || scope > bits || (src + 7) / 8 != n - 4) {
      out_ += " (invalid)";
      return;
    }
    std::array<std::uint8_t, 16> padded{};
    for (unsigned k = 0; k < n - 4; ++k) padded[k] = m_[cp + 4 + k];
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family == 1 ? AF_INET : AF_INET6, padded.data(), buf, sizeof buf);
    out_ += fmt::format("{}/{}/{}", buf, src, scope);
  }
};

}  // namespace

bool dns_udp_port(std::uint16_t sport, std::uint16_t dport) {
  return sport == 53 || dport == 53 || sport == 5353 || dport == 5353;
}

bool dns_tcp_port(std::uint16_t sport, std::uint16_t dport) {
  // tcp_print tries these ports' printers before DNS (telnet, SMTP, whois, BGP, PPTP, RESP, SSH,
  // BEEP, OpenFlow, FTP, HTTP, RTSP; SMB is not built into Debian's tcpdump).
  static constexpr std::array<std::uint16_t, 15> kEarlier = {23,   25,   43,   179,  1723, 6379, 22,  10288,
                                                             6633, 6653, 21,   80,   8080, 554,  8554};
  auto earlier = [](std::uint16_t p) { return std::find(kEarlier.begin(), kEarlier.end(), p) != kEarlier.end(); };
  return (sport == 53 || dport == 53) && !earlier(sport) && !earlier(dport);
}

DnsText dns_print(std::span<const std::uint8_t> msg, std::uint32_t length, bool over_tcp, bool mdns, int verbose) {
  DnsText r;
  std::string& out = r.text;
  try {
    if (over_tcp) {
      if (length < 2) {
        out += fmt::format(" [DNS over TCP: length {} < 2] (invalid)", length);
        r.malformed = true;
        return r;
      }
      length -= 2;
      if (msg.size() < 2) throw app::AppTruncated{};  // GET_BE_U_2
      const unsigned prefix = (unsigned{msg[0]} << 8) | msg[1];
      if (prefix != length) {
        out += fmt::format(" [prefix length({}) != length({})] (invalid)", prefix, length);
        r.malformed = true;
        return r;
      }
      msg = msg.subspan(2);
      out += " ";
    }
    Printer(msg, mdns, verbose, out).message(length, r);
  } catch (const app::AppTruncated&) {
    out += " [|domain]";
    r.truncated = true;
    r.unwound = true;
  }
  return r;
}

}  // namespace sockit::dump
