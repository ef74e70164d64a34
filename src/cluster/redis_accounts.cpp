// cluster::RedisAccounts: the chat server's accounts in Redis (include/sockit/cluster/redis_store.hpp).
// The argon2id work and the wait for Redis happen on the password checker's thread; the command
// itself is sent by the loop that owns the Redis client (posted there), so hiredis stays async and
// the loop never waits. Every operation is one Lua script: creating an account (two nodes
// registering the same name at once: exactly one script finds the key absent) and adding a
// fingerprint are atomic across nodes. Nothing here logs a password or a hash.
#include "sockit/cluster/redis_store.hpp"

#include "sockit/cluster/nicks.hpp"

#include <chrono>
#include <future>
#include <mutex>
#include <utility>

namespace sockit::cluster {
namespace {

constexpr char kAccountPrefix[] = "sockit:account:";
constexpr char kAccounts[] = "sockit:accounts";
constexpr char kCertfpPrefix[] = "sockit:certfp:";

// KEYS: the account, the set. ARGV: name, hash, created, key. 1 created, 0 the name exists.
constexpr char kAdd[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3], 'scram', '', 'certfps', '')
redis.call('SADD', KEYS[2], ARGV[4])
return 1
)lua";

// KEYS: the account, the set. ARGV: key, certfp key prefix. 1 removed (its fingerprints too), 0 none.
constexpr char kRemove[] = R"lua(
local fps = redis.call('HGET', KEYS[1], 'certfps')
if not fps then return 0 end
for fp in string.gmatch(fps, '%S+') do redis.call('DEL', ARGV[2] .. fp) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS: the account. ARGV: field, value, ... 1 set, 0 no such account.
constexpr char kSetFields[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
)lua";

// KEYS: the account. ARGV: fields. The values (nil each for no account).
constexpr char kGetFields[] = R"lua(
return redis.call('HMGET', KEYS[1], unpack(ARGV))
)lua";

// KEYS: the set. ARGV: account key prefix. name, created, certfps of every account, by key.
constexpr char kList[] = R"lua(
local keys = redis.call('SMEMBERS', KEYS[1])
table.sort(keys)
local out = {}
for _, k in ipairs(keys) do
  local v = redis.call('HMGET', ARGV[1] .. k, 'name', 'created', 'certfps')
  if v[1] then out[#out + 1] = v[1]; out[#out + 1] = v[2]; out[#out + 1] = v[3] end
end
return out
)lua";

// KEYS: the certfp key. ARGV: account key prefix. The owner's name or nil.
constexpr char kByCertfp[] = R"lua(
local k = redis.call('GET', KEYS[1])
if not k then return false end
return redis.call('HGET', ARGV[1] .. k, 'name')
)lua";

// KEYS: the account, the certfp key. ARGV: key, fp. 1 added, 0 no account, -1 the fp is taken.
constexpr char kAddCertfp[] = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SETNX', KEYS[2], ARGV[1]) == 0 then return -1 end
local fps = redis.call('HGET', KEYS[1], 'certfps') or ''
if fps == '' then fps = ARGV[2] else fps = fps .. ' ' .. ARGV[2] end
redis.call('HSET', KEYS[1], 'certfps', fps)
return 1
)lua";

// KEYS: the account, the certfp key. ARGV: key, fp. 1 removed, 0 not this account's.
constexpr char kRemoveCertfp[] = R"lua(
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
local out = {}
for fp in string.gmatch(redis.call('HGET', KEYS[1], 'certfps') or '', '%S+') do
  if fp ~= ARGV[2] then out[#out + 1] = fp end
end
redis.call('HSET', KEYS[1], 'certfps', table.concat(out, ' '))
return 1
)lua";

// KEYS: the account, the set. ARGV: name, hash, created, scram, certfps (space-separated), key,
// overwrite ("1"), certfp key prefix. "created", "unchanged" (the same hash and fingerprints),
// "replaced", "differs" (not overwritten) or "certfp" (one belongs to another account: nothing written).
constexpr char kImport[] = R"lua(
local cur = redis.call('HMGET', KEYS[1], 'name', 'hash', 'certfps')
if cur[1] then
  if cur[2] == ARGV[2] and (cur[3] or '') == ARGV[5] then return 'unchanged' end
  if ARGV[7] ~= '1' then return 'differs' end
end
for fp in string.gmatch(ARGV[5], '%S+') do
  local owner = redis.call('GET', ARGV[8] .. fp)
  if owner and owner ~= ARGV[6] then return 'certfp' end
end
if cur[1] then
  for fp in string.gmatch(cur[3] or '', '%S+') do redis.call('DEL', ARGV[8] .. fp) end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3], 'scram', ARGV[4], 'certfps', ARGV[5])
