// Accounts (issue #18): SASL's AUTHENTICATE (ircv3.net sasl-3.1/3.2: PLAIN and, with a TLS client
// certificate, EXTERNAL), draft/account-registration's REGISTER and VERIFY, and what a login
// changes (900, ACCOUNT to account-notify neighbours). The account store's slow calls (argon2id)
// run as tasks on the password checker's threads (auth.cpp: start_task), the client's input held
// until the verdict; a failed SASL attempt is throttled like a wrong password (per connection and
// per address). Nothing here logs a password or a payload.
#include "commands.hpp"

#include "sockit/irc/names.hpp"
#include "sockit/store/accounts.hpp"

#include <array>

namespace sockit::irc {

namespace {

constexpr std::size_t kChunk = 400;               // sasl-3.1: AUTHENTICATE payload chunks
constexpr std::size_t kMaxSaslPayload = 8192;     // base64 bytes of one exchange, over -> 905

/// Strict base64 (RFC 4648, padding required): nullopt for anything else.
std::optional<std::string> decode_base64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto val = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::array<int, 4> v{};
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char ch = in[i + static_cast<std::size_t>(k)];
      if (ch == '=' && last && k >= 2) {
        ++pad;
        v[static_cast<std::size_t>(k)] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[static_cast<std::size_t>(k)] = val(ch);
      if (v[static_cast<std::size_t>(k)] < 0) return std::nullopt;
    }
    std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                      (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return out;
}

void sasl_fail(S& s, Client& c) { s.send(c, s.rpl(c, ERR_SASLFAIL).t("SASL authentication failed")); }

void reset_sasl(Client& c) {
  c.sasl_mech.clear();
  c.sasl_buf.clear();
  c.sasl_buf.shrink_to_fit();
}

/// The mechanisms `c` may use: EXTERNAL only with a client certificate.
std::string mechanisms(const Client& c) { return c.certfp.empty() ? "PLAIN" : "PLAIN,EXTERNAL"; }

void start_plain(S& s, Client& c, const std::string& payload, TimePoint now) {
  // authzid NUL authcid NUL passwd (RFC 4616); an authzid other than the authcid is refused.
  std::size_t a = payload.find('\0');
  std::size_t b = a == std::string::npos ? a : payload.find('\0', a + 1);
  if (b == std::string::npos || payload.find('\0', b + 1) != std::string::npos) return sasl_fail(s, c);
  std::string authzid = payload.substr(0, a), authcid = payload.substr(a + 1, b - a - 1), passwd = payload.substr(b + 1);
  if (authcid.empty() || (!authzid.empty() && !equal_folded(authzid, authcid, Casemapping::ascii))) return sasl_fail(s, c);
  store::AccountStore* st = s.accounts_;
  c.oper_name = "PLAIN " + authcid.substr(0, 32);  // for the failure's log line: never the password
  s.start_task(c, AuthCheck::Kind::sasl, [st, authcid = std::move(authcid), passwd = std::move(passwd)](std::string& out) {
    auto r = st->check_password(authcid, passwd);
    if (!r || !r->has_value()) return 0;
    out = **r;
    return 1;
  }, now);
}

void start_external(S& s, Client& c, const std::string& authzid, TimePoint now) {
  store::AccountStore* st = s.accounts_;
  c.oper_name = "EXTERNAL " + authzid.substr(0, 32);
  s.start_task(c, AuthCheck::Kind::sasl, [st, fp = c.certfp, authzid](std::string& out) {
    auto r = st->find_by_certfp(fp);
    if (!r || !r->has_value()) return 0;
    if (!authzid.empty() && !equal_folded(authzid, **r, Casemapping::ascii)) return 0;
    out = **r;
    return 1;
  }, now);
}

void cmd_authenticate(S& s, Client& c, Message& m, TimePoint now) {
  const std::string& p = m.params[0];
  if (s.accounts_ == nullptr) {  // no accounts: a server without SASL (as ngIRCd)
    s.send(c, s.rpl(c, ERR_UNKNOWNCOMMAND).p("AUTHENTICATE").t("Unknown command"));
    return;
  }
  if (!(c.caps & kCapSasl)) {
    s.send(c, s.rpl(c, ERR_SASLFAIL).t("Request the sasl capability first"));
    return;
  }
  if (c.sasl_mech.empty()) {
    if (p == "*") {
      s.send(c, s.rpl(c, ERR_SASLABORTED).t("SASL authentication aborted"));
      return;
    }
    if (!c.account.empty()) {
      s.send(c, s.rpl(c, ERR_SASLALREADY).t("You have already authenticated using SASL"));
      return;
    }
    std::string mech = ascii_upper(p);
    if (mech != "PLAIN" && !(mech == "EXTERNAL" && !c.certfp.empty())) {
      s.send(c, s.rpl(c, RPL_SASLMECHS).p(mechanisms(c)).t("are available SASL mechanisms"));
      sasl_fail(s, c);
      return;
    }
    c.sasl_mech = mech;
    s.send(c, Line("", "AUTHENTICATE").p("+"));
    return;
  }
  if (p == "*") return s.abort_sasl(c);
  if (p.size() > kChunk) {
    reset_sasl(c);
    s.send(c, s.rpl(c, ERR_SASLTOOLONG).t("SASL message too long"));
    return;
  }
  if (p != "+") c.sasl_buf += p;
  if (c.sasl_buf.size() > kMaxSaslPayload) {
    reset_sasl(c);
    s.send(c, s.rpl(c, ERR_SASLTOOLONG).t("SASL message too long"));
    return;
  }
  if (p.size() == kChunk) return;  // more chunks follow (a last "+" if it ended on a boundary)
  const std::string mech = c.sasl_mech;
  std::optional<std::string> payload = decode_base64(c.sasl_buf);
  reset_sasl(c);
  if (!payload) return sasl_fail(s, c);
  if (mech == "PLAIN") return start_plain(s, c, *payload, now);
  start_external(s, c, *payload, now);
}

void fail_register(S& s, Client& c, std::string_view code, std::string_view account, std::string_view text) {
  s.send(c, s.from_server("FAIL").p("REGISTER").p(code).p(account.empty() ? std::string_view("*") : account).t(text));
}

void cmd_register(S& s, Client& c, Message& m, TimePoint now) {
  std::string account = m.params[0] == "*" ? c.nick : m.params[0];
  const std::string& password = m.params[2];
  if (s.accounts_ == nullptr || !s.cfg_.account_registration) {
    return fail_register(s, c, "TEMPORARILY_UNAVAILABLE", account, "Account registration is disabled");
  }
  if (!c.account.empty()) return fail_register(s, c, "ALREADY_AUTHENTICATED", c.account, "You are already logged in");
  if (account.empty()) return fail_register(s, c, "NEED_NICK", "*", "Send NICK first, or name the account");
  if (!store::valid_account_name(account)) {
    return fail_register(s, c, "BAD_ACCOUNT_NAME", account, "Account names are 1-32 nick characters");
  }
  if (password.size() < store::kMinPassword) {
    return fail_register(s, c, "WEAK_PASSWORD", account, "Passwords are at least 8 bytes");
  }
  if (password.size() > store::kMaxPassword) {
    return fail_register(s, c, "UNACCEPTABLE_PASSWORD", account, "Passwords are at most 256 bytes");
  }
  // Spam: one account per connection, register_per_ip per address and window.
  auto& rc = s.register_counts_[c.ip];
  if (now - rc.since >= s.cfg_.register_window) rc = S::RegisterCount{0, now};
  if (c.registrations > 0 || rc.count >= s.cfg_.register_per_ip) {
    return fail_register(s, c, "TEMPORARILY_UNAVAILABLE", account, "Too many registrations, try again later");
  }
  ++rc.count;
  if (s.register_counts_.size() > 4096) {  // bounded under a spoofed flood, as auth_failures_
    std::erase_if(s.register_counts_, [&](const auto& e) { return now - e.second.since >= s.cfg_.register_window; });
  }
  store::AccountStore* st = s.accounts_;
  c.oper_name = account;  // the name, for the verdict's reply (set first: the task may run inline)
  s.start_task(c, AuthCheck::Kind::register_account, [st, account, password](std::string& out) {
    auto r = st->add(account, password);
    if (r) {
      out = account;
      return 1;
    }
    out = r.error() == std::errc::file_exists        ? "ACCOUNT_EXISTS"
          : r.error() == std::errc::invalid_argument ? "BAD_ACCOUNT_NAME"
                                                     : "TEMPORARILY_UNAVAILABLE";
    return 0;
  }, now);
}

void cmd_verify(S& s, Client& c, Message& m, TimePoint) {
  // Accounts here never wait for a code (no e-mail verification): any VERIFY is for nothing.
  s.send(c, s.from_server("FAIL").p("VERIFY").p("INVALID_CODE").p(m.params[0]).t("No verification is pending"));
}

constexpr CommandSpec kCommands[] = {
    {"AUTHENTICATE", cmd_authenticate, State::any, 1, 1, "<mechanism>|<base64>|+|*",
     "SASL login (PLAIN, or EXTERNAL with a TLS client certificate); needs the sasl capability."},
    {"REGISTER", cmd_register, State::any, 3, 3, "<account>|* <email>|* <password>",
     "Creates an account and logs in (draft/account-registration)."},
    {"VERIFY", cmd_verify, State::any, 2, 2, "<account> <code>",
     "Completes a registration that asked for a code (never needed here)."},
};

}  // namespace

std::span<const CommandSpec> account_commands() { return kCommands; }

void ServerImpl::abort_sasl(Client& c) {
  if (c.sasl_mech.empty()) return;
  reset_sasl(c);
  send(c, rpl(c, ERR_SASLABORTED).t("SASL authentication aborted"));
}

void ServerImpl::log_in(Client& c, const std::string& account) {
  c.account = account;
  event(Event::Kind::logged_in, c, account);
  send(c, rpl(c, RPL_LOGGEDIN).p(c.display_nick() + "!" + (c.user.empty() ? "*" : c.user) + "@" + c.host).p(account)
              .t("You are now logged in as " + account));
  if (c.registered) to_neighbours(c, from(c, "ACCOUNT").p(account).str(), false, kCapAccountNotify);
}

void ServerImpl::finish_account_task(Client& c, AuthCheck& ch) {
  const std::string attempted = std::move(c.oper_name);
  c.oper_name.clear();
  if (ch.kind == AuthCheck::Kind::sasl) {
    if (!ch.ok) {
      event(Event::Kind::login_failed, c, attempted);
      sasl_fail(*this, c);
      return;
    }
    log_in(c, ch.out);
    send(c, rpl(c, RPL_SASLSUCCESS).t("SASL authentication successful"));
    return;
  }
  if (!ch.ok) {
    send(c, from_server("FAIL").p("REGISTER").p(ch.out.empty() ? "TEMPORARILY_UNAVAILABLE" : ch.out).p(attempted)
                .t(ch.out == "ACCOUNT_EXISTS" ? "Account already exists" : "Account not registered"));
    return;
  }
  ++c.registrations;
  event(Event::Kind::account_registered, c, ch.out);
  send(c, from_server("REGISTER").p("SUCCESS").p(ch.out).t("Account successfully registered"));
  log_in(c, ch.out);
}

}  // namespace sockit::irc
