// Fault suite: `sockit ping -q` through a lossy `sockit proxy --udp` (issue #23 item 5). The
// summary's "packet loss" counts every transmission (retransmissions do not hide the network's
// loss), a second line gives the requests that failed after all retries, and -q keeps the PING
// first line.
#include "harness.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>

namespace sockit::test::faults {
namespace {

TEST(PingThroughProxy, QuietSummaryCountsLossPerTransmissionAndPerRequest) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto proxy = ProxyProcess::start({"--udp", "--upstream", echo.address().to_string(), "--loss", "20%", "--seed", "3"});
  const std::string port = std::to_string(proxy->listen().port());
  auto r = run({sockit_bin(), "ping", "-q", "-c", "100", "-i", "10ms", "-W", "200ms", "--seed", "1", "127.0.0.1", port},
               "", std::chrono::seconds(30));
  const std::string stats = proxy->stop();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind(fmt::format("PING 127.0.0.1 (127.0.0.1:{}) udp, 56 bytes of data.\n\n--- 127.0.0.1 ping "
                                    "statistics ---\n",
                                    port),
                        0),
            0u)
      << r.out;
  EXPECT_EQ(r.out.find(" bytes from "), std::string::npos) << "-q prints no per-reply lines\n" << r.out;
  std::smatch pk, rq;
  ASSERT_TRUE(std::regex_search(r.out, pk, std::regex("\n([0-9]+) packets transmitted, ([0-9]+) received, ([0-9.]+)% "
                                                      "packet loss, time [0-9]+ms\n")))
      << r.out;
  ASSERT_TRUE(std::regex_search(
      r.out, rq, std::regex("\n([0-9]+) requests, ([0-9]+) answered, ([0-9.]+)% failed after ([0-9]+) retransmissions\n")))
      << r.out;
  const long long packets = std::stoll(pk[1]), packets_back = std::stoll(pk[2]);
  const double packet_loss = std::stod(pk[3]);
  const long long requests = std::stoll(rq[1]), answered = std::stoll(rq[2]), retx = std::stoll(rq[4]);
  const double failed = std::stod(rq[3]);
  EXPECT_EQ(requests, 100);
  EXPECT_EQ(packets, requests + retx);
  EXPECT_NEAR(packet_loss, 100.0 * static_cast<double>(packets - packets_back) / static_cast<double>(packets), 0.01);
  EXPECT_NEAR(failed, static_cast<double>(requests - answered), 0.01);
  // Each copy is one datagram each way: the copies that never came back are the proxy's drops (a
  // last retransmission's echo may still be on its way when ping ends).
  const long long dropped = ProxyProcess::counter(stats, "lost");
  EXPECT_GE(packets - packets_back, dropped) << stats;
  EXPECT_LE(packets - packets_back, dropped + 2) << stats;
  // 20% each way: about 36% of transmissions lost; the retries save most requests.
  EXPECT_GE(packet_loss, 24.0) << r.out;
  EXPECT_LE(packet_loss, 48.0) << r.out;
  EXPECT_LT(failed, packet_loss) << r.out;
  ::testing::Test::RecordProperty("packet_loss_percent", std::to_string(packet_loss));
  fmt::print("20% loss each way, 100 requests: {} packets, {:.4g}% packet loss; {:.4g}% of requests failed after {} "
             "retransmissions; proxy dropped {}\n",
             packets, packet_loss, failed, retx, dropped);
}

}  // namespace
}  // namespace sockit::test::faults
