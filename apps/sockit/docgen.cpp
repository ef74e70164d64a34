// Man pages (roff man(7)) and bash/zsh completion scripts from the CLI11 tree; see docgen.hpp.
#include "docgen.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace sockit::cli::docgen {
namespace {

// What an option's value is, for completion: nothing known, a path, a network interface, or one
// of a few words.
enum class ValueKind { none, file, dir, interface, choices };

struct Opt {
  std::vector<std::string> names;  // "-n", "--nick"; empty for a positional
  std::string positional;          // "server" for a positional
  std::string arg;                 // "TEXT", "FILE", ...; empty for a flag
  std::string note;                // the validator's text, e.g. "INT in [1 - 256]"
  std::string def;                 // default shown in --help
  std::string desc;
  bool required = false;
  bool repeat = false;
  ValueKind kind = ValueKind::none;
  std::vector<std::string> choices;
  // A positional whose description lists its forms ("add NAME | del NAME | list"): their words.
  std::vector<std::vector<std::string>> forms;
};

struct Cmd {
  std::string name;  // "" for the program itself
  std::string path;  // "chat-server account" for a subcommand of a subcommand, else name
  std::string summary;
  std::string footer;
  std::vector<Opt> options;
  std::vector<Opt> positionals;
  std::vector<Cmd> subs;  // its own subcommands (chat-server's account and history)
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

bool is_word(const std::string& w) {
  return !w.empty() && std::islower(static_cast<unsigned char>(w[0])) &&
         std::all_of(w.begin(), w.end(), [](char c) {
           return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                  c == '-';
         });
}

// The words of a list starting at token s: "a | b | c", "a, b or c", "a, b, c".
std::vector<std::string> list_at(const std::vector<std::string>& tokens, size_t s) {
  std::vector<std::string> out;
  for (size_t k = s; k < tokens.size();) {
    std::string w = tokens[k++];
    bool more = !w.empty() && w.back() == ',';
    if (more) w.pop_back();
    if (!is_word(w)) break;
    out.push_back(w);
    if (!more && k < tokens.size() && (tokens[k] == "|" || tokens[k] == "or")) {
      ++k;
      more = true;
    }
    if (!more) break;
  }
  return out;
}

// "iterative | fork | pool (default ...)", "poller: select | poll | epoll", "backend: select, poll or
// epoll", "FAMILY: inet, inet6, unix": the words a value can be, when the description lists them.
std::vector<std::string> choices_in(const std::string& desc) {
  auto tokens = split(desc, ' ');
  if (auto at_start = list_at(tokens, 0); at_start.size() >= 3) return at_start;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (!tokens[i].ends_with(':')) continue;
    if (auto after_colon = list_at(tokens, i + 1); after_colon.size() >= 2) return after_colon;
  }
  return {};
}

// "add NAME | del NAME | list | certfp add|del NAME FP | import", or a single verb ("import"): the
// forms a command's words take, each a lowercase verb and then placeholders (NAME) or a|b choices.
std::vector<std::vector<std::string>> forms_in(const std::string& desc) {
  std::vector<std::vector<std::string>> forms;
  for (size_t from = 0;;) {
    const size_t bar = desc.find(" | ", from);
    auto words = split(desc.substr(from, bar == std::string::npos ? bar : bar - from), ' ');
    if (words.empty() || !is_word(words[0])) return {};
    for (size_t k = 1; k < words.size(); ++k) {
      const std::string& w = words[k];
      bool placeholder = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      });
      auto alternatives = split(w, '|');
      bool choice = alternatives.size() > 1 && std::all_of(alternatives.begin(), alternatives.end(), is_word);
      if (!placeholder && !choice) return {};
    }
    forms.push_back(std::move(words));
    if (bar == std::string::npos) return forms;
    from = bar + 3;
  }
}

