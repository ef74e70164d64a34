// `sockit chat-server`'s accounts: the store opened from [accounts] / --accounts-db, REGISTER's
// default, and `sockit chat-server account ...` for operators. Passwords come from standard input
// (no echo on a terminal), never from the command line, and are never printed or logged.
#include "chat_server/accounts.hpp"

#include "common/command.hpp"
#include "sockit/irc/scram.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <iostream>
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
  auto s = store::open_sqlite_accounts(a.path);
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

int fail(const std::string& what) {
  fmt::print(stderr, "sockit chat-server account: {}\n", what);
  return cli::kExitFailure;
}

int usage(const std::string& what) {
  fmt::print(stderr,
             "sockit chat-server account: {}\n"
             "usage: sockit chat-server account add|del|passwd NAME --db FILE\n"
             "       sockit chat-server account list --db FILE [--json]\n"
             "       sockit chat-server account certfp add|del NAME FINGERPRINT --db FILE\n",
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

}  // namespace

int account_command(const AccountArgs& args) {
  const auto& w = args.words;
  if (w.empty()) return usage("what? add, del, passwd, list or certfp");
  if (args.db.empty()) return usage("--db FILE is required");
  const std::string& action = w[0];
  const std::size_t want = action == "list" ? 1 : action == "certfp" ? 4 : 2;
  if (action != "add" && action != "del" && action != "passwd" && action != "list" && action != "certfp") {
    return usage("unknown action '" + action + "'");
  }
  if (w.size() != want) return usage(fmt::format("'{}' takes {} argument(s)", action, want - 1));
  if (action == "certfp" && w[1] != "add" && w[1] != "del") return usage("certfp add|del NAME FINGERPRINT");
  // Only `add` creates the file: a typo in --db must not leave an empty database behind.
  auto s = store::open_sqlite_accounts(args.db, {}, action == "add");
  if (!s) return fail(s.error().message());
  store::AccountStore& st = **s;
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

}  // namespace sockit::chat_server
