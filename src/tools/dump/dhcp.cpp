// BOOTP and DHCP (IPv4) as tcpdump 4.99 prints them (print-bootp.c): op and client address, and
// with -v the fixed fields and the RFC 1048 vendor options, name by name in tcpdump's formats.
#include "app_decoders.hpp"

#include <fmt/format.h>

#include <string_view>

namespace sockit::dump::app {

namespace {

struct Tag {
  std::uint8_t tag;
  const char* name;  // first character: the value format (see rfc1048)
};

// tcpdump 4.99.3's tag2str table.
constexpr Tag kTags[] = {
    {0, " PAD"}, {1, "iSubnet-Mask"}, {2, "LTime-Zone"}, {3, "iDefault-Gateway"}, {4, "iTime-Server"},
    {5, "iIEN-Name-Server"}, {6, "iDomain-Name-Server"}, {7, "iLOG"}, {8, "iCS"}, {9, "iLPR-Server"},
    {10, "iIM"}, {11, "iRL"}, {12, "aHostname"}, {13, "sBS"}, {255, " END"}, {14, "aDP"},
    {15, "aDomain-Name"}, {16, "iSS"}, {17, "aRP"}, {18, "aEP"}, {19, "BIPF"}, {20, "BSRT"}, {21, "pPF"},
    {22, "sRSZ"}, {23, "bTTL"}, {24, "lMTU-Timeout"}, {25, "sMTU-Table"}, {26, "sMTU"}, {27, "BLSN"},
    {28, "iBR"}, {29, "BMD"}, {30, "BMS"}, {31, "BRouter-Discovery"}, {32, "iRSA"}, {33, "pStatic-Route"},
    {34, "BUT"}, {35, "lAT"}, {36, "BIE"}, {37, "bTT"}, {38, "lKI"}, {39, "BKG"}, {40, "aYD"}, {41, "iYS"},
    {42, "iNTP"}, {43, "bVendor-Option"}, {44, "iNetbios-Name-Server"}, {45, "iWDD"}, {46, "$Netbios-Node"},
    {47, "aNetbios-Scope"}, {48, "iXFS"}, {49, "iXDM"}, {64, "sN+D"}, {65, "iN+S"}, {68, "iMH"},
    {69, "iSMTP"}, {70, "iPOP3"}, {71, "iNNTP"}, {72, "iWWW"}, {73, "iFG"}, {74, "iIRC"}, {75, "iSTS"},
    {76, "iSTDA"}, {50, "iRequested-IP"}, {51, "lLease-Time"}, {52, "$OO"}, {66, "aTFTP"}, {67, "aBF"},
    {53, " DHCP-Message"}, {54, "iServer-ID"}, {55, "bParameter-Request"}, {56, "aMSG"}, {57, "sMSZ"},
    {58, "lRN"}, {59, "lRB"}, {60, "aVendor-Class"}, {61, "$Client-ID"}, {98, "aUAP"}, {116, "BNOAUTO"},
    {78, "bSLP-DA"}, {79, "bSLP-SCOPE"}, {117, "sNSSEARCH"}, {77, "$User-Class"}, {118, "iSUBNET"},
    {121, "$Classless-Static-Route"}, {249, "$Classless-Static-Route-Microsoft"}, {150, "iTFTP-Server-Address"},
    {80, "aSLP-NA"}, {81, "$FQDN"}, {82, "$Agent-Information"}, {83, "bARMT"}, {88, "aTZSTR"}, {89, "bFQDNS"},
    {90, "bAUTH"}, {91, "LLast-Transaction-Time"}, {92, "iAssociated-IP"}, {93, "sARCH"}, {94, "bNDI"},
    {97, "bGUID"}, {95, "aLDAP"}, {100, "aPOSIX-TZ"}, {101, "aTZ-Name"}, {112, "iNI"}, {113, "aNITAG"},
    {114, "aURL"}, {161, "aMUD-URL"}};

const char* tag_name(unsigned tag) {
  for (const auto& t : kTags)
    if (t.tag == tag) return t.name;
  return "?Unknown";
}

std::string tok(unsigned v, std::initializer_list<std::pair<unsigned, const char*>> table, std::string dflt) {
  for (const auto& [k, name] : table)
    if (k == v) return name;
  return dflt;
}

// nd_printn over bytes known to be captured.
void printn(std::string& out, const Bytes& b, std::size_t off, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) print_char(out, b.u8(off + i));
}

// nd_printztn: up to n bytes or the first NUL; false when no NUL came before n or the capture end.
bool printztn(std::string& out, const Bytes& b, std::size_t off, std::size_t n) {
  for (std::size_t i = 0;; ++i) {
    if (i == n || !b.have(off + i, 1)) return false;
    std::uint8_t c = b.u8(off + i);
    if (c == 0) return true;
    print_char(out, c);
  }
}

constexpr std::string_view kTrunc = " [|bootp]";

// The special ('$') options tcpdump decodes field by field.
constexpr unsigned kTagPad = 0, kTagEnd = 255, kTagMessageType = 53, kTagParameterList = 55;
constexpr unsigned kTagNetbiosNode = 46, kTagOverload = 52, kTagClientId = 61, kTagUserClass = 77,
                   kTagClientFqdn = 81, kTagAgentInfo = 82, kTagClasslessRoutes = 121, kTagMsClasslessRoutes = 249;

// Option 46 NetBIOS node type, 52 option overload.
std::size_t option_node_or_overload(std::string& out, const Bytes& b, unsigned tag, std::size_t off, std::size_t len) {
  if (len < 1) {
    out += "[ERROR: length < 1 bytes]";
    return 0;
  }
  unsigned v = b.u8(off);
  if (tag == kTagNetbiosNode)
    out += tok(v, {{1, "b-node"}, {2, "p-node"}, {4, "m-node"}, {8, "h-node"}}, fmt::format("#{}", v));
  else
    out += tok(v, {{1, "file"}, {2, "sname"}, {3, "file+sname"}}, fmt::format("#{}", v));
  return len - 1;
}

// Option 81 client FQDN.
std::size_t option_client_fqdn(std::string& out, const Bytes& b, std::size_t off, std::size_t len) {
  if (len < 3) {
    out += "[ERROR: length < 3 bytes]";
    return 0;
  }
  unsigned flags = b.u8(off);
  if (flags & 0xf0) out += fmt::format("[ERROR: MBZ nibble 0x{:x} != 0] ", (flags & 0xf0) >> 4);
  if (flags & 0x0f) {
    std::string f;
    if (flags & 1) f += 'S';
    if (flags & 2) f += 'O';
    if (flags & 4) f += 'E';
    if (flags & 8) f += 'N';
    out += "[" + f + "] ";
  }
  if (b.u8(off + 1) || b.u8(off + 2)) out += fmt::format("{}/{} ", b.u8(off + 1), b.u8(off + 2));
  out += '"';
  printn(out, b, off + 3, len - 3);
  out += '"';
  return 0;
}

// Option 61 client identifier.
std::size_t option_client_id(std::string& out, const Bytes& b, std::size_t off, std::size_t len) {
  if (len < 1) {
    out += "[ERROR: length < 1 bytes]";
    return 0;
  }
  unsigned type = b.u8(off);
  if (type == 0) {
    out += '"';
    printn(out, b, off + 1, len - 1);
    out += '"';
    return 0;
  }
  out += tok(type, {{1, "ether"}, {6, "ieee802"}, {7, "arcnet"}, {15, "frelay"}, {23, "strip"}, {24, "ieee1394"}},
             fmt::format("hardware-type {},", type)) +
         " ";
  for (std::size_t i = 1; i < len; ++i) out += fmt::format("{}{:02x}", i > 1 ? ":" : "", b.u8(off + i));
  return 0;
}

// Option 82 relay agent information.
std::size_t option_agent_info(std::string& out, const Bytes& b, std::size_t off, std::size_t len) {
  while (len >= 2) {
    unsigned sub = b.u8(off), sublen = b.u8(off + 1);
    off += 2;
    len -= 2;
    const std::string name = tok(sub, {{1, "Circuit-ID"}, {2, "Remote-ID"}, {6, "Subscriber-ID"}}, "Unknown");
    if (sublen > len) {
      out += fmt::format("\n\t      {} SubOption {}, length {}: length goes past end of option", name, sub, sublen);
      return 0;
    }
    out += fmt::format("\n\t      {} SubOption {}, length {}: ", name, sub, sublen);
    if (sub == 1 || sub == 2 || sub == 6) {
      printn(out, b, off, sublen);
    } else {
      // print_unknown_data: hex in 16-byte rows, two bytes per group.
      for (std::size_t i = 0; i < sublen; i += 2) {
        if (i % 16 == 0) out += fmt::format("\n\t\t0x{:04x}: ", i);
        out += i + 1 < sublen ? fmt::format(" {:02x}{:02x}", b.u8(off + i), b.u8(off + i + 1))
                              : fmt::format(" {:02x}", b.u8(off + i));
      }
    }
    len -= sublen;
    off += sublen;
  }
  return len;
}

// Option 121 and 249 classless static routes.
std::size_t option_classless_routes(std::string& out, const Bytes& b, std::size_t off, std::size_t len) {
  if (len < 5) {
    out += "[ERROR: length < 5 bytes]";
    return 0;
  }
  bool first = true;
  while (len > 0) {
    if (!first) out += ',';
    unsigned width = b.u8(off);
    ++off;
    --len;
    if (width > 32) {
      out += fmt::format("[ERROR: Mask width ({}) > 32]", width);
      return 0;
    }
    std::size_t significant = (width + 7) / 8;
    if (len < significant + 4) {
      out += fmt::format("[ERROR: Remaining length ({}) < {} bytes]", len, significant + 4);
      return 0;
    }
    out += '(';
    if (width == 0) {
      out += "default";
    } else {
      for (std::size_t i = 0; i < significant; ++i) out += fmt::format("{}{}", i ? "." : "", b.u8(off + i));
      for (std::size_t i = significant; i < 4; ++i) out += ".0";
      out += fmt::format("/{}", width);
    }
    off += significant;
    out += ":" + b.ip4(off) + ")";
    off += 4;
    len -= significant + 4;
    first = false;
  }
  return 0;
}

// Option 77 user class.
std::size_t option_user_class(std::string& out, const Bytes& b, std::size_t off, std::size_t len) {
  if (len < 2) {
    out += "[ERROR: length < 2 bytes]";
    return 0;
  }
  for (unsigned n = 1; len > 0; ++n) {
    std::size_t sublen = b.u8(off);
    ++off;
    --len;
    out += fmt::format("\n\t      instance#{}: ", n);
    if (sublen == 0) {
      out += "[ERROR: suboption length must be non-zero]";
      return 0;
    }
    if (len < sublen) {
      out += "[ERROR: invalid option]";
      return 0;
    }
    out += '"';
    printn(out, b, off, sublen);
    out += fmt::format("\", length {}", sublen);
    len -= sublen;
    off += sublen;
  }
  return 0;
}

// One special ('$') option; off/len are the option's data. Returns the bytes left over.
std::size_t special_option(std::string& out, const Bytes& b, unsigned tag, std::size_t off, std::size_t len) {
  switch (tag) {
    case kTagNetbiosNode:
    case kTagOverload: return option_node_or_overload(out, b, tag, off, len);
    case kTagClientFqdn: return option_client_fqdn(out, b, off, len);
    case kTagClientId: return option_client_id(out, b, off, len);
    case kTagAgentInfo: return option_agent_info(out, b, off, len);
    case kTagClasslessRoutes:
    case kTagMsClasslessRoutes: return option_classless_routes(out, b, off, len);
    case kTagUserClass: return option_user_class(out, b, off, len);
    default: out += fmt::format("[unknown special tag {}, size {}]", tag, len); return 0;
  }
}

// One option's value in its table format (a string, addresses, numbers, booleans, bytes or a
// special option); returns the bytes left over.
std::size_t typed_value(std::string& out, const Bytes& b, char c, unsigned tag, std::size_t off, std::size_t len) {
  std::size_t left = len;
  bool first = true;
  auto sep = [&](const char* s) {
    if (!first) out += s;
    first = false;
  };
  switch (c) {
    case 'a':
      out += '"';
      printn(out, b, off, len);
      out += '"';
      left = 0;
      break;
    case 'i':
    case 'l':
    case 'L':
      for (; left >= 4; left -= 4) {
        sep(",");
        const std::size_t at = off + len - left;
        if (c == 'i') out += b.ip4(at);
        else if (c == 'L') out += fmt::format("{}", static_cast<std::int32_t>(b.be32(at)));
        else out += fmt::format("{}", b.be32(at));
      }
      break;
    case 'p':
      for (; left >= 8; left -= 8) {
        sep(",");
        const std::size_t at = off + len - left;
        out += "(" + b.ip4(at) + ":" + b.ip4(at + 4) + ")";
      }
      break;
    case 's':
      for (; left >= 2; left -= 2) {
        sep(",");
        out += fmt::format("{}", b.be16(off + len - left));
      }
      break;
    case 'B':
      for (; left > 0; --left) {
        sep(",");
        unsigned v = b.u8(off + len - left);
        out += v == 0 ? std::string("N") : v == 1 ? std::string("Y") : fmt::format("{}?", v);
      }
      break;
    case '$': left = special_option(out, b, tag, off, len); break;
    default:  // 'b', 'x'
      for (; left > 0; --left) {
        sep(c == 'x' ? ":" : ".");
        out += c == 'x' ? fmt::format("{:02x}", b.u8(off + len - left)) : fmt::format("{}", b.u8(off + len - left));
      }
      break;
  }
  return left;
}

// rfc1048_print: the options after the magic cookie at `off`.
void rfc1048(std::string& out, const Bytes& b, std::size_t off, int verbose) {
  out += "\n\t  Vendor-rfc1048 Extensions";
  out += fmt::format("\n\t    Magic Cookie 0x{:08x}", b.be32(off));
  off += 4;
  while (b.have(off, 1)) {
    const unsigned tag = b.u8(off++);
    if (tag == kTagPad && verbose < 3) continue;
    if (tag == kTagEnd && verbose < 3) return;
    const char* name = tag_name(tag);
    char c = *name++;
    std::size_t len = 0;
    if (tag != kTagPad && tag != kTagEnd) len = b.u8(off++);
    out += fmt::format("\n\t    {} ({}), length {}{}", name, tag, len, len > 0 ? ": " : "");
    if (tag == kTagPad && verbose > 2) {
      unsigned n = 1;
      while (b.have(off, 1) && b.u8(off) == 0) {
        ++off;
        ++n;
      }
      if (n > 1) out += fmt::format(", occurs {}", n);
    }
    if (!b.have(off, len)) {
      out += kTrunc;
      return;
    }
    if (tag == kTagMessageType && len == 1) {
      unsigned m = b.u8(off++);
      out += tok(m, {{1, "Discover"}, {2, "Offer"}, {3, "Request"}, {4, "Decline"}, {5, "ACK"}, {6, "NACK"},
                     {7, "Release"}, {8, "Inform"}, {10, "LeaseQuery"}, {11, "LeaseUnassigned"},
                     {12, "LeaseUnknown"}, {13, "LeaseActive"}},
                 fmt::format("Unknown ({})", m));
      continue;
    }
    if (tag == kTagParameterList) {
      for (std::size_t i = 0; i < len; ++i) {
        unsigned inner = b.u8(off + i);
        out += i % 4 == 0 ? "\n\t      " : ", ";
        out += fmt::format("{} ({})", tag_name(inner) + 1, inner);
      }
      off += len;
      continue;
    }
    if (c == '?') c = (len & 1) ? 'b' : (len & 2) ? 's' : 'l';
    const std::size_t left = typed_value(out, b, c, tag, off, len);
    off += len;
    if (left) out += fmt::format("\n\t  trailing data length {}", left);
  }
}

void cmu(std::string& out, const Bytes& b, std::size_t off) {
  out += " vend-cmu";
  b.need(off + 4, 4);
  const unsigned flags = b.u8(off + 4);
  if (flags & ~1U) out += fmt::format(" F:0x{:x}", flags);
  struct Field {
    std::size_t at;
    const char* name;
  };
  const Field fields[] = {{12, "DG"}, {8, (flags & 1) ? "SM" : "SM*"}, {16, "NS1"}, {20, "NS2"},
                          {24, "IEN1"}, {28, "IEN2"}, {32, "TS1"}, {36, "TS2"}};
  for (const auto& f : fields) {
    if (!b.have(off + f.at, 4)) {
      out += kTrunc;
      return;
    }
    if (b.be32(off + f.at) != 0) out += fmt::format(" {}:{}", f.name, b.ip4(off + f.at));
  }
}

}  // namespace

