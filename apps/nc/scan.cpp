// sockit nc -z HOST PORTS: connect to each TCP port in turn (each attempt bounded by -w) and close
// at once without sending anything. With -v each port is reported on stderr in OpenBSD nc's words:
//   Connection to 127.0.0.1 22 port [tcp/ssh] succeeded!
//   sockit nc: connect to 127.0.0.1 port 23 (tcp) failed: Connection refused
// Exit status 0 when at least one port is open, 1 otherwise.
#include "common/exit_codes.hpp"
#include "nc/nc.hpp"

#include <netdb.h>

namespace sockit::nc {

int run_scan(Context& ctx) {
  const Options& o = ctx.opt;
  ResolveOptions ro;
  ro.family = o.family;
  auto addrs = Resolver::resolve(o.host, "0", ro);
  if (!addrs) ctx.fail(std::move(addrs).error());

  bool any_open = false;
  for (std::uint16_t port : o.scan_ports) {
    std::vector<Address> targets = *addrs;
    for (auto& a : targets) a.set_port(port);
    Deadline deadline = o.wait ? Deadline::after(*o.wait) : Deadline::never();
    ConnectOptions co;
    if (!o.source.empty() || o.sport) {
      auto s = Resolver::resolve(o.source.empty() ? (targets.front().is_v6() ? "::" : "0.0.0.0") : o.source,
                                 std::to_string(o.sport.value_or(0)), ro);
      if (!s) ctx.fail(std::move(s).error());
      co.source = s->front();
    }
    auto s = TcpStream::connect(std::span<const Address>(targets), deadline, co);
    const servent* se = ::getservbyport(htons(port), "tcp");
    if (s) {
      any_open = true;
      ctx.log(1, "Connection to {} {} port [tcp/{}] succeeded!", o.host, port, se ? se->s_name : "*");
      s->close();
    } else {
      ctx.log(1, "connect to {} port {} (tcp) failed: {}", o.host, port, s.error().code().message());
    }
  }
  return any_open ? cli::kExitOk : cli::kExitFailure;
}

}  // namespace sockit::nc
