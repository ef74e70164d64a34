// Micro-benchmark of the IRC core's delivery path (built only when the irc layer exists): one
// channel of N clients, PRIVMSGs from one member (1 or 4 per read) relayed to the N-1 others. No
// sockets: each Peer only counts the bytes queued, so the figure is the user-space CPU of
// irc::Server per delivered line (ServerImpl::to_channel + send), the part bench/run.sh's IRC cell
// cannot separate from the kernel. Items = deliveries.
#include "sockit/irc/server.hpp"
#include "sockit/store/history.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <time.h>
#include <unistd.h>

namespace {

using namespace sockit;

class CountingPeer final : public serve::Peer {
 public:
  explicit CountingPeer(std::uint64_t id) : remote_(Address::ipv4_loopback(40000)), id_(id) {}
  void send(std::string_view bytes) override { queued_ += bytes.size(); }
  void close_after_flush() override {}
  void close_now(std::string_view) override {}
  std::size_t queued_bytes() const override { return 0; }  // the socket keeps up
  Address remote() const override { return remote_; }
  const Address& local() const override { return remote_; }
  std::uint64_t id() const override { return id_; }
  std::size_t queued_ = 0;

 private:
  Address remote_;
  std::uint64_t id_;
};

struct Channel {
  /// `tags`: every member negotiates message-tags too (issue #18's fan-out bench).
  Channel(std::size_t n, bool server_time, bool tags = false) {
    irc::Config cfg;
    cfg.flood_rate = 0;
    cfg.max_per_ip = 0;
    server = std::make_unique<irc::Server>(cfg);
    for (std::size_t i = 0; i < n; ++i) {
      peers.push_back(std::make_unique<CountingPeer>(i + 1));
      auto id = server->connect(*peers.back(), now);
      ids.push_back(*id);
      std::string nick = "u" + std::to_string(i);
      std::string caps = server_time ? (tags ? "server-time message-tags" : "server-time") : (tags ? "message-tags" : "");
      std::string reg = (caps.empty() ? "" : "CAP REQ :" + caps + "\r\nCAP END\r\n") + std::string("NICK ") + nick +
                        "\r\nUSER " + nick + " 0 * :bench\r\nJOIN #load\r\n";
      server->receive(*id, reg, now);
    }
  }
  irc::TimePoint now{std::chrono::hours(1)};
  std::unique_ptr<irc::Server> server;
  std::vector<std::unique_ptr<CountingPeer>> peers;
  std::vector<irc::ClientId> ids;
};

void BM_IrcChannelFanout(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool tags = state.range(3) != 0;
  Channel ch(n, state.range(1) != 0, tags);
  // history: every line also goes to a HistoryStore (SQLite file in /tmp, writer thread).
  std::unique_ptr<store::HistoryStore> history;
  const std::string db = "/tmp/sockit_bench_history_" + std::to_string(::getpid()) + ".db";
  if (state.range(4) != 0) {
    for (const char* sfx : {"", "-wal", "-shm"}) std::remove((db + sfx).c_str());
    store::HistoryOptions o;
    o.path = db;
    std::string err;
    history = store::HistoryStore::open(o, err);
    if (!history) {
      state.SkipWithError(err.c_str());
      return;
    }
    ch.server->set_history(history.get());
  }
  // `lines` PRIVMSGs arrive in one read (the bench's senders keep up to 4 in flight).
  const auto lines = static_cast<std::size_t>(state.range(2));
  std::string read;
  // With tags: each line carries a client-only tag, relayed to every member (message-tags).
  for (std::size_t i = 0; i < lines; ++i) {
    read += std::string(tags ? "@+draft/reply=1234 " : "") + "PRIVMSG #load :3 1234 1764072000123456789 xxxxxxxxxxxxxxxxxxxxxxxx\r\n";
  }
  std::size_t k = 0;
  // The loop thread's own CPU (the history writer's thread is not in it): the delivery path.
  auto thread_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  };
  const double start = thread_ns();
  for (auto _ : state) {
    ch.server->receive(ch.ids[k % 10], read, ch.now);  // 10 senders, as in the bench's IRC cell
    ++k;
  }
  const double loop_ns = thread_ns() - start;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lines * (n - 1)));
  state.counters["loop_ns_per_delivery"] =
      loop_ns / static_cast<double>(state.iterations() * lines * (n - 1));
  state.SetLabel("items = deliveries");
  if (history) {
    ch.server->set_history(nullptr);
    history.reset();
    for (const char* sfx : {"", "-wal", "-shm"}) std::remove((db + sfx).c_str());
  }
}
BENCHMARK(BM_IrcChannelFanout)
    ->Args({1000, 0, 1, 0, 0})
    ->Args({1000, 1, 1, 0, 0})
    ->Args({1000, 0, 4, 0, 0})
    ->Args({1000, 1, 1, 1, 0})
    ->Args({1000, 0, 1, 0, 1})
    ->Args({1000, 1, 1, 1, 1})
    ->Args({100, 1, 1, 1, 0})
    ->Args({100, 1, 1, 1, 1})
    ->ArgNames({"members", "server_time", "lines", "tags", "history"});

}  // namespace
