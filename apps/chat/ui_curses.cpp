// sockit chat's full-screen interface (ncursesw): a topic bar, the scrollback of the current
// window with timestamps, a status line (time, nick, window, activity, lag) and the input line.
// Keys are read with get_wch() in nodelay mode only when the event loop reports stdin readable.
#define NCURSES_WIDECHAR 1
#include "chat/ui.hpp"

#include "tools/chat/editor.hpp"
#include "tools/chat/text.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <langinfo.h>
#include <ncursesw/curses.h>

#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <cwchar>
#include <deque>
#include <map>

namespace sockit::chat {
namespace {

std::atomic<bool> g_active{false};

// One display cell run: text with attributes.
struct Cell {
  char32_t cp;
  Style style;
};
using Row = std::vector<Cell>;

int width_of(char32_t cp) {
  const int w = ::wcwidth(static_cast<wchar_t>(cp));
  return w < 0 ? 0 : w;
}

// mIRC colour -> (curses base colour, bright).
std::pair<short, bool> curses_colour(int mirc) {
  static constexpr std::pair<short, bool> kMap[16] = {
      {COLOR_WHITE, true},  {COLOR_BLACK, false}, {COLOR_BLUE, false},  {COLOR_GREEN, false},
      {COLOR_RED, true},    {COLOR_RED, false},   {COLOR_MAGENTA, false}, {COLOR_YELLOW, false},
      {COLOR_YELLOW, true}, {COLOR_GREEN, true},  {COLOR_CYAN, false},  {COLOR_CYAN, true},
      {COLOR_BLUE, true},   {COLOR_MAGENTA, true}, {COLOR_BLACK, true},  {COLOR_WHITE, false}};
  if (mirc < 0 || mirc > 15) return {-1, false};
  return kMap[mirc];
}

int nick_colour(std::string_view nick) {
  static constexpr int kColours[] = {3, 4, 6, 7, 9, 10, 12, 13};
  unsigned h = 0;
  for (char c : nick) h = h * 31 + static_cast<unsigned char>(c);
  return kColours[h % (sizeof kColours / sizeof kColours[0])];
}

class CursesUi final : public Ui {
 public:
  explicit CursesUi(const UiOptions& o) : opts_(o) {}
  ~CursesUi() override { stop(); }

  bool start() override {
    std::setlocale(LC_ALL, "");
    if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
    const char* term = std::getenv("TERM");
    screen_ = newterm(term, stdout, stdin);
    if (!screen_) {
      std::fprintf(stderr, "chat: cannot use terminal '%s' (try --plain)\n", term ? term : "");
      return false;
    }
    set_term(screen_);
    g_active = true;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    if (has_colors()) {
      start_color();
      use_default_colors();
      colours_ = opts_.colours;
    }
    return true;
  }

  void stop() override {
    if (!screen_) return;
    endwin();
    g_active = false;
    delscreen(screen_);
    screen_ = nullptr;
  }

  void resize() override {
    if (!screen_) return;
    endwin();  // ncurses re-reads the size on the next refresh
    refresh();
  }

  void on_readable(Client& client, SteadyClock::time_point now) override {
    int keys = 0;
    for (;;) {
      wint_t ch = 0;
      const int r = get_wch(&ch);
      if (r == ERR) break;
      ++keys;
      if (r == KEY_CODE_YES) key_code(client, static_cast<int>(ch));
      else key_char(client, static_cast<char32_t>(ch), now);
      if (eof_) return;
    }
    // Readable but nothing to read, over and over: the terminal went away.
    idle_reads_ = keys == 0 ? idle_reads_ + 1 : 0;
    if (idle_reads_ > 100) eof_ = true;
  }

  void show(Client& client, std::vector<Event>, SteadyClock::time_point now) override {
    if (!screen_) return;
    draw(client, now);
  }