for fp in string.gmatch(ARGV[5], '%S+') do redis.call('SET', ARGV[8] .. fp, ARGV[6]) end
redis.call('SADD', KEYS[2], ARGV[6])
if cur[1] then return 'replaced' end
return 'created'
)lua";

enum Op { add_op, remove_op, set_op, get_op, list_op, by_certfp_op, add_certfp_op, remove_certfp_op, import_op, op_count };

std::string account_key_of(std::string_view name) { return kAccountPrefix + store::account_key(name); }

Error no_such(std::string_view name) { return Error(std::errc::no_such_file_or_directory, "no account " + std::string(name)); }

std::optional<std::string> str_of(const RedisReply& r) {
  if (r.type != RedisReply::Type::string) return std::nullopt;
  return r.str;
}

std::vector<std::string> split_fps(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < s.size();) {
    std::size_t sp = s.find(' ', at);
    if (sp == std::string::npos) sp = s.size();
    if (sp > at) out.push_back(s.substr(at, sp - at));
    at = sp + 1;
  }
  return out;
}

}  // namespace

/// What the posted commands need, alive as long as any of them: the client (null once detached)
/// and the scripts (used on the loop thread only).
struct RedisAccounts::Shared {
  RedisClient* redis = nullptr;
  Script scripts[op_count] = {Script(kAdd), Script(kRemove), Script(kSetFields), Script(kGetFields),
                              Script(kList), Script(kByCertfp), Script(kAddCertfp), Script(kRemoveCertfp),
                              Script(kImport)};
};

RedisAccounts::RedisAccounts(loop::EventLoop& loop, RedisClient& redis, store::HashCost cost,
                             std::chrono::milliseconds wait)
    : shared_(std::make_shared<Shared>()), loop_(loop), cost_(cost), wait_(wait) {
  shared_->redis = &redis;
}

RedisAccounts::~RedisAccounts() = default;

void RedisAccounts::detach() { shared_->redis = nullptr; }

Result<RedisReply> RedisAccounts::call(int script, std::vector<std::string> keys, std::vector<std::string> args) {
  if (loop_.is_in_loop_thread()) {
    return Error(std::errc::operation_would_block, "accounts in Redis: not waited for on the event loop's thread");
  }
  auto promise = std::make_shared<std::promise<RedisReply>>();
  std::future<RedisReply> answer = promise->get_future();
  loop_.post([shared = shared_, script, keys = std::move(keys), args = std::move(args), promise]() mutable {
    if (shared->redis == nullptr) {
      RedisReply gone;
      gone.type = RedisReply::Type::disconnected;
      promise->set_value(gone);
      return;
    }
    shared->scripts[script].run(*shared->redis, std::move(keys), std::move(args),
                                [promise](const RedisReply& r) { promise->set_value(r); });
  });
  if (answer.wait_for(wait_) != std::future_status::ready) {
    return Error(std::errc::timed_out, "accounts in Redis: no answer");
  }
  RedisReply r;
  try {
    r = answer.get();
  } catch (const std::future_error&) {  // the loop dropped the command without running it (stopping)
    return Error(std::errc::not_connected, "accounts in Redis: the node is stopping");
  }
  if (r.type == RedisReply::Type::disconnected) return Error(std::errc::not_connected, "accounts in Redis: Redis unreachable");
  if (r.type == RedisReply::Type::error) return Error(std::errc::io_error, "accounts in Redis: " + r.str);
  return r;
}

Result<void> RedisAccounts::add(std::string_view name, std::string_view password) {
  if (!store::valid_account_name(name)) return Error(std::errc::invalid_argument, "account name");
  if (auto r = store::check_password_text(password); !r) return r;
  auto hash = store::hash_password(password, cost_);  // slow: on this (checker) thread
  if (!hash) return hash.error();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  auto r = call(add_op, {account_key_of(name), kAccounts},
                {std::string(name), *hash, std::to_string(now.count()), store::account_key(name)});
  if (!r) return r.error();
  if (r->integer == 0) return Error(std::errc::file_exists, "account " + std::string(name) + " exists");
  return {};
}

Result<void> RedisAccounts::remove(std::string_view name) {
  auto r = call(remove_op, {account_key_of(name), kAccounts}, {store::account_key(name), kCertfpPrefix});
  if (!r) return r.error();
  if (r->integer == 0) return no_such(name);
  return {};
}

Result<void> RedisAccounts::set_password(std::string_view name, std::string_view password) {
  if (auto r = store::check_password_text(password); !r) return r;
  auto hash = store::hash_password(password, cost_);
  if (!hash) return hash.error();
  auto r = call(set_op, {account_key_of(name)}, {"hash", *hash, "scram", ""});  // the old verifier goes too
  if (!r) return r.error();
  if (r->integer == 0) return no_such(name);
  return {};
}

