// Connects to itself over loopback through the installed sockit::net and prints "ok".
#include <sockit/net.hpp>

#include <cstdio>

int main() {
  auto listener = sockit::TcpListener::bind(sockit::Address::ipv4_loopback());
  if (!listener) return 1;
  auto client = sockit::TcpStream::connect(*listener->local_address(), sockit::Deadline::after(std::chrono::seconds(2)));
  if (!client) return 1;
  auto server = listener->accept(sockit::Deadline::after(std::chrono::seconds(2)));
  if (!server || !client->write_all("ok")) return 1;
  std::byte buf[2];
  if (!server->read_exact(buf, sockit::Deadline::after(std::chrono::seconds(2)))) return 1;
  std::printf("%.2s\n", reinterpret_cast<const char*>(buf));
  return 0;
}