// "FILE", "file", "file," ... as a word of the description.
bool mentions_file(const std::string& desc) {
  for (auto w : split(desc, ' ')) {
    while (!w.empty() && std::ispunct(static_cast<unsigned char>(w.back()))) w.pop_back();
    while (!w.empty() && std::ispunct(static_cast<unsigned char>(w.front()))) w.erase(0, 1);
    if (w == "FILE" || w == "file" || w == "File") return true;
  }
  return false;
}

Opt describe(const CLI::Option& o, const std::vector<std::string>& subcommands) {
  Opt r;
  for (auto& s : o.get_snames()) r.names.push_back("-" + s);
  for (auto& l : o.get_lnames()) r.names.push_back("--" + l);
  if (!o.nonpositional()) r.positional = o.get_name(true);
  r.desc = o.get_description();
  r.required = o.get_required();
  r.repeat = o.get_items_expected_max() > 1;
  if (o.get_type_size_max() > 0) {
    std::string type = o.get_type_name();
    auto colon = type.find(':');
    r.arg = type.substr(0, colon);
    std::string rest = colon == std::string::npos ? "" : type.substr(colon + 1);
    if (rest == "FILE" || rest == "DIR" || rest == "PATH") {
      r.arg = rest;
      r.kind = rest == "DIR" ? ValueKind::dir : ValueKind::file;
    } else if (rest.size() > 2 && rest.front() == '{' && rest.back() == '}') {
      for (auto& w : split(rest.substr(1, rest.size() - 2), ',')) r.choices.push_back(w);
      r.kind = ValueKind::choices;
    } else {
      r.note = rest;
    }
    r.def = o.get_default_str();
    if (r.kind == ValueKind::none && r.positional == "subcommand") {
      r.choices = subcommands;
      r.kind = ValueKind::choices;
    }
    if (r.kind == ValueKind::none && !r.positional.empty() && r.repeat) r.forms = forms_in(r.desc);
    if (!r.forms.empty()) {
      for (auto& f : r.forms) {
        if (std::find(r.choices.begin(), r.choices.end(), f[0]) == r.choices.end()) r.choices.push_back(f[0]);
      }
      r.kind = ValueKind::choices;
    }
    if (r.kind == ValueKind::none) {
      if (auto c = choices_in(r.desc); !c.empty()) {
        r.choices = std::move(c);
        r.kind = ValueKind::choices;
      } else if (std::any_of(r.names.begin(), r.names.end(), [](auto& n) { return n == "--interface"; })) {
        r.kind = ValueKind::interface;
      } else if (r.arg == "TEXT" && mentions_file(r.desc)) {
        r.kind = ValueKind::file;
      }
    }
  }
  return r;
}

// A subcommand inherits its parent's footer as it was when the subcommand was added (for
// chat-server's account: sockit's): strip every ancestor's footer where it was appended.
std::string own_footer(const CLI::App& app) {
  std::string footer = app.get_footer();
  for (const CLI::App* parent = app.get_parent(); parent != nullptr; parent = parent->get_parent()) {
    const std::string inherited = parent->get_footer();
    if (!inherited.empty()) {
      if (auto at = footer.rfind(inherited); at != std::string::npos) footer.erase(at, inherited.size());
    }
  }
  while (!footer.empty() && (footer.back() == '\n' || footer.back() == ' ')) footer.pop_back();
  while (!footer.empty() && footer.front() == '\n') footer.erase(0, 1);
  return footer;
}

std::vector<std::string> subcommand_names(const CLI::App& root) {
  std::vector<std::string> out;
  for (const CLI::App* sub : root.get_subcommands({})) {
    if (!sub->get_group().empty()) out.push_back(sub->get_name());
  }
  return out;
}

// The command and, in subs, its visible subcommands, theirs (chat-server account ...) too.
// subcommands: what `help`'s positional can be (the program's subcommands).
Cmd describe(const CLI::App& app, const std::vector<std::string>& subcommands) {
  Cmd c;
  c.name = app.get_parent() != nullptr ? app.get_name() : "";
  for (const CLI::App* a = &app; a->get_parent() != nullptr; a = a->get_parent()) {
    c.path = c.path.empty() ? a->get_name() : a->get_name() + " " + c.path;
  }
  c.summary = app.get_description();
  c.footer = own_footer(app);
  for (const CLI::Option* o : app.get_options({})) {
    if (o->get_group().empty()) continue;  // hidden
    Opt d = describe(*o, subcommands);
    (d.positional.empty() ? c.options : c.positionals).push_back(std::move(d));
  }
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (!sub->get_group().empty()) c.subs.push_back(describe(*sub, subcommands));
  }
  return c;
}

