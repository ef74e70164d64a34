// `sockit chat-server`'s accounts: the store opened from [accounts] / --accounts-db, REGISTER's
// default, and `sockit chat-server account ...` for operators. Passwords come from standard input
// (no echo on a terminal), never from the command line, and are never printed or logged.
// `sockit chat-server history import` (a single server's SQLite history into the cluster's Redis
// streams) is here too: it connects to Redis as `account import` does.
#include "chat_server/accounts.hpp"

#include "common/exit_codes.hpp"
#include "sockit/cluster/redis_store.hpp"
#include "sockit/irc/scram.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ctime>
#include <future>
#include <iostream>
#include <thread>
#include <termios.h>
#include <unistd.h>

namespace sockit::chat_server {

bool read_secret(const char* prompt, std::string& out) {
  bool tty = isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::fputs(prompt, stderr);
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  bool got = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fputs("\n", stderr);
  }
  if (got && !out.empty() && out.back() == '\r') out.pop_back();
  return got && !out.empty();
}

std::unique_ptr<store::AccountStore> open_accounts(const AccountsSettings& a, std::string& why) {
  auto s = store::open_sqlite_accounts(a.path, a.hash_cost);
  if (!s) {
    why = "accounts database " + s.error().message();
    return nullptr;
  }
  return std::move(*s);
}

bool registration_enabled(const AccountsSettings& a, const std::vector<Address>& listeners, bool systemd_sockets) {
  if (a.registration == "on") return true;
  if (a.registration == "off" || systemd_sockets) return false;
  return std::all_of(listeners.begin(), listeners.end(), [](const Address& l) { return l.is_loopback(); });
}

namespace {

std::string iso_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int fail(const std::string& what, const char* command = "account") {
  fmt::print(stderr, "sockit chat-server {}: {}\n", command, what);
  return cli::kExitFailure;
}

int usage(const std::string& what) {
  fmt::print(stderr,
             "sockit chat-server account: {}\n"
             "usage: sockit chat-server account add|del|passwd NAME WHERE\n"
             "       sockit chat-server account list WHERE [--json]\n"
             "       sockit chat-server account certfp add|del NAME FINGERPRINT WHERE\n"
             "       sockit chat-server account import --db FILE --cluster URL|--config FILE [--overwrite]\n"
             "WHERE: --db FILE (SQLite), --cluster URL (Redis), or --config FILE ([cluster] url, else [accounts] db)\n",
             what);
  return cli::kExitUsage;
}

bool new_password(std::string& pw) {
  if (!read_secret("password: ", pw)) return false;
  if (isatty(STDIN_FILENO) != 0) {
    std::string again;
    if (!read_secret("again: ", again) || again != pw) {
      std::fputs("sockit chat-server account: the passwords differ\n", stderr);
      pw.clear();
      return false;
    }
  }
  return true;
}

/// The network's accounts in Redis for this command: a loop on its own thread owns the client,
/// and RedisAccounts waits for each answer on this (the main) thread.
class RedisTarget {
 public:
  RedisTarget() = default;
  RedisTarget(const RedisTarget&) = delete;
  RedisTarget& operator=(const RedisTarget&) = delete;
  ~RedisTarget() {
    if (!thread_.joinable()) return;
    loop_->post([this] {
      if (accounts_) accounts_->detach();
      if (history_) history_->detach();
      client_.reset();
      loop_->stop();
    });
    thread_.join();
  }

