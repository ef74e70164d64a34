// Fuzz target: irc::Server driven in-process by up to 6 fake connections (no sockets, fake clock).
// The input is a list of records: op byte (client = op % 6, action = op / 6 % 5), length byte,
// then that many bytes of data. After each record the server's invariants must hold (nick table
// <-> clients, channels <-> members, no SendQ over its cap), and every line it sends must parse
// with our strict parser and fit in 512 bytes (plus tags).
#include "sockit/irc/message.hpp"
#include "sockit/irc/password.hpp"
#include "sockit/irc/server.hpp"
#include "sockit/store/accounts.hpp"
#include "sockit/store/history.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace {

class Peer final : public sockit::serve::Peer {
 public:
  explicit Peer(sockit::Address a) : remote_(a) {}
  void send(std::string_view bytes) override {
    if (closed) return;
    pending += bytes;
    std::size_t pos;
    while ((pos = pending.find("\r\n")) != std::string::npos) {
      std::string line = pending.substr(0, pos);
      pending.erase(0, pos + 2);
      std::string_view body = line;
      if (!body.empty() && body[0] == '@') body.remove_prefix(body.find(' ') + 1);
      if (body.size() > sockit::irc::kMaxBodyBytes) std::abort();
      if (!sockit::irc::parse(line)) std::abort();
    }
    queued += bytes.size();
  }
  void close_after_flush() override { closed = true; }
  void close_now(std::string_view) override { closed = true; }
  std::size_t queued_bytes() const override { return stalled ? queued : 0; }
  sockit::Address remote() const override { return remote_; }
  const sockit::Address& local() const override { return remote_; }
  std::uint64_t id() const override { return 1; }

  std::string pending;
  std::size_t queued = 0;
  bool closed = false;
  bool stalled = false;

 private:
  sockit::Address remote_;
};

/// draft/chathistory without SQLite: the messages in memory, every query answered from them (the
/// selectors' edge cases are the store's unit tests; here the IRC side's parsing and replies run).
class MemoryHistory final : public sockit::store::History {
 public:
  MemoryHistory() { options_.query_limit = 8; }
  const sockit::store::HistoryOptions& options() const noexcept override { return options_; }
  void append(const sockit::store::HistoryRecord& r) override {
    if (messages_.size() < 64) {
      messages_.push_back({0, std::string(r.msgid), r.time_ms, std::string(r.key), std::string(r.target),
                           std::string(r.sender), std::string(r.command), std::string(r.text), std::string(r.tags),
                           std::string(r.params)});
    }
  }
  std::optional<std::vector<sockit::store::HistoryMessage>> query(const std::string& key, sockit::store::HistoryQuery,
                                                                  const sockit::store::HistorySelector& a,
                                                                  const sockit::store::HistorySelector&,
                                                                  std::size_t limit, bool) override {
    if (a.kind == sockit::store::HistorySelector::Kind::msgid && a.msgid.size() % 2 == 1) return std::nullopt;
    std::vector<sockit::store::HistoryMessage> out;
    for (const auto& m : messages_) {
      if (m.key == key && out.size() < limit) out.push_back(m);
    }
    return out;
  }
  std::vector<sockit::store::HistoryTarget> targets(const std::vector<std::string>& channels,
                                                    const std::vector<std::string>& selves, std::int64_t, std::int64_t,
                                                    std::size_t limit) override {
    std::vector<sockit::store::HistoryTarget> out;
    for (const auto& m : messages_) {
      if (out.size() >= limit) break;
      bool mine = false;
      for (const auto& nick : selves) {
        mine = mine || (m.key.find(' ') != std::string::npos &&
                        (m.key.starts_with(nick + " ") || m.key.ends_with(" " + nick)));
      }
      for (const auto& ch : channels) mine = mine || ch == m.key;
      if (mine) out.push_back({m.key, m.time_ms});
    }
    return out;
  }

 private:
  sockit::store::HistoryOptions options_;
  std::vector<sockit::store::HistoryMessage> messages_;
};

