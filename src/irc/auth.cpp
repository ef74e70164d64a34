// irc::Server: password checks (PASS at registration, OPER). The PBKDF2 work runs on a
// PasswordChecker's threads when the server has one and the Peer a waker (the chat server), else
// inline; either way the client's input is held from the command until the verdict, and a
// failure's verdict waits a delay that doubles with each failure of the connection or address.
#include "server_impl.hpp"

#include "sockit/irc/names.hpp"

#include <utility>

namespace sockit::irc {

namespace {
constexpr std::size_t kMaxAddressesTracked = 4096;  // bounds auth_failures_ under a spoofed flood
}

void ServerImpl::start_check(Client& c, AuthCheck::Kind kind, std::string password, std::string encoded, bool counts,
                             TimePoint now) {
  auto check = std::make_shared<AuthCheck>();
  check->kind = kind;
  check->counts = counts;
  c.check = check;
  std::function<void()> wake = checker_ != nullptr && c.peer != nullptr ? c.peer->waker() : nullptr;
  if (encoded.empty()) {
    check->result.store(0);  // nothing to compare with (no operator configured): no work to hide
  } else if (wake) {
    // The job holds the check weakly: a client that leaves (quit() drops c.check) costs no hash.
    auto done = [weak = std::weak_ptr<AuthCheck>(check), wake = std::move(wake)](bool ok) {
      if (auto ch = weak.lock()) ch->result.store(ok ? 1 : 0, std::memory_order_release);
      wake();
    };
    auto it = auth_failures_.find(c.ip);
    bool urgent = it == auth_failures_.end() || it->second.count == 0 || now - it->second.last >= cfg_.auth_fail_forget;
    if (checker_->submit(std::move(password), std::move(encoded), std::move(done), urgent, check)) return;
    check->result.store(0);  // too many checks queued: a failure, throttled like any other
  } else {
    check->result.store(verify_password(password, encoded) ? 1 : 0);
  }
  poll_check(c, now);
}

void ServerImpl::start_task(Client& c, AuthCheck::Kind kind, std::function<int(std::string& out)> work,
                            TimePoint now) {
  auto check = std::make_shared<AuthCheck>();
  check->kind = kind;
  c.check = check;
  std::function<void()> wake = checker_ != nullptr && c.peer != nullptr ? c.peer->waker() : nullptr;
  if (wake) {
    // As start_check: the job holds the check weakly and is skipped once the client has left.
    auto task = [weak = std::weak_ptr<AuthCheck>(check), work = std::move(work), wake = std::move(wake)] {
      std::string out;
      int r = work(out);
      if (auto ch = weak.lock()) {
        ch->out = std::move(out);
        ch->result.store(r, std::memory_order_release);
      }
      wake();
    };
    auto it = auth_failures_.find(c.ip);
    bool urgent = it == auth_failures_.end() || it->second.count == 0 || now - it->second.last >= cfg_.auth_fail_forget;
    if (checker_->submit_task(std::move(task), urgent, check)) return;
    check->out = "TEMPORARILY_UNAVAILABLE";
    check->result.store(0);
  } else {
    std::string out;
    int r = work(out);
    check->out = std::move(out);
    check->result.store(r);
  }
  poll_check(c, now);
}

void ServerImpl::poll_check(Client& c, TimePoint now) {
  AuthCheck& ch = *c.check;
  if (!ch.release) {
    int r = ch.result.load(std::memory_order_acquire);
    if (r < 0) return;  // still on a worker
    ch.ok = r == 1 && ch.counts;
    // A refused REGISTER (name taken...) is no guess at a secret: not throttled.
    bool throttled = !ch.ok && ch.kind != AuthCheck::Kind::register_account && ch.kind != AuthCheck::Kind::nick_owner &&
                     ch.kind != AuthCheck::Kind::history && ch.kind != AuthCheck::Kind::nick_claim &&
                     ch.kind != AuthCheck::Kind::chan_join;
    ch.release = throttled ? now + fail_delay(c, now) : now;
  }
  if (*ch.release <= now) finish_check(c, now);
}

std::chrono::milliseconds ServerImpl::fail_delay(Client& c, TimePoint now) {
  if (auth_failures_.size() >= kMaxAddressesTracked && !auth_failures_.count(c.ip)) {
    std::erase_if(auth_failures_, [&](const auto& e) { return now - e.second.last >= cfg_.auth_fail_forget; });
    if (auth_failures_.size() >= kMaxAddressesTracked) auth_failures_.clear();
  }
  AddressFailures& a = auth_failures_[c.ip];
  if (a.count > 0 && now - a.last >= cfg_.auth_fail_forget) a.count = 0;
  ++a.count;
  a.last = now;
  unsigned n = std::max(++c.auth_failures, a.count);
  std::chrono::milliseconds d = cfg_.auth_fail_delay;
  for (unsigned i = 1; i < n && d < cfg_.auth_fail_delay_max; ++i) d *= 2;
  return std::min(d, cfg_.auth_fail_delay_max);
}

void ServerImpl::finish_check(Client& c, TimePoint now) {
  std::shared_ptr<AuthCheck> ch = std::move(c.check);
  if (ch->kind == AuthCheck::Kind::history || ch->kind == AuthCheck::Kind::chan_join) {
    finish_history(c, *ch);  // its `then` (and a labeled-response run resumed around it)
    return;
  }
  if (ch->kind == AuthCheck::Kind::nick_claim) {
    finish_claim(c, *ch, now);
    return;
  }
  if (ch->kind == AuthCheck::Kind::sasl || ch->kind == AuthCheck::Kind::register_account ||
      ch->kind == AuthCheck::Kind::scram_lookup) {
    finish_account_task(c, *ch);
    return;
  }
  if (ch->kind == AuthCheck::Kind::nick_owner) {
    if (ch->ok && equal_folded(ch->out, c.nick, Casemapping::ascii) &&
        !equal_folded(c.account, c.nick, Casemapping::ascii)) {
      c.nick_deadline = now + cfg_.nick_grace;
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(cfg_.nick_grace).count();
      send(c, from_server("NOTICE").p(c.nick).t("This nickname is registered: log in to its account within " +
                                                std::to_string(secs) + " seconds or your nick will be changed"));
    }
    return;
  }
  if (ch->kind == AuthCheck::Kind::server_password) {
    if (ch->ok) {
      complete_registration(c, now);
    } else {
      event(Event::Kind::password_failed, c);
      send(c, rpl(c, ERR_PASSWDMISMATCH).t("Password incorrect"));
      quit(c, "Bad password");
    }
    return;
  }
  if (!ch->ok) {
    // One reply for an unknown name, a host that does not match and a wrong password, after the
    // same work and the same delay (InspIRCd's 491 "Invalid oper credentials").
    event(Event::Kind::oper_failed, c, c.oper_name);
    send(c, rpl(c, ERR_NOOPERHOST).t("Invalid oper credentials"));
    return;
  }
  grant_oper(c);
}

void ServerImpl::grant_oper(Client& c) {
  if (c.oper) return;
  set_user_flag(c, &Client::oper, true);
  event(Event::Kind::oper, c, c.oper_name);
  send(c, rpl(c, RPL_YOUREOPER).t("You are now an IRC operator"));
  send(c, Line(c.nick, "MODE").p(c.nick).t("+o"));
  cluster_publish_state(c, ClusterEvent::Kind::oper);  // the other nodes: WHO *, WHOIS 313
}

std::string ServerImpl::sts_value(const Client& c) const {
  if (cfg_.sts_port == 0) return {};
  std::string d = "duration=" + std::to_string(cfg_.sts_duration.count());
  return c.tls ? d : "port=" + std::to_string(cfg_.sts_port) + "," + d;
}

std::string normalize_certfp(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == ':') continue;
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return {};
    out += ch;
  }
  return out.size() == 64 ? out : std::string();
}

}  // namespace sockit::irc