void bootp_print(std::string& out, Bytes b, std::uint32_t length, int verbose) {
  const unsigned op = b.u8(0);
  out += "BOOTP/DHCP, " + tok(op, {{1, "Request"}, {2, "Reply"}}, fmt::format("unknown (0x{:02x})", op));
  const unsigned htype = b.u8(1), hlen = b.u8(2);
  if (htype == 1 && hlen == 6 && op == 1) out += " from " + b.mac(28);
  out += fmt::format(", length {}", length);
  if (!verbose) return;
  if (!b.have(8, 2)) {
    out += kTrunc;
    return;
  }
  if (htype != 1) out += fmt::format(", htype {}", htype);
  if (htype != 1 || hlen != 6) out += fmt::format(", hlen {}", hlen);
  if (b.u8(3)) out += fmt::format(", hops {}", b.u8(3));
  if (b.be32(4)) out += fmt::format(", xid 0x{:x}", b.be32(4));
  if (b.be16(8)) out += fmt::format(", secs {}", b.be16(8));
  const unsigned flags = b.be16(10);
  out += fmt::format(", Flags [{}]", (flags & 0x8000) ? "Broadcast" : "none");
  if (verbose > 1) out += fmt::format(" (0x{:04x})", flags);
  static constexpr std::pair<std::size_t, const char*> kAddrs[] = {
      {12, "Client-IP"}, {16, "Your-IP"}, {20, "Server-IP"}, {24, "Gateway-IP"}};
  for (const auto& [at, name] : kAddrs)
    if (b.be32(at)) out += fmt::format("\n\t  {} {}", name, b.ip4(at));
  if (htype == 1 && hlen == 6) out += "\n\t  Client-Ethernet-Address " + b.mac(28);
  for (const auto& [at, size, name] : {std::tuple<std::size_t, std::size_t, const char*>{44, 64, "sname"},
                                       std::tuple<std::size_t, std::size_t, const char*>{108, 128, "file"}}) {
    if (!b.u8(at)) continue;
    out += fmt::format("\n\t  {} \"", name);
    const bool whole = printztn(out, b, at, size);
    out += '"';
    if (!whole) {
      out += kTrunc;
      return;
    }
  }
  constexpr std::size_t kVend = 236;
  if (!b.have(kVend, 4)) {
    out += kTrunc;
    return;
  }
  const std::uint32_t magic = b.be32(kVend);
  if (magic == 0x63825363U)
    rfc1048(out, b, kVend, verbose);
  else if (magic == 0x434d5500U)
    cmu(out, b, kVend);
  else if (magic != 0)
    out += fmt::format("\n\t  Vendor-#0x{:x}", magic);
}

}  // namespace sockit::dump::app