Cmd program(const CLI::App& root) { return describe(root, subcommand_names(root)); }

// ---- roff -------------------------------------------------------------------------------------

// Text for a roff line: backslashes and minus signs escaped (so "--plain" can be copied from the
// page), a leading dot or quote neutralised.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// "STATE: ...", "Exit status: ...", "Examples:": a heading word or two and a colon start a paragraph.
bool starts_paragraph(const std::string& line) {
  auto colon = line.find(':');
  if (colon == std::string::npos || !std::isupper(static_cast<unsigned char>(line[0]))) return false;
  return std::count(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), ' ') <= 1;
}

// Footer text: prose lines are filled, indented lines (examples, tables) kept as they are.
std::string roff_block(const std::string& text) {
  std::string out;
  bool nf = false;
  for (const auto& line : split(text, '\n')) {
    bool blank = line.find_first_not_of(' ') == std::string::npos;
    bool pre = !blank && line[0] == ' ';
    if (nf && !pre) {
      out += ".fi\n";
      nf = false;
    }
    if (blank) {
      out += ".PP\n";
      continue;
    }
    if (pre && !nf) {
      out += ".nf\n";
      nf = true;
    }
    if (!pre && !out.empty() && starts_paragraph(line)) out += ".PP\n";
    out += roff(line) + "\n";
  }
  if (nf) out += ".fi\n";
  return out;
}

std::string option_head(const Opt& o) {
  std::string head;
  for (auto& n : o.names) head += (head.empty() ? "" : ", ") + ("\\fB" + roff(n) + "\\fR");
  if (!o.arg.empty()) head += " \\fI" + roff(o.arg) + "\\fR";
  if (o.repeat) head += " ...";
  return head;
}

std::string option_text(const Opt& o) {
  std::string text = o.desc;
  std::vector<std::string> extra;
  if (!o.note.empty()) extra.push_back(o.note);
  if (!o.choices.empty() && o.desc.find(o.choices.front()) == std::string::npos) {
    std::string list;
    for (auto& c : o.choices) list += (list.empty() ? "" : ", ") + c;
    extra.push_back("one of " + list);
  }
  if (!o.def.empty() && o.desc.find("default") == std::string::npos) extra.push_back("default: " + o.def);
  if (o.repeat && o.desc.find("repeat") == std::string::npos) extra.push_back("repeatable");
  if (o.required) extra.push_back("required");
  for (auto& e : extra) text += " (" + e + ")";
  return roff(text);
}

std::string synopsis(const Cmd& c, bool with_positionals = true) {
  std::string s = c.options.empty() ? "" : "[\\fIOPTIONS\\fR]";
  for (auto& o : c.options) {
    if (!o.required) continue;
    s += " \\fB" + roff(o.names.back()) + "\\fR \\fI" + roff(o.arg) + "\\fR";
  }
  for (auto& p : c.positionals) {
    if (!with_positionals) break;
    std::string word = "\\fI" + roff(p.positional) + "\\fR" + (p.repeat ? " ..." : "");
    s += " " + (p.required ? word : "[" + word + "]");
  }
  return s;
}

std::string upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// "capture packets" -> "Capture packets.": a summary as a sentence of the DESCRIPTION.
std::string sentence(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  if (!s.empty() && s.back() != '.') s += '.';
  return s;
}

std::string header(const std::string& page, const std::string& version) {
  return fmt::format(".\\\" Generated by `sockit help --man DIR` from the options of `sockit --help`: do not edit.\n"
                     ".TH {} 1 \"\" \"sockit {}\" \"User Commands\"\n.nh\n.ad l\n",
                     upper(page), version);
}

