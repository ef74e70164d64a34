// IRCv3 mechanisms the command families share: the per-receiver forms of a relayed line
// (message-tags, server-time), the one place a line is queued for a client (put), and
// labeled-response (a command's replies held, then labeled, batched or ACKed).
#include "commands.hpp"

namespace sockit::irc {

namespace {

bool tag_key_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
         ch == '/' || ch == '.';
}

/// `line` (one line with CR LF) with `tag` ("key=value", escaped) added to its tags.
void append_with_tag(std::string& out, std::string_view tag, std::string_view line) {
  out += '@';
  out += tag;
  if (!line.empty() && line.front() == '@') {
    out += ';';
    line.remove_prefix(1);
  } else {
    out += ' ';
  }
  out += line;
}

}  // namespace

std::string client_only_tags(const Message& m) {
  std::string out;
  for (const Tag& t : m.tags) {
    // "+" [ vendor "/" ] key: letters, digits, '-' (and the vendor's '.'); anything else is dropped.
    if (t.key.size() < 2 || t.key.front() != '+' ||
        !std::all_of(t.key.begin() + 1, t.key.end(), tag_key_char)) {
      continue;
    }
    if (!out.empty()) out += ';';
    out += t.key;
    if (!t.value.empty()) {
      out += '=';
      out += escape_tag_value(t.value);
    }
  }
  return out;
}

void ServerImpl::Fanout::to(Client& c) {
  if ((c.caps & need_) != need_ || s_.gone(c) || c.peer == nullptr) return;
  const bool time = (c.caps & kCapServerTime) != 0;
  const bool tags = !client_tags_.empty() && (c.caps & kCapMessageTags) != 0;
  const bool account = !account_tag_.empty() && (c.caps & kCapAccountTag) != 0;
  auto& form = forms_[(time ? 1 : 0) | (tags ? 2 : 0) | (account ? 4 : 0)];
  if (!form) {
    std::string line;
    if (time || tags || account) {
      line.reserve(wire_.size() + client_tags_.size() + account_tag_.size() + 40);
      line += '@';
      if (time) line += "time=" + iso8601(said_at_ ? *said_at_ : s_.wall_()) + ';';
      if (account) line += account_tag_ + ';';
      if (tags) {
        line += client_tags_;
        line += ';';
      }
      line.back() = ' ';
    }
    line += wire_;
    form = std::make_shared<const std::string>(std::move(line));
  }
  if (s_.batch_.ch != nullptr) s_.flush_batch();  // held channel lines go out before anything newer
  s_.put(c, *form, &form);
}

void ServerImpl::put(Client& c, std::string_view bytes, const std::shared_ptr<const std::string>* shared) {
  if (gone(c) || c.peer == nullptr) return;
  ++counters_.deliveries;
  if (&c == label_.client) {
    label_.held.append(bytes);
    return;
  }
  if (shared != nullptr) {
    c.peer->send_shared(*shared, bytes);
  } else {
    c.peer->send(bytes);
  }
  charge_sendq(c, bytes.size());
}

void ServerImpl::begin_label(Client& c, const Message& m) {
  constexpr unsigned kNeeded = kCapLabeledResponse | kCapBatch;
  if ((c.caps & kNeeded) != kNeeded || !c.registered || label_.client != nullptr) return;
  for (const Tag& t : m.tags) {
    if (t.key != "label") continue;
    if (t.value.empty() || t.value.size() > kMaxLabelBytes) return;
    flush_batch();  // lines held before this command are no reply to it
    label_.client = &c;
    label_.label = t.value;
    label_.held.clear();
    return;
  }
}

void ServerImpl::end_label() {
  if (label_.client == nullptr) return;
  flush_batch();  // an echo-message reply held in the channel batch is part of the response
  Client& c = *label_.client;
  LabelRun run = std::move(label_);
  label_ = LabelRun{};
  if (gone(c) || c.peer == nullptr) return;
  const std::string label = "label=" + escape_tag_value(run.label);
  std::vector<std::string_view> lines;
  for (std::string_view rest = run.held; !rest.empty();) {
    std::size_t end = rest.find('\n');
    end = end == std::string_view::npos ? rest.size() : end + 1;
    lines.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  std::string out;
  if (lines.empty()) {
    append_with_tag(out, label, from_server("ACK").str());
  } else if (lines.size() == 1) {
    append_with_tag(out, label, lines.front());
  } else {
    const std::string ref = "L" + std::to_string(++batches_);
    append_with_tag(out, label, from_server("BATCH").p("+" + ref).p("labeled-response").str());
    const std::string in_batch = "batch=" + ref;
    for (std::string_view line : lines) {
      // A line of a batch nested in the response (CHATHISTORY's) keeps its own batch tag.
      if (line.starts_with("@batch=")) {
        out += line;
      } else {
        append_with_tag(out, in_batch, line);
      }
    }
    out += from_server("BATCH").p("-" + ref).str();
  }
  c.peer->send(out);
  charge_sendq(c, out.size());
}

}  // namespace sockit::irc