Result<std::vector<store::Account>> RedisAccounts::list() {
  auto r = call(list_op, {kAccounts}, {kAccountPrefix});
  if (!r) return r.error();
  std::vector<store::Account> out;
  for (std::size_t i = 0; i + 2 < r->elements.size(); i += 3) {
    store::Account a;
    a.name = str_of(r->elements[i]).value_or("");
    a.created = std::strtoll(str_of(r->elements[i + 1]).value_or("0").c_str(), nullptr, 10);
    a.certfps = split_fps(str_of(r->elements[i + 2]).value_or(""));
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::optional<store::Account>> RedisAccounts::find(std::string_view name) {
  auto r = call(get_op, {account_key_of(name)}, {"name", "created", "certfps"});
  if (!r) return r.error();
  if (r->elements.size() != 3 || !str_of(r->elements[0])) return std::optional<store::Account>();
  store::Account a;
  a.name = *str_of(r->elements[0]);
  a.created = std::strtoll(str_of(r->elements[1]).value_or("0").c_str(), nullptr, 10);
  a.certfps = split_fps(str_of(r->elements[2]).value_or(""));
  return std::optional<store::Account>(std::move(a));
}

Result<std::optional<std::string>> RedisAccounts::check_password(std::string_view name, std::string_view password) {
  auto r = call(get_op, {account_key_of(name)}, {"name", "hash"});
  if (!r) return r.error();
  std::optional<std::string> stored = r->elements.size() == 2 ? str_of(r->elements[0]) : std::nullopt;
  std::optional<std::string> hash = r->elements.size() == 2 ? str_of(r->elements[1]) : std::nullopt;
  if (!stored || !hash || hash->empty()) {
    (void)store::hash_password(password, cost_);  // an unknown name costs what a wrong password does
    return std::optional<std::string>();
  }
  if (!store::verify_password_hash(*hash, password)) return std::optional<std::string>();
  return stored;
}

Result<std::optional<std::string>> RedisAccounts::find_by_certfp(std::string_view certfp) {
  auto r = call(by_certfp_op, {kCertfpPrefix + std::string(certfp)}, {kAccountPrefix});
  if (!r) return r.error();
  return str_of(*r);
}

Result<void> RedisAccounts::add_certfp(std::string_view name, std::string_view certfp) {
  if (!store::valid_certfp(certfp)) return Error(std::errc::invalid_argument, "certfp: 64 hex digits (SHA-256)");
  auto r = call(add_certfp_op, {account_key_of(name), kCertfpPrefix + std::string(certfp)},
                {store::account_key(name), std::string(certfp)});
  if (!r) return r.error();
  if (r->integer == 0) return no_such(name);
  if (r->integer < 0) return Error(std::errc::file_exists, "certfp already belongs to an account");
  return {};
}

Result<void> RedisAccounts::remove_certfp(std::string_view name, std::string_view certfp) {
  auto r = call(remove_certfp_op, {account_key_of(name), kCertfpPrefix + std::string(certfp)},
                {store::account_key(name), std::string(certfp)});
  if (!r) return r.error();
  if (r->integer == 0) return Error(std::errc::no_such_file_or_directory, "no such certfp on " + std::string(name));
  return {};
}

Result<std::optional<std::string>> RedisAccounts::scram(std::string_view name) {
  auto r = call(get_op, {account_key_of(name)}, {"name", "scram"});
  if (!r) return r.error();
  if (r->elements.size() != 2 || !str_of(r->elements[0])) return std::optional<std::string>();
  return std::optional<std::string>(str_of(r->elements[1]).value_or(""));
}

Result<void> RedisAccounts::set_scram(std::string_view name, std::string_view encoded) {
  auto r = call(set_op, {account_key_of(name)}, {"scram", std::string(encoded)});
  if (!r) return r.error();
  if (r->integer == 0) return no_such(name);
  return {};
}

Result<RedisAccounts::Imported> RedisAccounts::import_account(const store::AccountRecord& rec, bool overwrite) {
  const store::Account& a = rec.account;
  if (!store::valid_account_name(a.name)) return Error(std::errc::invalid_argument, "account name '" + a.name + "'");
  std::string fps;
  for (const std::string& fp : a.certfps) fps += (fps.empty() ? "" : " ") + fp;
  auto r = call(import_op, {account_key_of(a.name), kAccounts},
                {a.name, rec.hash, std::to_string(a.created), rec.scram, fps, store::account_key(a.name),
                 overwrite ? "1" : "0", kCertfpPrefix});
  if (!r) return r.error();
  const std::string what = str_of(*r).value_or("");
  if (what == "created") return Imported::created;
  if (what == "unchanged") return Imported::unchanged;
  if (what == "replaced") return Imported::replaced;
  if (what == "differs") return Imported::differs;
  return Error(std::errc::file_exists, "a fingerprint of " + a.name + " belongs to another account");
}

}  // namespace sockit::cluster