 private:
  void key_code(Client& client, int key) {
    escape_ = false;
    switch (key) {
      case KEY_LEFT: editor_.left(); break;
      case KEY_RIGHT: editor_.right(); break;
      case KEY_HOME: editor_.home(); break;
      case KEY_END: editor_.end(); break;
      case KEY_BACKSPACE: editor_.backspace(); break;
      case KEY_DC: editor_.delete_char(); break;
      case KEY_UP: editor_.history_prev(); break;
      case KEY_DOWN: editor_.history_next(); break;
      case KEY_PPAGE: scroll_by(client, +1); break;
      case KEY_NPAGE: scroll_by(client, -1); break;
      case KEY_ENTER: submit(client, SteadyClock::now()); break;
      case KEY_RESIZE: break;
      default: break;
    }
  }

  void key_char(Client& client, char32_t ch, SteadyClock::time_point now) {
    if (escape_) {  // ESC then a key = Alt-key
      escape_ = false;
      if (ch >= U'0' && ch <= U'9') {
        const std::size_t n = ch == U'0' ? 9 : static_cast<std::size_t>(ch - U'1');
        client.select(n);
        return;
      }
      if (ch == U'\x1b') escape_ = true;
      return;
    }
    switch (ch) {
      case U'\r': case U'\n': submit(client, now); return;
      case 127: case 8: editor_.backspace(); return;
      case 1: editor_.home(); return;   // Ctrl-A
      case 5: editor_.end(); return;    // Ctrl-E
      case 2: editor_.left(); return;   // Ctrl-B
      case 6: editor_.right(); return;  // Ctrl-F
      case 4:                           // Ctrl-D: quit on an empty line, else delete
        if (editor_.empty()) eof_ = true;
        else editor_.delete_char();
        return;
      case 21: editor_.kill_to_start(); return;     // Ctrl-U
      case 23: editor_.kill_word_before(); return;  // Ctrl-W
      case 12: clearok(curscr, TRUE); return;       // Ctrl-L
      case 9: editor_.complete(client.completions()); return;
      case 14: client.select((client.current() + 1) % client.buffers().size()); return;  // Ctrl-N
      case 16: client.select((client.current() + client.buffers().size() - 1) % client.buffers().size()); return;
      case 27: escape_ = true; return;
      default: break;
    }
    if (ch >= 32 && ch != 127) editor_.insert(ch);
  }

  void submit(Client& client, SteadyClock::time_point now) {
    const std::string line = editor_.submit();
    scroll_[client.current_buffer().name] = 0;
    client.input(line, now);
  }

  void scroll_by(Client& client, int direction) {
    int rows = 0, cols = 0;
    getmaxyx(stdscr, rows, cols);
    (void)cols;
    const int page = std::max(1, (rows - 3) / 2);
    int& off = scroll_[client.current_buffer().name];
    off = std::max(0, off + direction * page);  // clamped to the text height in draw()
  }

  // ---- drawing ----
  attr_t attr_for(const Style& s) {
    attr_t a = A_NORMAL;
    if (s.bold) a |= A_BOLD;
    if (s.underline) a |= A_UNDERLINE;
    if (s.reverse) a |= A_REVERSE;
    if (s.italic) a |= A_ITALIC;
    if (!colours_ || (s.fg < 0 && s.bg < 0)) return a;
    auto [fg, fg_bright] = curses_colour(s.fg);
    auto [bg, bg_bright] = curses_colour(s.bg);
    (void)bg_bright;
    if (fg_bright) {
      if (COLORS >= 16) fg = static_cast<short>(fg + 8);
      else a |= A_BOLD;
    }
    const int key = (fg + 1) * 64 + (bg + 1);
    auto it = pairs_.find(key);
    if (it == pairs_.end()) {
      const int next = static_cast<int>(pairs_.size()) + 1;
      if (next >= COLOR_PAIRS || next > 32767) return a;
      init_pair(static_cast<short>(next), fg, bg);
      it = pairs_.emplace(key, next).first;
    }
    return a | static_cast<attr_t>(COLOR_PAIR(it->second));
  }

  void put(Row& row, std::string_view utf8, Style style) {
    for (const Span& sp : parse_formatting(utf8, style)) {
      for (char32_t cp : utf8_decode(sp.text)) row.push_back({cp, sp.style});
    }
  }

