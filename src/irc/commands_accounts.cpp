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
#include <random>

namespace sockit::irc {

namespace {

constexpr std::size_t kChunk = 400;               // sasl-3.1: AUTHENTICATE payload chunks
constexpr std::size_t kMaxSaslPayload = 8192;     // base64 bytes of one exchange, over -> 905

void sasl_fail(S& s, Client& c) { s.send(c, s.rpl(c, ERR_SASLFAIL).t("SASL authentication failed")); }

void reset_sasl(Client& c) {
  c.sasl_mech.clear();
  c.sasl_buf.clear();
  c.sasl_buf.shrink_to_fit();
  c.scram.reset();
}

/// Sends `payload` as AUTHENTICATE chunks of 400 base64 bytes ("+" after a full last chunk).
void send_challenge(S& s, Client& c, std::string_view payload) {
  const std::string b64 = encode_base64(payload);
  std::string_view rest = b64;
  do {
    s.send(c, Line("", "AUTHENTICATE").p(rest.substr(0, kChunk)));
    rest.remove_prefix(std::min(rest.size(), kChunk));
  } while (!rest.empty());
  if (b64.size() % kChunk == 0) s.send(c, Line("", "AUTHENTICATE").p("+"));
}

/// New SCRAM credentials for `password` in the store (REGISTER, and a PLAIN login of an account
/// that has none yet). Runs on the checker's thread; a failure only leaves SCRAM unavailable.
void store_scram(store::AccountStore* st, const std::string& account, std::string_view password) {
  ScramCredentials cred = scram_new(password);
  if (!cred.stored_key.empty()) (void)st->set_scram(account, scram_encode(cred));
}

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
    // An account from before SCRAM (schema 1) gets its SCRAM-SHA-256 credentials now.
    if (auto sc = st->scram(out); sc && sc->has_value() && (*sc)->empty()) store_scram(st, out, passwd);
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

/// SCRAM-SHA-256, first step: the client-first message; the credentials are looked up on the
/// checker's thread (finish_account_task sends the server-first).
void scram_first(S& s, Client& c, const std::string& payload, TimePoint now) {
  auto first = scram_parse_client_first(payload);
  if (!first) {
    reset_sasl(c);
    return sasl_fail(s, c);
  }
  c.scram = std::make_unique<ScramExchange>();
  c.scram->first = std::move(*first);
  c.sasl_buf.clear();
  store::AccountStore* st = s.accounts_;
  s.start_task(c, AuthCheck::Kind::scram_lookup, [st, user = c.scram->first.user](std::string& out) {
    auto a = st->find(user);
    auto sc = st->scram(user);
    if (a && a->has_value() && sc && sc->has_value()) out = (*a)->name + '\n' + **sc;
    return 1;  // an unknown name goes on with fake credentials: the same steps, the same failure
  }, now);
}

/// SCRAM-SHA-256, second step: the client-final message, checked on the checker's thread; a
/// wrong proof, an unknown name and a bad nonce fail alike, throttled as PLAIN's failures.
void scram_final(S& s, Client& c, const std::string& payload, TimePoint now) {
  auto fin = scram_parse_client_final(payload);
  if (!fin) {
    reset_sasl(c);
    return sasl_fail(s, c);
  }
  ScramExchange& x = *c.scram;
  c.sasl_buf.clear();
  c.oper_name = "SCRAM-SHA-256 " + x.first.user.substr(0, 32);  // for the failure's log line
  s.start_task(c, AuthCheck::Kind::sasl,
               [first = x.first, server_first = x.server_first, nonce = x.nonce, cred = x.cred, known = x.known,
                account = x.account, fin = std::move(*fin)](std::string& out) {
                 auto v = scram_verify(first, server_first, nonce, fin, cred);
                 if (!v || !known) return 0;
                 out = account + '\n' + *v;
                 return 1;
               },
               now);
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
    if (mech != "PLAIN" && mech != "SCRAM-SHA-256" && !(mech == "EXTERNAL" && !c.certfp.empty())) {
      s.send(c, s.rpl(c, RPL_SASLMECHS).p(sasl_mechanisms(c)).t("are available SASL mechanisms"));
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
  if (mech == "SCRAM-SHA-256" && payload) {
    if (!c.scram) return scram_first(s, c, *payload, now);
    if (!c.scram->proved) return scram_final(s, c, *payload, now);
    if (payload->empty()) {  // the client's empty answer to the server-final: logged in
      const std::string account = c.scram->account;
      reset_sasl(c);
      s.log_in(c, account);
      s.send(c, s.rpl(c, RPL_SASLSUCCESS).t("SASL authentication successful"));
      return;
    }
  }
  reset_sasl(c);
  if (!payload || mech == "SCRAM-SHA-256") return sasl_fail(s, c);
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
      store_scram(st, account, password);
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

void ServerImpl::check_nick_owner(Client& c, TimePoint now) {
  c.nick_deadline.reset();
  if (!cfg_.enforce_nicks || accounts_ == nullptr || gone(c) || c.check || !store::valid_account_name(c.nick) ||
      equal_folded(c.account, c.nick, Casemapping::ascii)) {
    return;
  }
  store::AccountStore* st = accounts_;
  start_task(c, AuthCheck::Kind::nick_owner, [st, nick = c.nick](std::string& out) {
    auto r = st->find(nick);
    if (!r || !r->has_value()) return 0;
    out = (*r)->name;
    return 1;
  }, now);
}

void ServerImpl::rename_to_guest(Client& c, std::string_view why, TimePoint now) {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    const std::string guest = "Guest" + std::to_string(10000 + rd() % 90000);
    if (find_nick(guest) == nullptr && remote_nick(guest) == nullptr) {
      send(c, from_server("NOTICE").p(c.nick).t(std::string(why) + ": you are now " + guest));
      rename(c, guest);
      // The guest nick network-wide (the old claim, if still ours, is released with its verdict).
      if (cluster_ != nullptr && !c.check) start_claim(c, guest, now);
      return;
    }
  }
}

void ServerImpl::abort_sasl(Client& c) {
  if (c.sasl_mech.empty()) return;
  reset_sasl(c);
  send(c, rpl(c, ERR_SASLABORTED).t("SASL authentication aborted"));
}

std::string sasl_mechanisms(const Client& c) {
  return c.certfp.empty() ? "PLAIN,SCRAM-SHA-256" : "PLAIN,EXTERNAL,SCRAM-SHA-256";
}

void ServerImpl::log_in(Client& c, const std::string& account) {
  c.account = account;
  if (equal_folded(account, c.nick, Casemapping::ascii)) c.nick_deadline.reset();  // nick ownership
  event(Event::Kind::logged_in, c, account);
  send(c, rpl(c, RPL_LOGGEDIN).p(c.display_nick() + "!" + (c.user.empty() ? "*" : c.user) + "@" + c.host).p(account)
              .t("You are now logged in as " + account));
  if (c.registered) to_neighbours(c, from(c, "ACCOUNT").p(account).str(), false, kCapAccountNotify);
}

void ServerImpl::finish_account_task(Client& c, AuthCheck& ch) {
  const std::string attempted = std::move(c.oper_name);
  c.oper_name.clear();
  if (ch.kind == AuthCheck::Kind::scram_lookup) {
    if (!c.scram) return;  // aborted meanwhile
    ScramExchange& x = *c.scram;
    const std::size_t nl = ch.out.find('\n');
    std::optional<ScramCredentials> cred;
    if (nl != std::string::npos) cred = scram_parse(std::string_view(ch.out).substr(nl + 1));
    x.known = cred.has_value();
    x.account = x.known ? ch.out.substr(0, nl) : std::string();
    x.cred = x.known ? std::move(*cred) : scram_fake(x.first.user);  // none yet: as unknown
    x.nonce = x.first.nonce + scram_nonce();
    x.server_first = scram_server_first(x.nonce, x.cred);
    send_challenge(*this, c, x.server_first);
    return;
  }
  if (ch.kind == AuthCheck::Kind::sasl) {
    if (!ch.ok) {
      event(Event::Kind::login_failed, c, attempted);
      reset_sasl(c);
      sasl_fail(*this, c);
      return;
    }
    if (c.scram) {  // SCRAM: the server-final first; the client's "+" completes the login
      const std::size_t nl = ch.out.find('\n');
      c.scram->proved = true;
      send_challenge(*this, c, std::string_view(ch.out).substr(nl + 1));
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
