// Operator commands: OPER (its password check runs in auth.cpp), KILL, WALLOPS.
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
  s.event(Event::Kind::killed, *t, "by " + c.nick + ": " + reason);
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

constexpr CommandSpec kCommands[] = {
    {"KILL", cmd_kill, State::registered, 2, 2},
    {"OPER", cmd_oper, State::registered, 2, 2},
    {"WALLOPS", cmd_wallops, State::registered, 1, 1},
};

}  // namespace

std::span<const CommandSpec> operator_commands() { return kCommands; }

}  // namespace sockit::irc