  Row line_cells(const Line& l) {
    Row row;
    const std::time_t t = WallClock::to_time_t(l.time);
    std::tm tm{};
    localtime_r(&t, &tm);
    Style dim;
    dim.fg = 14;
    put(row, fmt::format("{:%H:%M} ", tm), dim);
    Style nick;
    nick.fg = l.highlight ? 8 : nick_colour(l.nick);
    nick.bold = l.own || l.highlight;
    Style plain;
    if (l.history) nick.fg = plain.fg = 14;  // replayed history: dimmed, with its own time
    switch (l.kind) {
      case LineKind::message:
        put(row, "<", plain);
        put(row, l.nick, nick);
        put(row, "> ", plain);
        break;
      case LineKind::action:
        put(row, " * ", plain);
        put(row, l.nick, nick);
        put(row, " ", plain);
        break;
      case LineKind::notice:
        put(row, "-", plain);
        put(row, l.nick, nick);
        put(row, "- ", plain);
        break;
      case LineKind::event: plain.fg = 10; break;
      case LineKind::error: plain.fg = 4; break;
      case LineKind::info: break;
    }
    if (!colours_) {
      put(row, strip_formatting(l.text), plain);
    } else {
      put(row, l.text, plain);
    }
    return row;
  }

  // Wraps a line into rows of at most `width` cells; continuation rows are indented by 6.
  std::vector<Row> wrap(const Row& cells, int width) {
    std::vector<Row> rows(1);
    int col = 0;
    constexpr int kIndent = 6;
    for (const Cell& c : cells) {
      const int w = width_of(c.cp);
      if (col + w > width && col > 0) {
        rows.emplace_back();
        col = 0;
        if (width > kIndent * 2) {
          for (int i = 0; i < kIndent; ++i) rows.back().push_back({U' ', Style{}});
          col = kIndent;
        }
      }
      rows.back().push_back(c);
      col += w;
    }
    return rows;
  }

  void draw_row(int y, const Row& row, int width, attr_t base = A_NORMAL) {
    move(y, 0);
    int col = 0;
    std::wstring run;
    attr_t run_attr = base;
    const auto flush = [&] {
      if (run.empty()) return;
      attrset(run_attr);
      addnwstr(run.c_str(), static_cast<int>(run.size()));
      run.clear();
    };
    for (const Cell& c : row) {
      const int w = width_of(c.cp);
      if (col + w > width) break;
      const attr_t a = attr_for(c.style) | base;
      if (a != run_attr) {
        flush();
        run_attr = a;
      }
      run.push_back(static_cast<wchar_t>(c.cp));
      col += w;
    }
    flush();
    attrset(base);
    for (; col < width; ++col) addch(' ');
    attrset(A_NORMAL);
  }

  // One screen: topic bar, scrollback, status line, input line (top to bottom).
  void draw(Client& client, SteadyClock::time_point now) {
    int rows = 0, cols = 0;
    getmaxyx(stdscr, rows, cols);
    if (rows < 1 || cols < 1) return;
    const Buffer& buf = client.current_buffer();
    const int text_top = rows >= 4 ? 1 : 0;
    const int text_rows = std::max(0, rows - 2 - text_top);
    if (text_top == 1) draw_topic_bar(client, buf, cols);
    const int offset = draw_scrollback(buf, text_top, text_rows, cols);
    if (rows >= 2) draw_status_line(client, buf, now, offset, rows - 2, cols);
    draw_input_line(buf, rows - 1, cols);
    refresh();
  }

  void draw_topic_bar(const Client& client, const Buffer& buf, int cols) {
    Row bar;
    const std::string title = buf.type == BufferType::status
                                  ? fmt::format(" sockit chat - {}{}", opts_.target,
                                                client.server_name().empty() ? "" : " (" + client.server_name() + ")")
                                  : " " + (buf.topic.empty() ? buf.name : buf.topic);
    put(bar, title, Style{});
    draw_row(0, bar, cols, A_REVERSE);
  }