std::string options_section(const std::vector<Opt>& options) {
  std::string out;
  for (auto& o : options) out += ".TP\n" + option_head(o) + "\n" + option_text(o) + "\n";
  return out;
}

std::string arguments_section(const std::vector<Opt>& positionals) {
  std::string out;
  for (auto& p : positionals) out += ".TP\n\\fI" + roff(p.positional) + "\\fR" + (p.repeat ? " ..." : "") + "\n" + option_text(p) + "\n";
  return out;
}

// The SYNOPSIS lines of c: one per form of its words when its description lists them
// ("sockit chat-server account add NAME [OPTIONS]", ...), else one.
std::string synopsis_lines(const Cmd& c) {
  if (c.positionals.empty() || c.positionals.front().forms.empty()) return ".B sockit " + roff(c.path) + "\n" + synopsis(c) + "\n";
  std::string out;
  for (auto& form : c.positionals.front().forms) {
    if (!out.empty()) out += ".br\n";
    out += ".B sockit " + roff(c.path + " " + form.front()) + "\n";
    std::string words;
    for (size_t k = 1; k < form.size(); ++k) {
      bool placeholder = std::isupper(static_cast<unsigned char>(form[k][0])) != 0;
      words += (placeholder ? "\\fI" : "\\fB") + roff(form[k]) + "\\fR ";
    }
    out += words + synopsis(c, false) + "\n";
  }
  return out;
}

ManPage sub_page(const Cmd& c, const std::vector<Cmd>& all, const std::string& version) {
  std::string page = "sockit-" + c.name;
  std::string t = header(page, version);
  t += ".SH NAME\n" + page + " \\- " + roff(c.summary) + "\n";
  t += ".SH SYNOPSIS\n" + synopsis_lines(c);
  for (auto& sub : c.subs) t += ".br\n" + synopsis_lines(sub);
  t += ".SH DESCRIPTION\n" + roff(sentence(c.summary)) + "\n";
  if (!c.footer.empty()) t += ".PP\n" + roff_block(c.footer);
  if (!c.positionals.empty()) t += ".SH ARGUMENTS\n" + arguments_section(c.positionals);
  if (!c.options.empty()) t += ".SH OPTIONS\n" + options_section(c.options);
  // Its own subcommands (chat-server account, history): a section each, as their --help has it.
  if (!c.subs.empty()) t += ".SH SUBCOMMANDS\n";
  for (auto& sub : c.subs) {
    t += ".SS \"sockit " + roff(sub.path) + "\"\n" + synopsis_lines(sub);
    t += ".PP\n" + roff(sentence(sub.summary)) + "\n";
    if (!sub.footer.empty()) t += ".PP\n" + roff_block(sub.footer);
    if (!sub.positionals.empty()) t += ".PP\nArguments:\n" + arguments_section(sub.positionals);
    if (!sub.options.empty()) t += ".PP\nOptions:\n" + options_section(sub.options);
  }
  t += ".SH \"SEE ALSO\"\n\\fBsockit\\fR(1)";
  for (auto& other : all) {
    if (other.name != c.name && other.name != "help") t += ",\n\\fBsockit\\-" + roff(other.name) + "\\fR(1)";
  }
  t += "\n";
  return {page + ".1", t};
}

