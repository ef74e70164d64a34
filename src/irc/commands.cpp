// The one command table of irc::Server, merged from the families' lists (commands_<family>.cpp),
// dispatch() that checks arity and registration state against it, and the helpers the families
// share (commands.hpp).
#include "commands.hpp"

#include "sockit/irc/names.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace sockit::irc {

bool our_server(S& s, Client& c, const Message& m, std::size_t index) {
  if (m.params.size() <= index || m.params[index].empty()) return true;
  if (mask_match(m.params[index], s.cfg_.server_name)) return true;
  s.send(c, s.rpl(c, ERR_NOSUCHSERVER).p(m.params[index]).t("No such server"));
  return false;
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return out;
}

std::string prefixes(const Member& m, bool multi) {
  std::string p;
  if (m.op) p += '@';
  if (m.voice && (multi || p.empty())) p += '+';
  return p;
}

void err_no_such_nick(S& s, Client& c, std::string_view name) {
  s.send(c, s.rpl(c, ERR_NOSUCHNICK).p(name).t("No such nick/channel"));
}

void err_no_such_channel(S& s, Client& c, std::string_view name) {
  s.send(c, s.rpl(c, ERR_NOSUCHCHANNEL).p(name).t("No such channel"));
}

void err_user_not_in_channel(S& s, Client& c, const Client& t, const Channel& ch) {
  s.send(c, s.rpl(c, ERR_USERNOTINCHANNEL).p(t.nick).p(ch.name).t("They aren't on that channel"));
}

void err_not_on_channel(S& s, Client& c, const Channel& ch) {
  s.send(c, s.rpl(c, ERR_NOTONCHANNEL).p(ch.name).t("You're not on that channel"));
}

void err_chanop_needed(S& s, Client& c, const Channel& ch) {
  s.send(c, s.rpl(c, ERR_CHANOPRIVSNEEDED).p(ch.name).t("You're not channel operator"));
}

void err_not_registered(S& s, Client& c) { s.send(c, s.rpl(c, ERR_NOTREGISTERED).t("You have not registered")); }

void err_no_privileges(S& s, Client& c) {
  s.send(c, s.rpl(c, ERR_NOPRIVILEGES).t("Permission Denied- You're not an IRC operator"));
}

void err_need_more_params(S& s, Client& c, std::string_view command) {
  s.send(c, s.rpl(c, ERR_NEEDMOREPARAMS).p(command).t("Not enough parameters"));
}

namespace {

/// ngIRCd's _CMD table: name, handler, allowed states, min and max parameters; every family's
/// entries, sorted by name for a binary search.
std::vector<CommandSpec> merge_families() {
  std::vector<CommandSpec> all;
  for (auto family : {registration_commands(), channel_commands(), mode_commands(), message_commands(),
                      query_commands(), operator_commands(), monitor_commands(), help_commands(), account_commands(),
                      chathistory_commands()}) {
    all.insert(all.end(), family.begin(), family.end());
  }
  auto by_name = [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; };
  std::sort(all.begin(), all.end(), by_name);
  auto same = std::adjacent_find(all.begin(), all.end(),
                                 [](const CommandSpec& a, const CommandSpec& b) { return a.name == b.name; });
  if (same != all.end()) throw std::logic_error("irc: command listed twice: " + std::string(same->name));
  return all;
}

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = merge_families();
  return table;
}

}  // namespace

std::span<const CommandSpec> all_commands() { return command_table(); }

const CommandSpec* find_command(std::string_view name) {
  const std::vector<CommandSpec>& table = command_table();
  auto it = std::lower_bound(table.begin(), table.end(), name,
                             [](const CommandSpec& spec, std::string_view n) { return spec.name < n; });
  return it != table.end() && it->name == name ? &*it : nullptr;
}

void ServerImpl::dispatch(Client& c, Message& m, TimePoint now) { dispatch(c, m, now, find_command(m.command)); }

namespace {

void run_command(S& s, Client& c, Message& m, TimePoint now, const CommandSpec* spec) {
  if (spec == nullptr) {
    if (c.registered) {
      s.send(c, s.rpl(c, ERR_UNKNOWNCOMMAND).p(m.command).t("Unknown command"));
    } else {
      err_not_registered(s, c);
    }
    return;
  }
  if (spec->state == State::registered && !c.registered) {
    // irssi sends "JOIN :" while negotiating CAP; answering 451 would print an error in its
    // status window, and nothing is lost by ignoring an empty JOIN.
    if (spec->name == "JOIN" && (m.params.empty() || m.params[0].empty())) return;
    err_not_registered(s, c);
    return;
  }
  if (spec->state == State::unregistered && c.registered) {
    s.send(c, s.rpl(c, ERR_ALREADYREGISTERED).t("You may not reregister"));
    return;
  }
  if (m.params.size() > spec->max_params && spec->max_params > 0) {
    // Extra words join the last parameter, as InspIRCd does: "QUIT a b c" quits with "a b c",
    // "PRIVMSG bob hi there" says "hi there" (only too few parameters are an error).
    std::string& last = m.params[spec->max_params - 1];
    for (std::size_t i = spec->max_params; i < m.params.size(); ++i) (last += ' ') += m.params[i];
    m.params.resize(spec->max_params);
  }
  if (m.params.size() < spec->min_params) {
    err_need_more_params(s, c, spec->name);
    return;
  }
  spec->handler(s, c, m, now);
}

}  // namespace

void ServerImpl::dispatch(Client& c, Message& m, TimePoint now, const CommandSpec* spec) {
  if (gone(c)) return;
  if (m.tags.empty()) {  // the common case: no label to carry
    run_command(*this, c, m, now, spec);
    return;
  }
  begin_label(c, m);
  run_command(*this, c, m, now, spec);
  // A password check (OPER) answers later, unlabeled: no ACK for it now.
  if (label_.client == &c && c.check && label_.held.empty()) {
    label_ = LabelRun{};
  }
  if (label_.client == &c) end_label();
}

}  // namespace sockit::irc
