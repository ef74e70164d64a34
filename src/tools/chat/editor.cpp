// The input line of sockit chat: editing, history and Tab completion.
#include "tools/chat/editor.hpp"

#include "tools/chat/text.hpp"

#include <sockit/irc/names.hpp>

#include <algorithm>

namespace sockit::chat {
namespace {

bool is_space(char32_t c) { return c == U' ' || c == U'\t'; }

}  // namespace

void LineEditor::insert(char32_t cp) {
  edited();
  line_.insert(line_.begin() + static_cast<std::ptrdiff_t>(cursor_), cp);
  ++cursor_;
}

void LineEditor::insert_utf8(std::string_view text) {
  for (char32_t cp : utf8_decode(text)) insert(cp);
}

void LineEditor::left() {
  edited();
  if (cursor_ > 0) --cursor_;
}

void LineEditor::right() {
  edited();
  if (cursor_ < line_.size()) ++cursor_;
}

void LineEditor::home() {
  edited();
  cursor_ = 0;
}

void LineEditor::end() {
  edited();
  cursor_ = line_.size();
}

void LineEditor::backspace() {
  edited();
  if (cursor_ == 0) return;
  line_.erase(cursor_ - 1, 1);
  --cursor_;
}

void LineEditor::delete_char() {
  edited();
  if (cursor_ < line_.size()) line_.erase(cursor_, 1);
}

void LineEditor::kill_to_start() {
  edited();
  line_.erase(0, cursor_);
  cursor_ = 0;
}

void LineEditor::kill_word_before() {
  edited();
  std::size_t start = cursor_;
  while (start > 0 && is_space(line_[start - 1])) --start;
  while (start > 0 && !is_space(line_[start - 1])) --start;
  line_.erase(start, cursor_ - start);
  cursor_ = start;
}

void LineEditor::history_prev() {
  edited();
  if (history_pos_ == 0) return;
  if (history_pos_ == history_.size()) draft_ = line_;
  --history_pos_;
  line_ = utf8_decode(history_[history_pos_]);
  cursor_ = line_.size();
}

void LineEditor::history_next() {
  edited();
  if (history_pos_ >= history_.size()) return;
  ++history_pos_;
  line_ = history_pos_ == history_.size() ? draft_ : utf8_decode(history_[history_pos_]);
  cursor_ = line_.size();
}

void LineEditor::complete(const std::vector<std::string>& candidates) {
  if (!completing_) {
    std::size_t start = cursor_;
    while (start > 0 && !is_space(line_[start - 1])) --start;
    completion_start_ = start;
    completion_prefix_ = line_.substr(start, cursor_ - start);
    completion_index_ = 0;
  } else {
    ++completion_index_;
  }
  const std::string prefix = irc::fold(utf8_encode(completion_prefix_));
  std::vector<std::string> matches;
  for (const auto& c : candidates) {
    if (c.size() >= prefix.size() && irc::fold(c.substr(0, prefix.size())) == prefix) matches.push_back(c);
  }
  std::sort(matches.begin(), matches.end(),
            [](const std::string& a, const std::string& b) { return irc::fold(a) < irc::fold(b); });
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  if (matches.empty()) {
    completing_ = false;
    return;
  }
  const std::string& pick = matches[completion_index_ % matches.size()];
  std::u32string replacement = utf8_decode(pick);
  replacement += completion_start_ == 0 && !irc::is_channel_name(pick) ? U": " : U" ";
  // Replace from the start of the word to the cursor (the previous completion included).
  line_.replace(completion_start_, cursor_ - completion_start_, replacement);
  cursor_ = completion_start_ + replacement.size();
  completing_ = true;
}

std::string LineEditor::submit() {
  std::string out = utf8_encode(line_);
  const bool blank = std::all_of(line_.begin(), line_.end(), is_space);
  if (!blank && (history_.empty() || history_.back() != out)) {
    history_.push_back(out);
    if (history_.size() > history_limit_) history_.erase(history_.begin());
  }
  line_.clear();
  draft_.clear();
  cursor_ = 0;
  history_pos_ = history_.size();
  completing_ = false;
  return out;
}

std::string LineEditor::text() const { return utf8_encode(line_); }

}  // namespace sockit::chat