ManPage root_page(const Cmd& root, const std::vector<Cmd>& all, const std::string& version) {
  std::string summary = root.summary;
  if (summary.starts_with("sockit: ")) summary.erase(0, 8);
  std::string t = header("sockit", version);
  t += ".SH NAME\nsockit \\- " + roff(summary) + "\n";
  t += ".SH SYNOPSIS\n.B sockit\n\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n";
  t += ".br\n.B sockit help\n[\\fISUBCOMMAND\\fR]\n";
  t += ".br\n.B sockit\n" + synopsis(root) + "\n";
  t += ".SH DESCRIPTION\n\\fBsockit\\fR: " + roff(sentence(summary)) +
       " One executable; each tool is a subcommand with its own options and manual page.\n";
  t += ".PP\nHelp goes to standard output (exit status 0); usage errors go to standard error as one line "
       "(exit status 2).\n";
  if (!root.footer.empty()) t += ".PP\n" + roff_block(root.footer);
  t += ".SH OPTIONS\n" + options_section(root.options);
  t += ".SH SUBCOMMANDS\n";
  for (auto& c : all) {
    t += ".TP\n\\fB" + roff(c.name) + "\\fR\n" + roff(sentence(c.summary));
    t += c.name == "help" ? "\n" : (" See \\fBsockit\\-" + roff(c.name) + "\\fR(1).\n");
  }
  t += ".SH \"SEE ALSO\"\n";
  std::string refs;
  for (auto& c : all) {
    if (c.name != "help") refs += (refs.empty() ? "" : ",\n") + ("\\fBsockit\\-" + roff(c.name) + "\\fR(1)");
  }
  t += refs + "\n";
  return {"sockit.1", t};
}

// ---- shell ------------------------------------------------------------------------------------

std::string join(const std::vector<std::string>& words, const std::string& sep = " ") {
  std::string out;
  for (auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

std::vector<std::string> all_names(const std::vector<Opt>& options, bool with_value) {
  std::vector<std::string> out;
  for (auto& o : options) {
    if (o.arg.empty() == with_value) continue;
    out.insert(out.end(), o.names.begin(), o.names.end());
  }
  return out;
}

// The bash code that fills COMPREPLY for a value of kind k (cur holds the word).
std::string bash_value(const Opt& o) {
  switch (o.kind) {
    case ValueKind::file: return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))";
    case ValueKind::dir: return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))";
    case ValueKind::interface:
      return "COMPREPLY=($(compgen -W \"any $(ls /sys/class/net 2>/dev/null)\" -- \"$cur\"))";
    case ValueKind::choices: return "COMPREPLY=($(compgen -W \"" + join(o.choices) + "\" -- \"$cur\"))";
    case ValueKind::none: break;
  }
  return "";
}

// `"chat-server") flags=... vals=" ... " subs=" account history " ;;` for c and every
// subcommand below it: what the (sub)command named on the line takes.
std::string bash_spec_cases(const Cmd& c) {
  std::string flags;
  for (auto& o : c.options) flags += (flags.empty() ? "" : " ") + join(o.names);
  std::vector<std::string> subs;
  for (auto& sub : c.subs) subs.push_back(sub.name);
  std::string out = fmt::format("      \"{}\") flags=\"{}\" vals=\" {} \" subs=\" {} \" ;;\n", c.path, flags,
                                join(all_names(c.options, true)), join(subs));
  for (auto& sub : c.subs) out += bash_spec_cases(sub);
  return out;
}

// The completion of c's option values and positional arguments (nothing when none is known), and
// of every subcommand below it.
std::string bash_value_cases(const Cmd& c) {
  std::string value_cases;
  for (auto& o : c.options) {
    std::string code = bash_value(o);
    if (!o.arg.empty() && !code.empty()) value_cases += "          " + join(o.names, "|") + ") " + code + "; return 0 ;;\n";
  }
  std::string pos_cases;
  for (size_t i = 0; i < c.positionals.size(); ++i) {
    std::string code = bash_value(c.positionals[i]);
    if (!code.empty()) pos_cases += fmt::format("          {}) {} ;;\n", i, code);
  }
  // The a|b words of its forms, by verb and place: "certfp 1" -> add del.
  std::string form_cases;
  for (auto& form : c.positionals.empty() ? std::vector<std::vector<std::string>>{} : c.positionals.front().forms) {
    for (size_t k = 1; k < form.size(); ++k) {
      if (form[k].find('|') == std::string::npos) continue;
      form_cases += fmt::format("              \"{} {}\") COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;\n", form.front(),
                                k, join(split(form[k], '|')));
    }
  }
  if (!form_cases.empty()) pos_cases += "          *) case \"${COMP_WORDS[args[0]]} $1\" in\n" + form_cases + "             esac ;;\n";
  std::string out;
  if (!value_cases.empty()) out += "      case $prev in\n" + value_cases + "      esac\n";
  if (!pos_cases.empty()) out += "      _sockit_pos() {\n        case $1 in\n" + pos_cases + "        esac\n      }\n";
  if (!out.empty()) out = fmt::format("    \"{}\")\n", c.path) + out + "      ;;\n";
  for (auto& sub : c.subs) out += bash_value_cases(sub);
  return out;
}

