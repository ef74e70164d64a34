// Fault suite: `sockit ping` through `sockit proxy --udp` with seeded loss, duplication, delay and
// reordering (RELIABILITY-PLAN scenario 15). Every probe must end answered or counted lost,
// transmitted == received + lost, and no late or duplicate reply may count as a fresh answer.
#include "harness.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <set>

namespace sockit::test::faults {
namespace {

using nlohmann::json;

json parse(const PingRun& r) {
  auto j = json::parse(r.json, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.json << "\nstderr: " << r.err;
  return j;
}

// Checks the invariants that hold whatever the network did.
void expect_consistent(const json& j, long long count, double timeout_ms) {
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["transmitted"].get<long long>(), count);
  EXPECT_EQ(j["transmitted"].get<long long>(), j["received"].get<long long>() + j["lost"].get<long long>());
  long long received = 0, lost = 0;
  std::set<long long> seqs, lost_seqs;
  for (const auto& p : j["probes"]) {
    seqs.insert(p["seq"].get<long long>());
    const std::string st = p["status"];
    if (st == "received") {
      ++received;
      // A fresh answer arrived within the probe's timeout (measured from the copy answered,
      // which was sent at or after the probe's first copy).
      EXPECT_LE(p["rtt_ms"].get<double>(), timeout_ms) << p.dump();
    } else {
      EXPECT_TRUE(st == "lost" || st == "error") << p.dump();
      ++lost;
      lost_seqs.insert(p["seq"].get<long long>());
    }
  }
  EXPECT_EQ(static_cast<long long>(seqs.size()), count) << "every seq appears exactly once";
  EXPECT_EQ(received, j["received"].get<long long>());
  EXPECT_EQ(lost, j["lost"].get<long long>());
  // A late reply belongs to a probe counted lost, never to one counted received.
  for (const auto& l : j["late_replies"]) EXPECT_TRUE(lost_seqs.count(l["seq"].get<long long>())) << l.dump();
  EXPECT_EQ(j["late"].get<long long>(), static_cast<long long>(j["late_replies"].size()));
}

// `sockit ping` of `count` probes every `interval`, each with a timeout_ms timeout and no
// retransmission, to the proxy's port on 127.0.0.1 (environment `env`). Checks expect_consistent on
// the JSON and returns the run and its JSON.
struct Pinged {
  PingRun run;
  json j;
};
Pinged ping_without_retries(const ProxyProcess& proxy, long long count, const std::string& interval, int timeout_ms,
                            const std::vector<std::string>& env = {}) {
  Pinged p;
  p.run = run_ping({"-c", std::to_string(count), "-i", interval, "-W", std::to_string(timeout_ms) + "ms", "--retries",
                    "0", "127.0.0.1", std::to_string(proxy.listen().port())},
                   env);
  p.j = parse(p.run);
  expect_consistent(p.j, count, timeout_ms);
  return p;
}

// Without retransmissions and without delay, each probe is exactly one datagram each way, in a
// fixed order, so the seeded proxy drops a known set: ping's loss equals the proxy's drop count.
void loss_matches_proxy(const std::string& loss, const std::string& seed, double low, double high) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto proxy = ProxyProcess::start({"--udp", "--upstream", echo.address().to_string(), "--loss", loss, "--seed", seed});
  auto [r, j] = ping_without_retries(*proxy, 200, "5ms", 300);
  std::string stats = proxy->stop();
  const long long dropped = ProxyProcess::counter(stats, "lost");
  EXPECT_EQ(j["lost"].get<long long>(), dropped) << stats;
  EXPECT_EQ(j["retransmissions"].get<long long>(), 0);
  EXPECT_EQ(j["duplicates"].get<long long>(), 0);
  const double pct = j["loss_percent"].get<double>();
  EXPECT_GE(pct, low);
  EXPECT_LE(pct, high);
  EXPECT_EQ(r.status, j["received"].get<long long>() > 0 ? 0 : 1);
  ::testing::Test::RecordProperty("loss_percent", std::to_string(pct));
  fmt::print("loss {} each way (seed {}): ping measured {:.1f}% probe loss, proxy dropped {}\n", loss, seed, pct,
             dropped);
}

TEST(PingThroughProxy, TenPercentLossEveryProbeAnsweredOrCountedLost) {
  // Two independent 10% drops per round trip: about 19% of probes lost.
  loss_matches_proxy("10%", "42", 8, 32);
}

TEST(PingThroughProxy, ThirtyPercentLossEveryProbeAnsweredOrCountedLost) {
  // About 51% of probes lost.
  loss_matches_proxy("30%", "7", 38, 64);
}

TEST(PingThroughProxy, RetransmissionsRecoverMostProbesAtThirtyPercentLoss) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto proxy = ProxyProcess::start({"--udp", "--upstream", echo.address().to_string(), "--loss", "30%", "--seed", "3"});
  const long long n = 100;
  // First retransmission after 25ms, then 50ms, 100ms: 4 copies inside the 300ms timeout.
  auto r = run_ping({"-c", std::to_string(n), "-i", "5ms", "-W", "300ms", "--rto", "25ms", "--retries", "3",
                     "--seed", "1", "127.0.0.1", std::to_string(proxy->listen().port())});
  json j = parse(r);
  expect_consistent(j, n, 300);
  proxy->stop();
  // One copy survives the round trip with p = 0.49; four copies fail together with p = 0.068.
  EXPECT_GE(j["received"].get<long long>(), 80) << j.dump();
  EXPECT_GT(j["retransmissions"].get<long long>(), 0);
  EXPECT_EQ(r.status, 0);
  fmt::print("30% loss each way with 3 retransmissions: {} of {} probes answered, {} retransmissions\n",
             j["received"].get<long long>(), n, j["retransmissions"].get<long long>());
}