  /// Connects (one attempt, at most the connect timeout + 1 s); false with `why`.
  bool open(const ClusterSettings& cl, store::HashCost cost, std::string& why) {
    cluster::RedisOptions ro;
    ro.url = *cluster::parse_redis_url(cl.url, nullptr);  // load_config checked it
    if (!cl.password.empty()) ro.url.password = cl.password;
    auto lp = loop::EventLoop::create();
    if (!lp) return (why = lp.error().message()), false;
    loop_ = std::move(*lp);
    auto c = cluster::RedisClient::create(*loop_, ro);
    if (!c) return (why = c.error().message()), false;
    client_ = std::move(*c);
    auto state = std::make_shared<std::promise<std::string>>();
    std::future<std::string> first = state->get_future();
    client_->set_on_state([state, told = false](bool up, const std::string& reason) mutable {
      if (!std::exchange(told, true)) state->set_value(up ? std::string() : reason.empty() ? "lost" : reason);
    });
    client_->start();
    thread_ = std::thread([this] { loop_->run(); });
    if (first.wait_for(ro.connect_timeout + std::chrono::seconds(1)) != std::future_status::ready) {
      return (why = ro.url.display() + ": no answer"), false;
    }
    if (std::string w = first.get(); !w.empty()) return (why = ro.url.display() + ": " + w), false;
    accounts_.emplace(*loop_, *client_, cost);
    return true;
  }
  cluster::RedisAccounts& accounts() { return *accounts_; }
  /// The network's history streams, with `options`' max_messages and max_age (after open()).
  cluster::RedisHistory& history(store::HistoryOptions options) {
    if (!history_) history_.emplace(*loop_, *client_, std::move(options));
    return *history_;
  }

 private:
  std::unique_ptr<loop::EventLoop> loop_;
  std::unique_ptr<cluster::RedisClient> client_;
  std::optional<cluster::RedisAccounts> accounts_;
  std::optional<cluster::RedisHistory> history_;
  std::thread thread_;
};

/// import: every account of the SQLite file `db` into Redis; the counts on stderr. 1 when one was
/// left alone (different, no --overwrite) or failed.
int import_accounts(cluster::RedisAccounts& to, const std::string& db, bool overwrite) {
  auto all = store::read_sqlite_accounts(db);
  if (!all) return fail(all.error().message());
  using I = cluster::RedisAccounts::Imported;
  std::size_t counts[4] = {0, 0, 0, 0}, failed = 0;
  for (const store::AccountRecord& r : *all) {
    auto got = to.import_account(r, overwrite);
    if (!got) {
      fmt::print(stderr, "sockit chat-server account: import {}: {}\n", r.account.name, got.error().message());
      ++failed;
      continue;
    }
    ++counts[static_cast<int>(*got)];
    if (*got == I::differs) {
      fmt::print(stderr, "sockit chat-server account: {} exists in Redis with another password or fingerprints: "
                         "left alone (--overwrite replaces it)\n", r.account.name);
    }
  }
  fmt::print(stderr, "imported {} account(s) from {}: {} created, {} unchanged, {} replaced, {} different, {} failed\n",
             all->size(), db, counts[static_cast<int>(I::created)], counts[static_cast<int>(I::unchanged)],
             counts[static_cast<int>(I::replaced)], counts[static_cast<int>(I::differs)], failed);
  return counts[static_cast<int>(I::differs)] + failed == 0 ? cli::kExitOk : cli::kExitFailure;
}

int run_action(const AccountArgs& args, store::AccountStore& st);

}  // namespace

int account_command(const AccountArgs& args) {
  const auto& w = args.words;
  if (w.empty()) return usage("what? add, del, passwd, list, certfp or import");
  const std::string& action = w[0];
  const std::size_t want = action == "list" || action == "import" ? 1 : action == "certfp" ? 4 : 2;
  if (action != "add" && action != "del" && action != "passwd" && action != "list" && action != "certfp" &&
      action != "import") {
    return usage("unknown action '" + action + "'");
  }
  if (w.size() != want) return usage(fmt::format("'{}' takes {} argument(s)", action, want - 1));
  if (action == "certfp" && w[1] != "add" && w[1] != "del") return usage("certfp add|del NAME FINGERPRINT");
  // Where the accounts are: Redis (--cluster, [cluster] url) or the SQLite file (--db, [accounts] db).
  Loaded loaded;
  if (!args.config.empty() || !args.cluster.empty()) {
    Overrides flags;
    flags.account_command = true;  // no node: a URL without a node name, or no URL (the SQLite file)
    if (!args.cluster.empty()) flags.cluster_url = args.cluster;
    std::string err;
    if (!load_config(args.config, flags, loaded, err)) return usage(err);
  }
  std::string db = args.db;
  if (db.empty() && !args.config.empty()) db = loaded.accounts.path;
  if (action == "import") {
    if (!loaded.cluster.enabled()) return usage("import copies into Redis: --cluster URL (or [cluster] url in --config)");
    if (args.db.empty()) return usage("import: --db FILE (the SQLite accounts file) is required");
  }
  if (loaded.cluster.enabled() && action != "import" && !args.db.empty()) {
    return usage("--db FILE or a cluster's Redis, not both (import copies --db into Redis)");
  }
  if (loaded.cluster.enabled()) {
    RedisTarget redis;
    if (std::string why; !redis.open(loaded.cluster, loaded.accounts.hash_cost, why)) return fail("Redis " + why);
    if (action == "import") return import_accounts(redis.accounts(), args.db, args.overwrite);
    return run_action(args, redis.accounts());
  }
  if (db.empty()) return usage("--db FILE, --cluster URL or --config FILE is required");
  // Only `add` creates the file: a typo in --db must not leave an empty database behind.
  auto s = store::open_sqlite_accounts(db, loaded.accounts.hash_cost, action == "add");  // [accounts] hash_* of --config
  if (!s) return fail(s.error().message());
  return run_action(args, **s);
}