std::string zsh_quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else if (c == '[' || c == ']' || c == ':' || c == '\\') out += std::string("\\") + c;
    else out += c;
  }
  return out;
}

std::string zsh_action(const Opt& o) {
  switch (o.kind) {
    case ValueKind::file: return "_files";
    case ValueKind::dir: return "_files -/";
    case ValueKind::interface: return "_net_interfaces";
    case ValueKind::choices: return "(" + join(o.choices) + ")";
    case ValueKind::none: break;
  }
  return o.positional.empty() ? " " : "_default";
}

// prefix: the exclusion list; by default the option's other names ('*' when it repeats).
std::string zsh_spec(const Opt& o, std::string prefix = {}) {
  std::string desc = "[" + zsh_quote(o.desc) + "]";
  std::string value = o.arg.empty() ? "" : ":" + zsh_quote(o.arg) + ":" + zsh_action(o);
  std::vector<std::string> names;
  for (auto& n : o.names) names.push_back(o.arg.empty() ? n : n + (n.starts_with("--") ? "=" : "+"));
  if (prefix.empty()) prefix = o.repeat ? "'*'" : (o.names.size() > 1 ? "'(" + join(o.names) + ")'" : "");
  std::string name = names.size() > 1 ? "{" + join(names, ",") + "}" : "'" + names.front() + "'";
  return prefix + name + "'" + desc + value + "'";
}

std::string zsh_positional(const Opt& p) {
  // Forms (account's words): the verb first, then nothing known.
  if (!p.forms.empty()) return "'1:" + zsh_quote(p.positional) + ":" + zsh_action(p) + "' '*:" + zsh_quote(p.positional) + ": '";
  std::string head = p.repeat ? "*" : (p.required ? "" : ":");
  return "'" + head + ":" + zsh_quote(p.positional) + ":" + zsh_action(p) + "'";
}

// The _arguments call for c (specs: its options, with prefix when given); a command with
// subcommands of its own completes their names, then dispatches on $words[1] as git's does.
std::string zsh_arguments(const Cmd& c, const std::string& ind, const std::string& prefix = {}) {
  std::string out = ind + "_arguments" + (c.subs.empty() ? "" : " -C") + " -s -S \\\n";
  for (auto& o : c.options) out += ind + "  " + zsh_spec(o, prefix) + " \\\n";
  if (c.subs.empty()) {
    for (auto& p : c.positionals) out += ind + "  " + zsh_positional(p) + " \\\n";
    return out + ind + "  && ret=0\n";
  }
  std::string what = c.path.empty() ? "sockit" : "sockit " + c.path;
  out += ind + "  '1:subcommand:->subcommand' \\\n" + ind + "  '*::argument:->argument' && ret=0\n";
  out += ind + "case $state in\n" + ind + "  (subcommand)\n" + ind + "    local -a subcommands\n" + ind + "    subcommands=(\n";
  for (auto& sub : c.subs) out += ind + "      '" + zsh_quote(sub.name) + ":" + zsh_quote(sub.summary) + "'\n";
  out += ind + "    )\n" + ind + "    _describe -t subcommands '" + what + " subcommand' subcommands && ret=0\n" + ind + "    ;;\n";
  out += ind + "  (argument)\n" + ind + "    curcontext=${curcontext%:*:*}:" + join(split(what, ' '), "-") + "-$words[1]:\n";
  out += ind + "    case $words[1] in\n";
  for (auto& sub : c.subs) {
    out += ind + "      (" + sub.name + ")\n" + zsh_arguments(sub, ind + "        ") + ind + "        ;;\n";
  }
  return out + ind + "    esac\n" + ind + "    ;;\n" + ind + "esac\n";
}

}  // namespace

