// What the Boost.Asio reference servers share (asio_echo.cpp, asio_tls_echo.cpp): HOST:PORT
// parsing and the per-thread SO_REUSEPORT acceptor.
#pragma once

#include <utility>  // before Boost 1.74 Asio: awaitable.hpp uses std::exchange without it (g++ 12, C++20)

#include <boost/asio.hpp>

#include <cstdlib>
#include <memory>
#include <string>

namespace bench_asio {

using reuse_port = boost::asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// "127.0.0.1:7000" or "[::1]:7000" into host and port; false without a colon.
inline bool split(const std::string& s, std::string& host, unsigned short& port) {
  const auto c = s.rfind(':');
  if (c == std::string::npos) return false;
  host = s.substr(0, c);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  port = static_cast<unsigned short>(std::atoi(s.c_str() + c + 1));
  return true;
}

// A listening acceptor on `ep` with SO_REUSEADDR and SO_REUSEPORT (one per thread, sharing nothing).
inline std::unique_ptr<boost::asio::ip::tcp::acceptor> listen_on(boost::asio::io_context& io,
                                                                  const boost::asio::ip::tcp::endpoint& ep) {
  auto a = std::make_unique<boost::asio::ip::tcp::acceptor>(io);
  a->open(ep.protocol());
  a->set_option(boost::asio::ip::tcp::acceptor::reuse_address(true));
  a->set_option(reuse_port(true));
  a->bind(ep);
  a->listen(4096);
  return a;
}

}  // namespace bench_asio