TEST(PingThroughProxy, LateRepliesAreNeverCountedFresh) {
  FdLeakCheck leaks;
  UdpEcho echo;
  // Each way 0..200 ms: round trips from 0 to 400 ms against a 200 ms timeout.
  auto proxy = ProxyProcess::start(
      {"--udp", "--upstream", echo.address().to_string(), "--delay", "100ms", "--jitter", "100ms", "--seed", "11"});
  json j = ping_without_retries(*proxy, 60, "10ms", 200).j;
  proxy->stop();
  EXPECT_GT(j["received"].get<long long>(), 0) << j.dump();
  EXPECT_GT(j["late"].get<long long>(), 0) << "the delay should have produced late replies: " << j.dump();
  EXPECT_GT(j["reordered"].get<long long>(), 0) << "jitter should have reordered replies";
  fmt::print("delay 100ms+-100ms each way, timeout 200ms: {} fresh, {} late (counted lost), {} out of order\n",
             j["received"].get<long long>(), j["late"].get<long long>(), j["reordered"].get<long long>());
}

TEST(PingThroughProxy, DuplicatesAreFlaggedAndNotCounted) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto proxy =
      ProxyProcess::start({"--udp", "--upstream", echo.address().to_string(), "--duplicate", "30%", "--seed", "5"});
  const long long n = 50;
  json j = ping_without_retries(*proxy, n, "5ms", 300).j;
  std::string stats = proxy->stop();
  EXPECT_EQ(j["received"].get<long long>(), n);
  EXPECT_GT(j["duplicates"].get<long long>(), 0);
  // Every duplicated datagram either way shows up as exactly one extra reply (a duplicated
  // request is echoed twice; a duplicated reply arrives twice) - except when both happen.
  EXPECT_LE(j["duplicates"].get<long long>(), ProxyProcess::counter(stats, "duplicated")) << stats;
}

TEST(PingThroughProxy, ControlPortChangesImpairmentsAtRunTime) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto proxy = ProxyProcess::start({"--udp", "--upstream", echo.address().to_string()});
  const std::string port = std::to_string(proxy->listen().port());
  EXPECT_NE(proxy->command("blackhole on").find("blackhole=on"), std::string::npos);
  auto r = run_ping({"-c", "5", "-i", "10ms", "-W", "100ms", "127.0.0.1", port});
  EXPECT_EQ(r.status, 1) << r.json;
  EXPECT_EQ(parse(r)["received"].get<long long>(), 0);
  EXPECT_NE(proxy->command("blackhole off").find("blackhole=off"), std::string::npos);
  r = run_ping({"-c", "5", "-i", "10ms", "-W", "500ms", "127.0.0.1", port});
  EXPECT_EQ(r.status, 0) << r.json;
  EXPECT_EQ(parse(r)["received"].get<long long>(), 5);
  EXPECT_EQ(proxy->command("set slice 10").rfind("ERR", 0), 0u) << "slice is TCP-only";
  EXPECT_EQ(proxy->command("set loss 150%").rfind("ERR", 0), 0u);
  std::string stats = proxy->stop();
  EXPECT_GT(ProxyProcess::counter(stats, "blackholed"), 0) << stats;
}