namespace {

int run_action(const AccountArgs& args, store::AccountStore& st) {
  const auto& w = args.words;
  const std::string& action = w[0];
  if (action == "list") {
    auto all = st.list();
    if (!all) return fail(all.error().message());
    if (args.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& a : *all) {
        out.push_back({{"name", a.name}, {"created", iso_time(a.created)}, {"certfps", a.certfps}});
      }
      fmt::print("{}\n", out.dump());
    } else {
      for (const auto& a : *all) fmt::print("{}\t{}\n", a.name, iso_time(a.created));
    }
    return cli::kExitOk;
  }
  const std::string& name = action == "certfp" ? w[2] : w[1];
  if (action == "del") {
    if (auto r = st.remove(name); !r) return fail(r.error().message());
    fmt::print(stderr, "account {} deleted\n", name);
    return cli::kExitOk;
  }
  if (action == "certfp") {
    std::string fp = irc::normalize_certfp(w[3]);
    if (fp.empty()) return usage("a fingerprint is 64 hex digits (SHA-256), colons allowed");
    auto r = w[1] == "add" ? st.add_certfp(name, fp) : st.remove_certfp(name, fp);
    if (!r) return fail(r.error().message());
    fmt::print(stderr, "certfp {} {} account {}\n", w[1] == "add" ? "added to" : "removed from", fp.substr(0, 16) + "...", name);
    return cli::kExitOk;
  }
  if (action == "add" && !store::valid_account_name(name)) {
    return fail("invalid account name '" + name + "': 1-32 nick characters, not starting with a digit or '-'");
  }
  std::string pw;
  if (!new_password(pw)) return fail("no password given on standard input");
  auto r = action == "add" ? st.add(name, pw) : st.set_password(name, pw);
  if (!r) return fail(r.error().message());
  // SASL SCRAM-SHA-256's verifier beside the argon2id hash (set_password dropped the old one).
  const irc::ScramCredentials cred = irc::scram_new(pw);
  if (cred.stored_key.empty()) return fail("SCRAM-SHA-256 credentials: RAND_bytes or PBKDF2 failed");
  if (auto sr = st.set_scram(name, irc::scram_encode(cred)); !sr) return fail(sr.error().message());
  fmt::print(stderr, "account {} {}\n", name, action == "add" ? "added" : "password changed");
  return cli::kExitOk;
}

}  // namespace


