// Internal header of sockit chat: the input line (editing, history, Tab nick completion).
// Sans-I/O: the UI maps keys to these calls and draws text()/cursor(). Not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::chat {

class LineEditor {
 public:
  explicit LineEditor(std::size_t history_limit = 500) : history_limit_(history_limit) {}

  void insert(char32_t cp);
  void insert_utf8(std::string_view text);
  void left();
  void right();
  void home();
  void end();
  void backspace();
  void delete_char();
  void kill_to_start();     ///< Ctrl-U: deletes from the start of the line to the cursor
  void kill_word_before();  ///< Ctrl-W: deletes the word (and spaces) before the cursor
  void history_prev();      ///< Up
  void history_next();      ///< Down
  /// Tab: completes the word before the cursor with the first candidate (case-insensitive under
  /// rfc1459 folding) and, on repeated calls, cycles through the others. A nick completed at the
  /// start of the line gets ": " after it, elsewhere a space.
  void complete(const std::vector<std::string>& candidates);

  /// Enter: returns the line (UTF-8), stores it in the history (not blank lines nor a repeat of
  /// the last entry) and clears the editor.
  std::string submit();

  std::string text() const;                        ///< the whole line, UTF-8
  const std::u32string& codepoints() const noexcept { return line_; }
  std::size_t cursor() const noexcept { return cursor_; }  ///< in code points
  bool empty() const noexcept { return line_.empty(); }
  const std::vector<std::string>& history() const noexcept { return history_; }

 private:
  void edited() { completing_ = false; }

  std::u32string line_;
  std::size_t cursor_ = 0;
  std::vector<std::string> history_;
  std::size_t history_limit_;
  std::size_t history_pos_ = 0;  // == history_.size() when editing the draft
  std::u32string draft_;
  // Tab completion state, valid while completing_ is set (any edit clears it).
  bool completing_ = false;
  std::u32string completion_prefix_;
  std::size_t completion_start_ = 0;
  std::size_t completion_index_ = 0;
};

}  // namespace sockit::chat
