// MONITOR (IRCv3 Monitor): a client's list of nicks it is told about when they come online (730
// RPL_MONONLINE) or go offline (731 RPL_MONOFFLINE). Each client keeps its list (folded nick ->
// the spelling it gave); ServerImpl::watchers_ is the reverse index, folded nick -> watchers, so
// a registration, nick change or quit notifies without looking at any other client.
#include "commands.hpp"

#include "sockit/irc/names.hpp"

namespace sockit::irc {

namespace {

/// Sends `items` as comma lists in `code` lines of at most about 400 bytes each.
void send_list(S& s, Client& c, Numeric code, const std::vector<std::string>& items) {
  std::string line;
  for (const std::string& item : items) {
    if (!line.empty() && line.size() + 1 + item.size() > 400) {
      s.send(c, s.rpl(c, code).t(line));
      line.clear();
    }
    if (!line.empty()) line += ',';
    line += item;
  }
  if (!line.empty()) s.send(c, s.rpl(c, code).t(line));
}

/// 730 for the nicks of `names` that are online (with their nick!user@host), 731 for the others.
void send_status(S& s, Client& c, const std::vector<std::string>& names) {
  std::vector<std::string> online, offline;
  for (const std::string& n : names) {
    Client* t = s.find_nick(n);
    if (t && t->registered && !t->dead) {
      online.push_back(t->mask());
    } else {
      offline.push_back(n);
    }
  }
  send_list(s, c, RPL_MONONLINE, online);
  send_list(s, c, RPL_MONOFFLINE, offline);
}

void monitor_add(S& s, Client& c, std::string_view targets) {
  std::vector<std::string> added;
  auto list = split_list(targets);
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string_view n = list[i];
    if (!valid_nick(n, s.cfg_.nick_len)) continue;  // as Ergo and Solanum: not a nick, skipped
    std::string key = fold(n, s.cfg_.casemapping);
    if (!c.monitoring.count(key)) {
      if (c.monitoring.size() >= s.cfg_.monitor_limit) {
        std::string rest;
        for (std::size_t k = i; k < list.size(); ++k) {
          if (!rest.empty()) rest += ',';
          rest += list[k];
        }
        send_status(s, c, added);
        s.send(c, s.rpl(c, ERR_MONLISTFULL).p(std::to_string(s.cfg_.monitor_limit)).p(rest)
                      .t("Monitor list is full."));
        return;
      }
      c.monitoring.emplace(key, std::string(n));
      s.watchers_[key].push_back(&c);
    }
    added.emplace_back(n);
  }
  send_status(s, c, added);
}

/// Takes `c` off the watchers of `key`, freeing the entry when it was the last.
void unwatch(S& s, Client& c, const std::string& key) {
  auto it = s.watchers_.find(key);
  if (it == s.watchers_.end()) return;
  std::erase(it->second, &c);
  if (it->second.empty()) s.watchers_.erase(it);
}

void monitor_remove(S& s, Client& c, std::string_view targets) {
  for (std::string_view n : split_list(targets)) {
    std::string key = fold(n, s.cfg_.casemapping);
    if (c.monitoring.erase(key) != 0) unwatch(s, c, key);
  }
}

void cmd_monitor(S& s, Client& c, Message& m, TimePoint) {
  std::string_view sub = m.params[0];
  std::string_view targets = m.params.size() > 1 ? std::string_view(m.params[1]) : std::string_view();
  if (sub == "+" || sub == "-") {
    if (targets.empty()) {
      err_need_more_params(s, c, "MONITOR");
    } else if (sub == "+") {
      monitor_add(s, c, targets);
    } else {
      monitor_remove(s, c, targets);
    }
  } else if (sub == "C" || sub == "c") {
    s.monitor_clear(c);
  } else if (sub == "L" || sub == "l") {
    std::vector<std::string> names;
    for (auto& [key, given] : c.monitoring) names.push_back(given);
    send_list(s, c, RPL_MONLIST, names);
    s.send(c, s.rpl(c, RPL_ENDOFMONLIST).t("End of MONITOR list"));
  } else if (sub == "S" || sub == "s") {
    std::vector<std::string> names;
    for (auto& [key, given] : c.monitoring) names.push_back(given);
    send_status(s, c, names);
  } else {
    s.send(c, s.rpl(c, ERR_UNKNOWNCOMMAND).p("MONITOR").t("Unknown MONITOR subcommand"));
  }
}

constexpr CommandSpec kCommands[] = {
    {"MONITOR", cmd_monitor, State::registered, 1, 2, "+|- <nickname>{,<nickname>} | C | L | S",
     "Watches nicknames and tells when they come and go."},
};

}  // namespace

std::span<const CommandSpec> monitor_commands() { return kCommands; }

void ServerImpl::monitor_notify(const Client& c, bool online) {
  if (c.nick.empty() || watchers_.empty()) return;
  auto it = watchers_.find(fold(c.nick, cfg_.casemapping));
  if (it == watchers_.end()) return;
  // A copy: a send may doom a watcher (SendQ), and doom() only marks it, but stay safe anyway.
  std::vector<Client*> list = it->second;
  for (Client* w : list) {
    if (gone(*w)) continue;
    send(*w, rpl(*w, online ? RPL_MONONLINE : RPL_MONOFFLINE).t(online ? c.mask() : c.nick));
  }
}

void ServerImpl::monitor_clear(Client& c) {
  for (auto& [key, given] : c.monitoring) unwatch(*this, c, key);
  c.monitoring.clear();
}

}  // namespace sockit::irc