namespace {

int history_usage(const std::string& what) {
  fmt::print(stderr,
             "sockit chat-server history: {}\n"
             "usage: sockit chat-server history import --db FILE --cluster URL|--config FILE\n",
             what);
  return cli::kExitUsage;
}

/// The lines of `rows` (ordered by key, time, insertion) a server with `opt`'s retention would
/// still keep: none older than max_age, the newest max_messages of each key. The others are
/// counted in `expired` and `over`.
std::vector<store::HistoryMessage> kept_lines(std::vector<store::HistoryMessage> rows, const store::HistoryOptions& opt,
                                              std::size_t& expired, std::size_t& over) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t cutoff = opt.max_age.count() > 0 ? now_ms - opt.max_age.count() * 1000 : 0;
  std::vector<store::HistoryMessage> out;
  out.reserve(rows.size());
  for (std::size_t first = 0; first < rows.size();) {
    std::size_t end = first;
    while (end < rows.size() && rows[end].key == rows[first].key) ++end;
    std::size_t young = first;  // the key's first line not older than max_age
    while (young < end && rows[young].time_ms < cutoff) ++young;
    expired += young - first;
    std::size_t from = young;
    if (opt.max_messages > 0 && end - young > opt.max_messages) from = end - opt.max_messages;
    over += from - young;
    for (std::size_t i = from; i < end; ++i) out.push_back(std::move(rows[i]));
    first = end;
  }
  return out;
}

}  // namespace

int history_command(const HistoryArgs& args) {
  if (args.words.size() != 1 || args.words[0] != "import") {
    return history_usage(args.words.empty() ? "what? import" : "unknown action '" + args.words[0] + "'");
  }
  if (args.db.empty()) return history_usage("import: --db FILE (the single server's SQLite history file) is required");
  Loaded loaded;
  if (!args.config.empty() || !args.cluster.empty()) {
    Overrides flags;
    flags.account_command = true;  // no node: a URL without a node name
    if (!args.cluster.empty()) flags.cluster_url = args.cluster;
    std::string err;
    if (!load_config(args.config, flags, loaded, err)) return history_usage(err);
  }
  if (!loaded.cluster.enabled()) {
    return history_usage("import copies into Redis: --cluster URL (or [cluster] url in --config)");
  }
  std::string why;
  auto rows = store::read_sqlite_history(args.db, why);
  if (!rows) return fail(why, "history");
  const std::size_t total = rows->size();
  // The retention the cluster's nodes apply ([history] max_messages, max_age of --config).
  store::HistoryOptions opt;
  opt.max_messages = loaded.history.max_messages;
  opt.max_age = std::chrono::duration_cast<std::chrono::seconds>(loaded.history.max_age);
  std::size_t expired = 0, over = 0;
  const std::vector<store::HistoryMessage> lines = kept_lines(std::move(*rows), opt, expired, over);

  RedisTarget redis;
  if (!redis.open(loaded.cluster, loaded.accounts.hash_cost, why)) return fail("Redis " + why, "history");
  cluster::RedisHistory& to = redis.history(opt);
  // Every line sent at once, in order (one connection: Redis runs them in that order); the answers
  // counted on the loop's thread.
  struct Counts {
    std::mutex mu;
    std::condition_variable cv;
    std::size_t answered = 0, added = 0, skipped = 0, failed = 0;
  };
  auto counts = std::make_shared<Counts>();
  using I = cluster::RedisHistory::Imported;
  for (const store::HistoryMessage& m : lines) {
    to.import_async(m, [counts](I got) {
      std::lock_guard lock(counts->mu);
      ++counts->answered;
      (got == I::added ? counts->added : got == I::skipped ? counts->skipped : counts->failed)++;
      counts->cv.notify_all();
    });
  }
  // Each answer comes within the client's command timeout; no progress for 30 s: given up.
  std::unique_lock lock(counts->mu);
  for (std::size_t seen = 0; counts->answered < lines.size(); seen = counts->answered) {
    if (!counts->cv.wait_for(lock, std::chrono::seconds(30), [&] { return counts->answered != seen; })) {
      return fail(fmt::format("Redis stopped answering: {} of {} lines answered", counts->answered, lines.size()),
                  "history");
    }
  }
  fmt::print(stderr,
             "history import from {}: imported {}, skipped {} already there; not copied: {} older than max_age, "
             "{} over max_messages; {} failed ({} lines in the file)\n",
             args.db, counts->added, counts->skipped, expired, over, counts->failed, total);
  if (counts->failed > 0) return fail(fmt::format("{} line(s) not imported (Redis error or away)", counts->failed), "history");
  return cli::kExitOk;
}

}  // namespace sockit::chat_server
