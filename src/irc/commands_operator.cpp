// Operator commands: OPER (its password check runs in auth.cpp), KILL, WALLOPS, and REHASH, DIE,
// RESTART, which act through the application's hooks (Server::set_admin_hooks).
#include "commands.hpp"

#include "sockit/irc/names.hpp"
#include "sockit/irc/password.hpp"

namespace sockit::irc {

namespace {

void cmd_oper(S& s, Client& c, Message& m, TimePoint now) {
  const Operator* op = nullptr;
  for (const Operator& o : s.cfg_.operators) {
    if (o.name == m.params[0]) op = &o;
  }
  bool allowed = op != nullptr && (op->host_mask == "*" || mask_match(normalize_mask(op->host_mask), c.mask(), s.cfg_.casemapping));
  // A client certificate (certfp): required when the operator names one; enough without a password.
  auto cert = op != nullptr ? s.cfg_.operator_certfp.find(op->name) : s.cfg_.operator_certfp.end();
  if (cert != s.cfg_.operator_certfp.end()) {
    allowed = allowed && c.certfp == cert->second;
    if (op->password_hash.empty()) {
      c.oper_name = op->name;
      if (allowed) return s.grant_oper(c);
      s.event(Event::Kind::oper_failed, c, c.oper_name);
      s.send(c, s.rpl(c, ERR_NOOPERHOST).t("Invalid oper credentials"));
      return;
    }
  }
  // An account ([[operator]] account = "name"): being logged in to it is enough; without a
  // password configured it is the only way.
  auto acct = op != nullptr ? s.cfg_.operator_account.find(op->name) : s.cfg_.operator_account.end();
  if (acct != s.cfg_.operator_account.end()) {
    c.oper_name = op->name;
    if (allowed && !c.account.empty() && equal_folded(c.account, acct->second, Casemapping::ascii)) return s.grant_oper(c);
    if (op->password_hash.empty()) {
      s.event(Event::Kind::oper_failed, c, c.oper_name);
      s.send(c, s.rpl(c, ERR_NOOPERHOST).t("Invalid oper credentials"));
      return;
    }
  }
  if (m.params.size() < 2) return err_need_more_params(s, c, "OPER");
  // An unknown name or host is checked against some operator's hash anyway and fails: the same
  // work, delay and reply (491) as a wrong password, so replies do not tell which names exist.
  std::string hash = op != nullptr ? op->password_hash
                                   : (s.cfg_.operators.empty() ? std::string() : s.cfg_.operators.front().password_hash);
  // Only a configured name is logged: a stray parameter could be someone's password.
  c.oper_name = op != nullptr ? op->name : std::string();
  s.start_check(c, AuthCheck::Kind::oper, m.params[1], std::move(hash), allowed, now);
}

void cmd_kill(S& s, Client& c, Message& m, TimePoint) {
  if (!c.oper) return err_no_privileges(s, c);
  Client* t = s.find_nick(m.params[0]);
  if (t == nullptr && s.cluster_ != nullptr && s.cluster_->relaying()) {
    if (const std::string* nick = s.remote_nick(m.params[0])) {  // on another node: its node disconnects it
      const std::string reason(truncate_utf8(!m.params[1].empty() ? m.params[1] : c.nick, s.cfg_.kick_len));
      s.cluster_publish(ClusterEvent::Kind::kill, c, *nick, s.from(c, "KILL").p(*nick).t(reason).str());
      return;
    }
  }
  if (t == nullptr) {
    if (equal_folded(m.params[0], s.cfg_.server_name)) {
      s.send(c, s.rpl(c, ERR_CANTKILLSERVER).t("You can't kill a server!"));
    } else {
      err_no_such_nick(s, c, m.params[0]);
    }
    return;
  }
  std::string reason = !m.params[1].empty() ? m.params[1] : c.nick;
  reason = std::string(truncate_utf8(reason, s.cfg_.kick_len));
  // Audit: whom (the event's nick and ip), who and from where (the killer's mask), why.
  s.event(Event::Kind::killed, *t, "by " + c.mask() + ": " + reason);
  s.send(*t, s.from(c, "KILL").p(t->nick).t(reason));
  s.quit(*t, "Killed (" + c.nick + " (" + reason + "))");
}

void cmd_wallops(S& s, Client& c, Message& m, TimePoint) {
  if (!c.oper) return err_no_privileges(s, c);
  std::string wire = s.from(c, "WALLOPS").t(m.params[0]).str();
  std::vector<Client*> targets;
  for (auto& [id, t] : s.clients_) {
    if (t->registered && (t->wallops || t->oper)) targets.push_back(t.get());
  }
  for (Client* t : targets) s.send(*t, wire);
}

// REHASH: the application reads its configuration again, as on SIGHUP (AdminHooks::rehash); a
// broken file keeps the old configuration and the operator is told why.
void cmd_rehash(S& s, Client& c, Message&, TimePoint) {
  if (!c.oper) return err_no_privileges(s, c);
  if (!s.admin_.rehash) {
    s.send(c, s.from_server("NOTICE").p(c.nick).t("*** REHASH is not available here (no configuration to read)"));
    return;
  }
  const std::string file = s.admin_.config_name.empty() ? std::string("*") : s.admin_.config_name;
  s.send(c, s.rpl(c, RPL_REHASHING).p(file).t("Rehashing"));
  const std::string error = s.admin_.rehash();  // may call Server::reload (cfg_ changes)
  if (!error.empty()) {
    s.send(c, s.from_server("NOTICE").p(c.nick).t("*** REHASH failed, the old configuration stays: " + error));
  }
}

// DIE and RESTART: operators only (481), and only where the configuration allows them (off by
// default; else 723 ERR_NOPRIVS, Modern IRC's reply to an operator without that privilege). Every
// client gets ERROR, then the application stops (and, for RESTART, runs itself again).
void stop_server(S& s, Client& c, bool allowed, const std::function<void(std::string_view)>& hook,
                 std::string_view privilege, std::string_view what) {
  if (!c.oper) return err_no_privileges(s, c);
  if (!allowed || !hook) {
    s.send(c, s.rpl(c, ERR_NOPRIVS).p(privilege).t("Insufficient oper privileges."));
    return;
  }
  const std::string reason = std::string(what) + " by " + c.nick;
  s.shutdown(reason);
  hook(reason);
}

void cmd_die(S& s, Client& c, Message&, TimePoint) {
  stop_server(s, c, s.cfg_.allow_die, s.admin_.die, "die", "Server shutting down: DIE");
}

void cmd_restart(S& s, Client& c, Message&, TimePoint) {
  stop_server(s, c, s.cfg_.allow_restart, s.admin_.restart, "restart", "Server restarting: RESTART");
}

constexpr CommandSpec kCommands[] = {
    {"DIE", cmd_die, State::registered, 0, 1, "", "Stops the server (operators; allow_die in the configuration)."},
    {"KILL", cmd_kill, State::registered, 2, 2, "<nickname> <comment>", "Disconnects a user (operators)."},
    {"OPER", cmd_oper, State::registered, 1, 2, "<name> [<password>]",
     "Makes you an IRC operator (the password may be left out for an operator known by client certificate)."},
    {"REHASH", cmd_rehash, State::registered, 0, 1, "",
     "Reloads the server's configuration file, as SIGHUP does (operators)."},
    {"RESTART", cmd_restart, State::registered, 0, 1, "",
     "Restarts the server (operators; allow_restart in the configuration)."},
    {"WALLOPS", cmd_wallops, State::registered, 1, 1, "<text>",
     "Sends <text> to every user with mode +w (operators)."},
};

}  // namespace

std::span<const CommandSpec> operator_commands() { return kCommands; }

}  // namespace sockit::irc
