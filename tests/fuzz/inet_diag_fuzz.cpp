// libFuzzer target: the NETLINK_SOCK_DIAG reply decoder of `sockit ss`, and every renderer fed
// with what it decodes. Input: 1 selector byte (bit 0: inet replies are UDP rather than TCP), then
// raw netlink messages as `sockit ss -D FILE` writes them. Seeds: corpus/inet_diag/.
#include "tools/ss/diag.hpp"
#include "tools/ss/format.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sockit::ss;
  if (size == 0) return 0;
  Netid netid = (data[0] & 1) ? Netid::udp : Netid::tcp;
  std::span<const std::uint8_t> body(data + 1, size - 1);

  std::vector<Socket> sockets;
  (void)decode_datagram(body, netid, sockets);
  // The payload decoders directly, as if the bytes followed an nlmsghdr.
  if (auto s = decode_inet_message(body, netid); s.ok()) sockets.push_back(*s);
  if (auto s = decode_unix_message(body); s.ok()) sockets.push_back(*s);

  FormatOptions all;
  all.show_netid = true;
  all.extended = all.timers = all.memory = all.info = true;
  (void)format_table(sockets, all, nullptr);
  all.numeric = true;
  (void)format_table(sockets, all, nullptr);
  (void)format_netstat(sockets, all, nullptr, kAllStates);
  for (const auto& s : sockets) (void)format_json(s, all, nullptr, 1);
  return 0;
}
