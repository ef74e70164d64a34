// Internal header of `sockit chat-server`: user accounts ([accounts], --accounts-db), the
// operators' `sockit chat-server account ...` subcommand (docs/CHAT-SERVER.md, "Accounts") and
// `sockit chat-server history import` (docs/CLUSTER.md).
#pragma once

#include "chat_server/config_file.hpp"

#include "sockit/net/address.hpp"
#include "sockit/store/accounts.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sockit::chat_server {

/// Reads one line from standard input, without echo on a terminal (after `prompt` on stderr);
/// false when there is none. A trailing CR is dropped.
bool read_secret(const char* prompt, std::string& out);

/// The account store of [accounts] (created and migrated when missing); null with `why` ("FILE:
/// SQLite's reason") when the file cannot be used (not a database, read-only, newer schema).
std::unique_ptr<store::AccountStore> open_accounts(const AccountsSettings& a, std::string& why);

/// REGISTER on or off: "on", "off", or "auto" = on when every listener is on a loopback address
/// (`systemd_sockets`: listeners handed over by systemd, whose addresses are not checked: off).
bool registration_enabled(const AccountsSettings& a, const std::vector<Address>& listeners, bool systemd_sockets);

/// `sockit chat-server account add|del|passwd|list|certfp|import`: its arguments (CLI11 fills them).
/// With a Redis URL (--cluster, or [cluster] url in --config) the accounts are the network's in
/// Redis (docs/CLUSTER.md); otherwise the SQLite file (--db, or [accounts] db in --config).
struct AccountArgs {
  std::vector<std::string> words;  ///< add NAME | del NAME | passwd NAME | list | certfp add|del NAME FP | import
  std::string db;                  ///< --db FILE (import: the SQLite file copied into Redis)
  std::string config;              ///< --config FILE (or chat-server's own -c)
  std::string cluster;             ///< --cluster URL (replaces [cluster] url)
  bool json = false;               ///< --json (list)
  bool overwrite = false;          ///< --overwrite (import: replace a different account of the same name)
};
/// Runs it: 0 done, 1 failure (a message on stderr), 2 usage.
int account_command(const AccountArgs& args);

/// `sockit chat-server history import --db FILE --cluster URL|--config FILE`: a single server's
/// SQLite history copied into the network's Redis streams (docs/CLUSTER.md).
struct HistoryArgs {
  std::vector<std::string> words;  ///< import
  std::string db;                  ///< --db FILE: the SQLite history file copied
  std::string config;              ///< --config FILE: [cluster] url and [history] max_messages, max_age
  std::string cluster;             ///< --cluster URL (replaces [cluster] url)
};
/// Runs it: 0 done, 1 failure (one line on stderr), 2 usage.
int history_command(const HistoryArgs& args);

}  // namespace sockit::chat_server