  // Wraps from the newest line upwards until the screen (plus the scroll offset) is full. Returns
  // the scroll offset, clamped to what there is.
  int draw_scrollback(const Buffer& buf, int text_top, int text_rows, int cols) {
    int& offset = scroll_[buf.name];
    std::deque<Row> wrapped;
    const std::size_t need = static_cast<std::size_t>(text_rows + offset);
    for (auto it = buf.lines.rbegin(); it != buf.lines.rend() && wrapped.size() < need + 1; ++it) {
      auto w = wrap(line_cells(*it), cols);
      for (auto r = w.rbegin(); r != w.rend(); ++r) wrapped.push_front(std::move(*r));
    }
    const int total = static_cast<int>(wrapped.size());
    offset = std::clamp(offset, 0, std::max(0, total - text_rows));
    const int first = std::max(0, total - text_rows - offset);
    for (int y = 0; y < text_rows; ++y) {
      const int idx = first + y;
      if (idx < total && idx < total - offset) draw_row(text_top + y, wrapped[static_cast<std::size_t>(idx)], cols);
      else draw_row(text_top + y, Row{}, cols);
    }
    return offset;
  }

  static std::string lag_text(const Client& client, SteadyClock::time_point now) {
    switch (client.state()) {
      case State::disconnected: return "[disconnected]";
      case State::registering: return client.tls_handshaking() ? "[TLS handshake]" : "[registering]";
      case State::quitting: return "[quitting]";
      case State::registered:
        if (auto since = client.lag_pending_since(); since && now - *since > std::chrono::seconds(5)) {
          return fmt::format("[Lag: {}s+]", std::chrono::duration_cast<std::chrono::seconds>(now - *since).count());
        } else if (auto l = client.lag()) {
          return fmt::format("[Lag: {:.2f}s]", static_cast<double>(l->count()) / 1000.0);
        }
        break;
    }
    return {};
  }

  void draw_status_line(const Client& client, const Buffer& buf, SteadyClock::time_point now, int offset, int y,
                        int cols) {
    const std::time_t t = WallClock::to_time_t(WallClock::now());
    std::tm tm{};
    localtime_r(&t, &tm);
    std::string act;
    for (std::size_t i = 0; i < client.buffers().size(); ++i) {
      const Buffer& b = client.buffers()[i];
      if (b.activity) act += fmt::format("{}{}{}", act.empty() ? "" : ",", i + 1, b.highlighted ? "!" : "");
    }
    std::string line = fmt::format(" [{:%H:%M}] [{}{}] [{}:{}] ", tm, client.nick(), client.away() ? "(away)" : "",
                                   client.current() + 1, buf.name);
    if (!act.empty()) line += fmt::format("[Act: {}] ", act);
    line += lag_text(client, now);
    if (offset > 0) line += " -- more --";
    Row status;
    put(status, line, Style{});
    draw_row(y, status, cols, A_REVERSE);
  }

  // The input line, scrolled horizontally to keep the cursor visible.
  void draw_input_line(const Buffer& buf, int y, int cols) {
    Row input;
    const std::string prompt = fmt::format("[{}] ", buf.name);
    put(input, prompt, Style{});
    const std::size_t prompt_len = input.size();
    for (char32_t cp : editor_.codepoints()) input.push_back({cp < 32 ? U'?' : cp, Style{}});
    const std::size_t cursor_idx = prompt_len + editor_.cursor();
    int cursor_col = 0;
    for (std::size_t i = 0; i < cursor_idx && i < input.size(); ++i) cursor_col += width_of(input[i].cp);
    std::size_t skip = 0;
    while (cursor_col >= cols - 1 && skip < cursor_idx) {
      cursor_col -= width_of(input[skip].cp);
      ++skip;
    }
    draw_row(y, Row(input.begin() + static_cast<std::ptrdiff_t>(skip), input.end()), cols);
    move(y, std::min(cursor_col, cols - 1));
    curs_set(1);
  }

  UiOptions opts_;
  SCREEN* screen_ = nullptr;
  bool colours_ = false;
  bool escape_ = false;
  int idle_reads_ = 0;
  LineEditor editor_;
  std::map<std::string, int> scroll_;
  std::map<int, int> pairs_;
};

}  // namespace

std::unique_ptr<Ui> make_curses_ui(const UiOptions& options) { return std::make_unique<CursesUi>(options); }

void curses_emergency_restore() noexcept {
  if (g_active.exchange(false)) endwin();
}

}  // namespace sockit::chat
