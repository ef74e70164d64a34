// Server information: HELP/HELPOP (704 705 706, 524), LINKS (364 365), STATS (212 219 242 243).
// HELP's topics come from the command table itself (each CommandSpec's usage and help), so a
// command cannot exist without its topic; `HELP` alone and `HELP index` list them.
#include "commands.hpp"

#include "sockit/irc/cluster.hpp"
#include "sockit/irc/names.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace sockit::irc {

namespace {

constexpr std::string_view kIndex = "INDEX";
constexpr std::size_t kNamesPerRow = 8;  // index rows: "ADMIN    AWAY     ..." (8 names in 9 columns)
constexpr std::size_t kColumn = 9;

/// A subject as a reply parameter: as the client sent it, or "*" where that would not be one
/// parameter (Modern IRC, ERR_HELPNOTFOUND).
std::string subject_param(std::string_view subject) {
  if (subject.empty() || subject.front() == ':' || subject.find_first_of(" \r\n") != std::string_view::npos) {
    return "*";
  }
  return std::string(subject);
}

void help_index(S& s, Client& c, const std::string& subject) {
  s.send(c, s.rpl(c, RPL_HELPSTART).p(subject).t("sockit help: HELP <command> for one of these"));
  s.send(c, s.rpl(c, RPL_HELPTXT).p(subject).t(""));
  std::string row;
  std::size_t in_row = 0;
  for (const CommandSpec& spec : all_commands()) {
    row += spec.name;
    row.append(spec.name.size() < kColumn ? kColumn - spec.name.size() : 1, ' ');
    if (++in_row == kNamesPerRow) {
      s.send(c, s.rpl(c, RPL_HELPTXT).p(subject).t(row));
      row.clear();
      in_row = 0;
    }
  }
  if (!row.empty()) s.send(c, s.rpl(c, RPL_HELPTXT).p(subject).t(row));
  s.send(c, s.rpl(c, RPL_ENDOFHELP).p(subject).t("End of /HELP"));
}

// HELP [<subject>] and HELPOP [<subject>] (InspIRCd's name): case-insensitive subjects.
void cmd_help(S& s, Client& c, Message& m, TimePoint) {
  std::string_view asked = m.params.empty() ? std::string_view() : std::string_view(m.params[0]);
  const std::string subject = asked.empty() ? std::string("*") : subject_param(asked);
  const std::string key = ascii_upper(asked);
  if (asked.empty() || key == kIndex) return help_index(s, c, subject);
  const CommandSpec* spec = find_command(key);
  if (spec == nullptr) {
    s.send(c, s.rpl(c, ERR_HELPNOTFOUND).p(subject).t("No help available on this topic"));
    return;
  }
  std::string usage(spec->name);
  if (!spec->usage.empty()) (usage += ' ') += spec->usage;
  s.send(c, s.rpl(c, RPL_HELPSTART).p(subject).t(usage));
  s.send(c, s.rpl(c, RPL_HELPTXT).p(subject).t(""));
  s.send(c, s.rpl(c, RPL_HELPTXT).p(subject).t(spec->help));
  s.send(c, s.rpl(c, RPL_ENDOFHELP).p(subject).t("End of /HELP"));
}

// LINKS [[<remote server>] <server mask>]: this server (hop count 0) and, in a cluster, the other
// live nodes by node name (hop count 1, their user count), each if it matches.
void cmd_links(S& s, Client& c, Message& m, TimePoint) {
  const std::string mask = m.params.empty() || m.params.back().empty() ? std::string("*") : m.params.back();
  if (m.params.size() == 2 && !our_server(s, c, m, 0)) return;
  if (mask_match(mask, s.cfg_.server_name)) {  // a host name: no casemapping differences
    s.send(c, s.rpl(c, RPL_LINKS).p(s.cfg_.server_name).p(s.cfg_.server_name).t("0 " + s.cfg_.description));
  }
  if (s.cluster_ != nullptr) {
    for (const ClusterNode& n : s.cluster_->nodes()) {
      if (n.self || !mask_match(mask, n.name)) continue;
      s.send(c, s.rpl(c, RPL_LINKS).p(n.name).p(s.cfg_.server_name).t("1 node " + n.name + " (" + n.server_name + "), " +
                                                                      std::to_string(n.users) + " users"));
    }
  }
  s.send(c, s.rpl(c, RPL_ENDOFLINKS).p(mask).t("End of /LINKS list"));
}

// MAP: the nodes of the network with their users, this one first (015 lines, then 017), as
// InspIRCd's and Solanum's MAP answer; without a cluster, this server alone. The counts come from
// the replica of remote users (one Redis round trip old), this node's from its clients.
void cmd_map(S& s, Client& c, Message&, TimePoint) {
  const std::size_t here = s.stats().registered;
  std::size_t total = here;
  auto line = [&](const std::string& server, const std::string& node, std::size_t users) {
    std::string text = server;
    if (!node.empty()) text += " (node " + node + ")";
    s.send(c, s.rpl(c, RPL_MAP).t(text + " [" + std::to_string(users) + " users]"));
  };
  if (s.cluster_ == nullptr) {
    line(s.cfg_.server_name, {}, here);
  } else {
    std::map<std::string, std::size_t> per_node;
    for (const auto& [folded, u] : s.remote_users_) ++per_node[u.node];
    std::vector<ClusterNode> nodes = s.cluster_->nodes();
    std::stable_partition(nodes.begin(), nodes.end(), [](const ClusterNode& n) { return n.self; });
    for (const ClusterNode& n : nodes) {
      const std::size_t users = n.self ? here : per_node[n.name];
      if (!n.self) total += users;
      line(n.self ? s.cfg_.server_name : (n.server_name.empty() ? n.name : n.server_name), n.name, users);
    }
  }
  s.send(c, s.rpl(c, RPL_MAPEND).t("End of /MAP: " + std::to_string(total) + " users"));
}

// STATS <query> [<server>]: u (uptime), m (commands received), o (operators; operators only, as
// InspIRCd: the names OPER takes are not for everyone). 219 ends every other letter as well.
void cmd_stats(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 1)) return;
  const std::string letter = m.params[0].empty() ? std::string("*") : m.params[0].substr(0, 1);
  switch (letter[0]) {
    case 'u': {
      auto up = std::chrono::duration_cast<std::chrono::seconds>(s.wall_now() - s.created_).count();
      if (up < 0) up = 0;
      auto two = [](long long v) { return (v < 10 ? "0" : "") + std::to_string(v); };
      s.send(c, s.rpl(c, RPL_STATSUPTIME)
                    .t("Server Up " + std::to_string(up / 86400) + " days, " + two(up / 3600 % 24) + ":" +
                       two(up / 60 % 60) + ":" + two(up % 60)));
      break;
    }
    case 'm':
      for (std::size_t i = 0; i < s.command_usage_.size(); ++i) {
        // RFC 2812: "<command> <count> <byte count> <remote count>" (one server: no remote count).
        const auto& use = s.command_usage_[i];
        if (use.count > 0) {
          s.send(c, s.rpl(c, RPL_STATSCOMMANDS).p(all_commands()[i].name).p(std::to_string(use.count)).p(std::to_string(use.bytes)).p("0"));
        }
      }
      break;
    case 'o':
      if (!c.oper) return err_no_privileges(s, c);
      for (const Operator& op : s.cfg_.operators) {
        s.send(c, s.rpl(c, RPL_STATSOLINE).p("O").p(op.host_mask).p("*").p(op.name));
      }
      break;
    default:
      break;
  }
  s.send(c, s.rpl(c, RPL_ENDOFSTATS).p(letter).t("End of /STATS report"));
}

constexpr CommandSpec kCommands[] = {
    {"HELP", cmd_help, State::registered, 0, 1, "[<subject>]", "Shows help on a command; HELP alone lists them."},
    {"HELPOP", cmd_help, State::registered, 0, 1, "[<subject>]", "The same as HELP (InspIRCd's name)."},
    {"LINKS", cmd_links, State::registered, 0, 2, "[[<remote server>] <server mask>]",
     "Lists the servers of the network: this one."},
    {"MAP", cmd_map, State::registered, 0, 0, "", "Lists the servers (cluster nodes) of the network with their users."},
    {"STATS", cmd_stats, State::registered, 1, 2, "<query> [<server>]",
     "Server statistics: u uptime, m commands received, o operators (operators only)."},
};

}  // namespace

std::span<const CommandSpec> help_commands() { return kCommands; }

}  // namespace sockit::irc