std::vector<ManPage> man_pages(const CLI::App& root, const std::string& version) {
  const Cmd top = program(root);
  const std::vector<Cmd>& all = top.subs;
  std::vector<ManPage> pages{root_page(top, all, version)};
  for (auto& c : all) {
    if (c.name != "help") pages.push_back(sub_page(c, all, version));
  }
  return pages;
}

std::string write_man_pages(const CLI::App& root, const std::string& version, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", dir, ec.message());
  for (auto& page : man_pages(root, version)) {
    auto path = std::filesystem::path(dir) / page.file;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << page.text;
    out.close();
    if (!out) return fmt::format("cannot write {}", path.string());
  }
  return {};
}

std::string bash_completion(const CLI::App& root) {
  const Cmd top = program(root);
  return fmt::format(R"(# bash completion for sockit                                  -*- shell-script -*-
# Generated by `sockit completion bash` from the options `sockit --help` shows: do not edit.
# Load it with: source <(sockit completion bash)

# The words after COMP_WORDS[i], before the current one, that are neither options nor the value of
# an option in $vals (the caller's): their indexes, in args.
_sockit_args() {{
  local w
  args=()
  for ((w = i + 1; w < COMP_CWORD; w++)); do
    if [[ ${{COMP_WORDS[w]}} =~ ^[:=]+$ ]]; then
      ((w++))  # host:port split at the colon (COMP_WORDBREAKS): the rest is part of the word before
    elif [[ ${{COMP_WORDS[w]}} == -* ]]; then
      if [[ $vals == *" ${{COMP_WORDS[w]}} "* ]]; then
        [[ ${{COMP_WORDS[w+1]}} == = ]] && ((w++))
        ((w++))
      fi
    else
      args+=("$w")
    fi
  done
}}
_sockit() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} sub= flags= vals= subs= i=0
  local -a args
  COMPREPLY=()
  # --opt=value: bash splits it into --opt, = and value.
  [[ $prev == = && $COMP_CWORD -ge 2 ]] && prev=${{COMP_WORDS[COMP_CWORD-2]}}
  [[ $cur == = ]] && cur=
  # Which (sub)command: sockit, then the subcommand named, then its own subcommand (chat-server
  # account) when the first word after it that is neither an option nor an option's value names one.
  while :; do
    case $sub in
{}      *) return 0 ;;
    esac
    _sockit_args
    ((${{#args[@]}})) && [[ $subs == *" ${{COMP_WORDS[args[0]]}} "* ]] || break
    i=${{args[0]}}
    sub=${{sub:+$sub }}${{COMP_WORDS[i]}}
  done
  _sockit_pos() {{ :; }}
  case $sub in
{}  esac
  if [[ $prev == -* && $vals == *" $prev "* ]]; then
    return 0  # a value nothing more is known about: default (file name) completion
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ -n ${{subs// /}} ]] && ((${{#args[@]}} == 0)); then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    _sockit_pos "${{#args[@]}}"  # which positional argument this is
  fi
  return 0
}}
complete -o default -F _sockit sockit
)",
                     bash_spec_cases(top), bash_value_cases(top));
}

std::string zsh_completion(const CLI::App& root) {
  const Cmd top = program(root);
  return fmt::format(R"(#compdef sockit
# zsh completion for sockit, generated by `sockit completion zsh` from the options `sockit --help`
# shows: do not edit. Install it as _sockit in a directory of $fpath.
_sockit() {{
  local curcontext=$curcontext state line ret=1
  typeset -A opt_args
{}  return ret
}}
if [[ $funcstack[1] == _sockit ]]; then
  _sockit "$@"
else
  compdef _sockit sockit
fi
)",
                     zsh_arguments(top, "  ", "'(- *)'"));
}

}  // namespace sockit::cli::docgen
