// Header of the internal cluster library. The chat server's stores in Redis when it runs as a
// cluster node (docs/CLUSTER.md, "Accounts and history in Redis"), behind the same interfaces as
// the SQLite ones (sockit/store/accounts.hpp, history.hpp):
//
//   sockit:account:<key>   hash    name, hash (argon2id PHC string), created (Unix s), scram,
//                                  certfps (space-separated)   <key>: the name ASCII-lower-cased
//   sockit:accounts        set     <key> of every account (list())
//   sockit:certfp:<fp>     string  <key> of the account owning the fingerprint
//   sockit:hist:<key>      stream  one entry per line (msgid, t, target, sender, command, text,
//                                  tags, params), XADD ... MAXLEN ~ max_messages, XTRIM MINID
//                                  (max_age)
//   sockit:histidx:<key>   zset    the stream's msgids scored by their entry's ms (msgid selectors)
//   sockit:histpriv:<self> zset    the private conversations of <self> (folded nick or @account),
//                                  scored by their last line's time (CHATHISTORY TARGETS)
//
// Every write that must be atomic across nodes (creating an account, a fingerprint) is one Lua
// script. The commands go through the node's command connection (RedisClient, on its loop).
#pragma once

#include "sockit/cluster/redis.hpp"
#include "sockit/store/accounts.hpp"
#include "sockit/store/history.hpp"

#include <memory>

namespace sockit::cluster {

/// Accounts in Redis. Its methods are called on the password checker's threads (the IRC core's
/// start_task), never on the loop: each one posts its command to `loop` (the client's) and waits
/// for the answer, at most `wait` (a Redis away answers `disconnected` within the client's command
/// timeout). Called on the loop's own thread it refuses (operation_would_block) instead of waiting.
/// detach() (loop thread) before the client goes: later calls fail at once.
class RedisAccounts final : public store::AccountStore {
 public:
  RedisAccounts(loop::EventLoop& loop, RedisClient& redis, store::HashCost cost = {},
                std::chrono::milliseconds wait = std::chrono::seconds(5));
  ~RedisAccounts() override;
  void detach();

  Result<void> add(std::string_view name, std::string_view password) override;
  Result<void> remove(std::string_view name) override;
  Result<void> set_password(std::string_view name, std::string_view password) override;
  Result<std::vector<store::Account>> list() override;
  Result<std::optional<store::Account>> find(std::string_view name) override;
  Result<std::optional<std::string>> check_password(std::string_view name, std::string_view password) override;
  Result<std::optional<std::string>> find_by_certfp(std::string_view certfp) override;
  Result<void> add_certfp(std::string_view name, std::string_view certfp) override;
  Result<void> remove_certfp(std::string_view name, std::string_view certfp) override;
  Result<std::optional<std::string>> scram(std::string_view name) override;
  Result<void> set_scram(std::string_view name, std::string_view encoded) override;

  /// What import_account() did: the account was absent and is created; there with the same
  /// password hash and fingerprints (unchanged: imports are idempotent); there and different,
  /// replaced (`overwrite`) or left alone (differs).
  enum class Imported { created, unchanged, replaced, differs };
  /// Copies `r` (hash, SCRAM verifier, creation time, fingerprints as stored elsewhere: no
  /// argon2id work) in one script. file_exists when one of its fingerprints belongs to another
  /// account (nothing written).
  Result<Imported> import_account(const store::AccountRecord& r, bool overwrite);

  struct Shared;

 private:
  Result<RedisReply> call(int script, std::vector<std::string> keys, std::vector<std::string> args);
  std::shared_ptr<Shared> shared_;
  loop::EventLoop& loop_;
  store::HashCost cost_;
  std::chrono::milliseconds wait_;
};

}  // namespace sockit::cluster

namespace sockit::cluster {

/// Chat history in Redis: one stream per channel or conversation, `sockit:hist:<key>`, written once
/// per line by the node where it was said (XADD ... MAXLEN ~ max_messages, in a script that keeps
/// the entry IDs in time order: `<ms>-<seq>` with ms the line's server-time, or the stream's last
/// ms when a node's clock is behind), read by CHATHISTORY on any node. A query is one script run
/// in Redis (selectors resolved there: a msgid through the index, a
/// timestamp by the entry IDs); its answer comes back on the loop's thread (query_async,
/// targets_async). Any thread may call append() and the *_async() reads: the command is posted to
/// `loop`, the client's. The blocking query()/targets() are refused on that loop's thread (empty).
/// max_age: a line older than it is not returned nor found by msgid (each read trims the stream
/// and its index exactly first: XTRIM MINID), appends trim approximately (MINID ~), and the keys
/// expire max_age + 1 s after their last line. detach() (loop thread) before the client goes.
class RedisHistory final : public store::History {
 public:
  RedisHistory(loop::EventLoop& loop, RedisClient& redis, store::HistoryOptions options);
  ~RedisHistory() override;
  void detach();

  const store::HistoryOptions& options() const noexcept override { return options_; }
  using store::History::append;
  void append(const store::HistoryRecord& r) override;
  std::optional<std::vector<store::HistoryMessage>> query(const std::string& key, store::HistoryQuery kind,
                                                          const store::HistorySelector& a, const store::HistorySelector& b,
                                                          std::size_t limit, bool events = false) override;
  std::vector<store::HistoryTarget> targets(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                                            std::int64_t from_ms, std::int64_t to_ms, std::size_t limit) override;
  void query_async(const std::string& key, store::HistoryQuery kind, const store::HistorySelector& a,
                   const store::HistorySelector& b, std::size_t limit, bool events, QueryDone done) override;
  void targets_async(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                     std::int64_t from_ms, std::int64_t to_ms, std::size_t limit, TargetsDone done) override;
  /// What import_async() did with a line: added to its stream, skipped (its msgid is in the
  /// stream's index already: an import run twice adds nothing), failed (Redis away or in error).
  enum class Imported { added, skipped, failed };
  /// Copies `m`, a line of another history (a single server's SQLite file: `sockit chat-server
  /// history import`), as append() writes a line (its msgid, time, key; max_messages, max_age),
  /// unless its msgid is there already; one script. Lines of a key go in its order when imported
  /// in that order (a line older than the stream's last entry is placed after it, its time tag kept).
  /// `done` runs on the loop's thread.
  void import_async(const store::HistoryMessage& m, std::function<void(Imported)> done);
  /// Lines XADDed (answered OK) and failed (Redis away or in error: the line is not in history).
  std::uint64_t written() const noexcept;
  std::uint64_t failed() const noexcept;

  struct Shared;

 private:
  void on_loop(std::function<void(const std::shared_ptr<Shared>&)> fn);
  /// The append script's KEYS and ARGV for `r` (append, import_async).
  void append_command(const store::HistoryRecord& r, std::vector<std::string>& keys, std::vector<std::string>& args) const;
  std::int64_t max_age_ms() const noexcept;     ///< options_.max_age (0: none)
  std::int64_t age_cutoff_ms() const noexcept;  ///< now - max_age in Unix ms (0: no max_age)
  std::shared_ptr<Shared> shared_;
  loop::EventLoop& loop_;
  store::HistoryOptions options_;
};

}  // namespace sockit::cluster
