// Test helper (unit_irc): an in-memory serve::Peer and a harness that drives irc::Server with a
// fake clock. No sockets, no sleeps.
#pragma once

#include "sockit/irc/server.hpp"
#include "sockit/irc/message.hpp"
#include "sockit/irc/password.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace sockit::irc::test {

class FakePeer final : public serve::Peer {
 public:
  FakePeer(Address remote, std::uint64_t id) : remote_(remote), local_(Address::ipv4_loopback(6667)), id_(id) {}
  void send(std::string_view bytes) override {
    ++sends;
    if (!closed) out += bytes;
  }
  void close_after_flush() override { closed = true; }
  void close_now(std::string_view reason) override {
    closed = true;
    closed_now = true;
    close_reason = std::string(reason);
  }
  /// A stalled peer never drains: everything sent counts as queued (slow reader).
  std::size_t queued_bytes() const override { return stalled ? out.size() : 0; }
  Address remote() const override { return remote_; }
  const Address& local() const override { return local_; }
  std::uint64_t id() const override { return id_; }

  /// Takes the complete lines sent so far (without CR LF).
  std::vector<std::string> take() {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (true) {
      std::size_t eol = out.find("\r\n", pos);
      if (eol == std::string::npos) break;
      lines.push_back(out.substr(pos, eol - pos));
      pos = eol + 2;
    }
    out.erase(0, pos);
    return lines;
  }

  std::string out;
  std::size_t sends = 0;  ///< Peer::send calls
  bool closed = false;
  bool closed_now = false;
  bool stalled = false;
  std::string close_reason;

 private:
  Address remote_, local_;
  std::uint64_t id_;
};

/// Second word of a line (the command or numeric), skipping tags and prefix.
inline std::string command_of(const std::string& line) {
  auto r = parse(line);
  return r ? r.message->command : std::string();
}

/// The default Config with flood control off, so command tests are not delayed by fakelag.
inline Config quiet() {
  Config c;
  c.flood_rate = 0;
  return c;
}

/// quiet() with one operator: OPER root pw (a cheap hash), from hosts matching `host_mask`.
inline Config operator_config(std::string host_mask = "*") {
  Config c = quiet();
  c.operators.push_back({"root", hash_password("pw", 1000).value(), std::move(host_mask)});
  return c;
}

struct Harness {
  struct Cli {
    std::unique_ptr<FakePeer> peer;
    std::optional<ClientId> id;
    std::vector<std::string> take() { return peer->take(); }
  };

  explicit Harness(Config c = quiet()) : cfg(std::move(c)) {
    server = std::make_unique<Server>(cfg, [this] { return wall; });
  }

  Cli& connect(std::string_view ip = "127.0.0.1") {
    auto cli = std::make_unique<Cli>();
    cli->peer = std::make_unique<FakePeer>(Address::from_ip(ip, 40000).value(), clients.size() + 1);
    cli->id = server->connect(*cli->peer, now);
    clients.push_back(std::move(cli));
    return *clients.back();
  }
  void send(Cli& c, std::string_view line) {
    ASSERT_TRUE(c.id.has_value());
    server->receive(*c.id, std::string(line) + "\r\n", now);
  }
  void raw(Cli& c, std::string_view bytes) { server->receive(*c.id, bytes, now); }
  /// Sends NICK `nick` and USER (user name `nick`, real name `real_name`) on `c`; registration
  /// completes unless CAP negotiation or a server password holds it. Leaves the replies unread.
  void register_as(Cli& c, std::string_view nick, std::string_view real_name) {
    send(c, "NICK " + std::string(nick));
    send(c, "USER " + std::string(nick) + " 0 * :" + std::string(real_name));
  }
  /// A registered client (real name "Real <nick>") whose welcome burst has been read.
  Cli& user(std::string_view nick, std::string_view ip = "127.0.0.1") {
    Cli& c = connect(ip);
    register_as(c, nick, "Real " + std::string(nick));
    c.take();
    return c;
  }
  /// Sends "JOIN `channel`" from each client, in the order given. Leaves the replies unread.
  void join(std::string_view channel, std::initializer_list<Cli*> members) {
    for (Cli* c : members) send(*c, "JOIN " + std::string(channel));
  }
  /// Discards every line the clients have been sent so far.
  static void drain(std::initializer_list<Cli*> members) {
    for (Cli* c : members) c->take();
  }
  /// Registers one client per nick (in order), joins them all to `channel` (in order) and drains
  /// their output: `auto [a, b] = h.in_channel("#a", "alice", "bob");`.
  template <class... Nick>
  std::tuple<std::conditional_t<true, Cli&, Nick>...> in_channel(std::string_view channel, const Nick&... nicks) {
    std::tuple<std::conditional_t<true, Cli&, Nick>...> members{user(nicks)...};  // left to right
    std::apply(
        [&](auto&... c) {
          join(channel, {&c...});
          drain({&c...});
        },
        members);
    return members;
  }
  /// Moves the fake clock and fires every due tick.
  void advance(std::chrono::milliseconds d) {
    TimePoint end = now + d;
    while (true) {
      std::optional<TimePoint> next;
      for (auto& c : clients) {
        if (!c->id) continue;
        auto dl = server->next_deadline(*c->id);
        if (dl && (!next || *dl < *next)) next = dl;
      }
      if (!next || *next > end) break;
      now = std::max(now, *next);
      for (auto& c : clients) {
        if (!c->id) continue;
        auto dl = server->next_deadline(*c->id);
        if (dl && *dl <= now) server->tick(*c->id, now);
      }
    }
    now = end;
  }
  /// Lines of `c` whose command/numeric is `cmd`.
  static std::vector<std::string> only(const std::vector<std::string>& lines, std::string_view cmd) {
    std::vector<std::string> out;
    for (auto& l : lines) {
      if (command_of(l) == cmd) out.push_back(l);
    }
    return out;
  }
  static bool has(const std::vector<std::string>& lines, std::string_view cmd) { return !only(lines, cmd).empty(); }
  void check() { EXPECT_EQ(server->check_invariants(), ""); }
  /// `c` sends OPER root pw (operator_config()) and becomes an operator (381).
  void make_oper(Cli& c) {
    send(c, "OPER root pw");
    EXPECT_TRUE(has(c.take(), "381"));
  }

  Config cfg;
  std::chrono::system_clock::time_point wall{std::chrono::seconds(1'800'000'000)};
  TimePoint now{std::chrono::hours(1)};
  std::unique_ptr<Server> server;
  std::vector<std::unique_ptr<Cli>> clients;
};

}  // namespace sockit::irc::test