TEST(PingThroughProxy, SyscallFaultsLeaveTheResultUnchanged) {
  // EINTR and short reads/writes injected into both the proxy and ping (sockit::sys fault layer):
  // a clean path must still answer every probe, exactly once.
  FdLeakCheck leaks;
  UdpEcho echo;
  const std::vector<std::string> env = {"SOCKIT_FAULTS=eintr=0.1,short=0.2,seed=42"};
  auto proxy = ProxyProcess::start({"--udp", "--upstream", echo.address().to_string()}, env);
  json j = ping_without_retries(*proxy, 50, "5ms", 500, env).j;
  EXPECT_EQ(j["received"].get<long long>(), 50);
  EXPECT_EQ(j["duplicates"].get<long long>(), 0);
  EXPECT_EQ(j["foreign"].get<long long>(), 0) << "a shortened datagram would fail to decode";
  proxy->stop();
}

TEST(PingThroughProxy, ReorderingIsDetectedAndEveryProbeCountedOnce) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto proxy = ProxyProcess::start({"--udp", "--upstream", echo.address().to_string(), "--reorder", "30%",
                                    "--reorder-delay", "30ms", "--seed", "8"});
  const long long n = 60;
  json j = ping_without_retries(*proxy, n, "5ms", 500).j;
  std::string stats = proxy->stop();
  EXPECT_EQ(j["received"].get<long long>(), n);
  EXPECT_GT(j["reordered"].get<long long>(), 0) << j.dump();
  EXPECT_GT(ProxyProcess::counter(stats, "reordered"), 0) << stats;
}

TEST(PingCli, InterruptPrintsTheSummaryAndCountsPendingProbes) {
  FdLeakCheck leaks;
  UdpEcho echo;
  Child c = Child::spawn({sockit_bin(), "ping", "-i", "50ms", "127.0.0.1", std::to_string(echo.address().port())});
  c.close_stdin();
  std::string out = c.read_stdout_until("seq=3 ", std::chrono::seconds(10));
  c.signal(SIGINT);
  out += c.read_stdout(std::chrono::seconds(5));
  auto st = c.wait(std::chrono::seconds(5));
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 0) << out;
  EXPECT_NE(out.find("--- 127.0.0.1 ping statistics ---"), std::string::npos) << out;
  EXPECT_NE(out.find(" packets transmitted, "), std::string::npos) << out;
}

TEST(PingCli, UsageErrorsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-c", "-1", "127.0.0.1", "7"},
           {"-c", "0", "127.0.0.1", "7"},
           {"-i", "soon", "127.0.0.1", "7"},
           {"-W", "0", "127.0.0.1", "7"},
           {"-u", "-t", "127.0.0.1", "7"},
           {"127.0.0.1"},
           {"127.0.0.1", "99999"},
           {"no-such-host.invalid", "7"},
       }) {
    std::vector<std::string> argv = {sockit_bin(), "ping"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, "", std::chrono::seconds(10));
    EXPECT_EQ(r.status, 2) << fmt::format("{}", fmt::join(args, " ")) << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(PingCli, PrintsPingStyleLinesAndSummary) {
  FdLeakCheck leaks;
  UdpEcho echo;
  auto r = run({sockit_bin(), "ping", "-c", "3", "-i", "10ms", "127.0.0.1", std::to_string(echo.address().port())});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("56 bytes from 127.0.0.1:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": seq=2 time="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--- 127.0.0.1 ping statistics ---"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 packets transmitted, 3 received, 0% packet loss, time "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rtt min/avg/max/mdev = "), std::string::npos) << r.out;
}

TEST(PingCli, TcpConnectProbesCountRefusedAsClosed) {
  FdLeakCheck leaks;
  auto l = TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  const auto port = l->local_address()->port();
  auto r = run_ping({"-t", "-c", "2", "-i", "10ms", "127.0.0.1", std::to_string(port)});
  json j = parse(r);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(j["received"].get<long long>(), 2);
  EXPECT_EQ(j["probes"][0]["status"], "received");
  l->close();
  r = run_ping({"-t", "-c", "2", "-i", "10ms", "127.0.0.1", std::to_string(port)});
  j = parse(r);
  EXPECT_EQ(r.status, 0) << "an RST is an answer (hping3)";
  EXPECT_EQ(j["closed"].get<long long>(), 2);
  EXPECT_EQ(j["probes"][1]["status"], "closed");
}

}  // namespace
}  // namespace sockit::test::faults