/// Accounts without SQLite or argon2: SASL (PLAIN "alice" / "correct horse", EXTERNAL for any
/// certificate) and REGISTER run their IRC side; at most 16 accounts.
class MemoryAccounts final : public sockit::store::AccountStore {
 public:
  using Err = sockit::Error;
  sockit::Result<void> add(std::string_view name, std::string_view pw) override {
    if (!sockit::store::valid_account_name(name) || names_.size() >= 16) return Err(std::errc::invalid_argument);
    for (auto& [n, p] : names_) {
      if (n == name) return Err(std::errc::file_exists);
    }
    names_.emplace_back(std::string(name), std::string(pw));
    return {};
  }
  sockit::Result<void> remove(std::string_view) override { return {}; }
  sockit::Result<void> set_password(std::string_view, std::string_view) override { return {}; }
  sockit::Result<std::vector<sockit::store::Account>> list() override { return std::vector<sockit::store::Account>{}; }
  sockit::Result<std::optional<sockit::store::Account>> find(std::string_view) override {
    return std::optional<sockit::store::Account>();
  }
  sockit::Result<std::optional<std::string>> check_password(std::string_view name, std::string_view pw) override {
    if (name == "alice" && pw == "correct horse") return std::optional<std::string>("alice");
    for (auto& [n, p] : names_) {
      if (n == name && p == pw) return std::optional<std::string>(n);
    }
    return std::optional<std::string>();
  }
  sockit::Result<std::optional<std::string>> find_by_certfp(std::string_view) override {
    return std::optional<std::string>("alice");
  }
  sockit::Result<void> add_certfp(std::string_view, std::string_view) override { return {}; }
  sockit::Result<void> remove_certfp(std::string_view, std::string_view) override { return {}; }

 private:
  std::vector<std::pair<std::string, std::string>> names_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sockit::irc;
  using namespace std::chrono_literals;
  Config cfg;
  cfg.sendq = 8192;
  cfg.max_per_ip = 3;
  cfg.exempt_loopback = false;
  cfg.max_targets = 3;
  cfg.motd = {"fuzz"};
  // An operator (OPER root pw) and the application's hooks, so REHASH, DIE and RESTART run their
  // paths (allowed or not, by input size); a REHASH fails every other time, as a broken file does.
  static const std::string oper_hash = hash_password("pw", 1000).value();
  cfg.operators.push_back({"root", oper_hash, "*"});
  cfg.allow_die = size % 2 == 0;
  cfg.account_registration = size % 3 != 2;
  cfg.allow_restart = size % 4 < 2;
  // Each casemapping in turn (by input size, so the record format stays the same).
  cfg.casemapping = size % 3 == 0 ? Casemapping::rfc1459 : size % 3 == 1 ? Casemapping::strict_rfc1459 : Casemapping::ascii;
  Server server(cfg, [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)); });
  AdminHooks hooks;
  hooks.config_name = "fuzz.toml";
  bool rehash_fails = false;
  hooks.rehash = [&server, &cfg, &rehash_fails] {
    rehash_fails = !rehash_fails;
    if (rehash_fails) return std::string("fuzz.toml:1:1: broken");
    server.reload(cfg);
    return std::string();
  };
  hooks.die = [](std::string_view) {};
  hooks.restart = [](std::string_view) {};
  server.set_admin_hooks(std::move(hooks));
  MemoryHistory history;  // draft/chathistory on for most inputs, off for every fifth size
  if (size % 5 != 0) server.set_history(&history);
  MemoryAccounts accounts;  // SASL and REGISTER on for most inputs, off for every seventh size
  if (size % 7 != 0) server.set_account_store(&accounts);
  TimePoint now{};
  constexpr std::size_t kClients = 6;
  std::array<std::unique_ptr<Peer>, kClients> peers;
  std::array<std::optional<ClientId>, kClients> ids;
  std::size_t i = 0;
  while (i + 2 <= size) {
    std::uint8_t op = data[i];
    std::size_t len = data[i + 1];
    i += 2;
    std::string_view chunk(reinterpret_cast<const char*>(data + i), std::min(len, size - i));
    i += chunk.size();
    std::size_t k = op % kClients;
    switch (op / kClients % 5) {
      case 0:  // connect (or reconnect)
        if (ids[k]) server.disconnected(*ids[k], "gone");
        peers[k] = std::make_unique<Peer>(sockit::Address::from_ip(k < 4 ? "127.0.0.2" : "127.0.0.3", 1).value());
        ids[k] = server.connect(*peers[k], now);
        break;
      case 1:
      case 2:  // data
        if (ids[k] && !peers[k]->closed) server.receive(*ids[k], chunk, now);
        break;
      case 3:  // time passes, timers fire
        now += std::chrono::milliseconds(len * 997);
        for (std::size_t j = 0; j < kClients; ++j) {
          if (!ids[j]) continue;
          auto dl = server.next_deadline(*ids[j]);
          if (dl && *dl <= now) server.tick(*ids[j], now);
        }
        break;
      case 4:  // the peer stops reading, or vanishes
        if (!ids[k]) break;
        if (len & 1) {
          peers[k]->stalled = true;
        } else {
          server.disconnected(*ids[k], "reset");
          ids[k].reset();
        }
        break;
    }
    if (!server.check_invariants().empty()) std::abort();
  }
  server.shutdown("bye");
  if (!server.check_invariants().empty() || server.stats().connections != 0) std::abort();
  return 0;
}
