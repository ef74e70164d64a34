// sockit chat --plain: one line per event on stdout ("[#chan] <alice> hello"), errors on stderr,
// input lines from stdin. For scripts, tests and terminals without curses.
#include "chat/ui.hpp"

#include "tools/chat/text.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <utility>

namespace sockit::chat {
namespace {

class PlainUi final : public Ui {
 public:
  explicit PlainUi(const UiOptions& o) : opts_(o) {}
  bool start() override { return true; }
  void stop() override { std::fflush(stdout); }

  void on_readable(Client& client, SteadyClock::time_point now) override {
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      eof_ = true;
      return;
    }
    if (n == 0) {
      if (!pending_.empty()) client.input(std::exchange(pending_, {}), now);
      eof_ = true;
      return;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      client.input(std::string_view(pending_).substr(start, nl - start), now);
      start = nl + 1;
    }
    pending_.erase(0, start);
    if (pending_.size() > 64 * 1024) {  // a line that never ends: take it as it is
      client.input(std::exchange(pending_, {}), now);
    }
  }

  void show(Client&, std::vector<Event> events, SteadyClock::time_point) override {
    for (const Event& e : events) {
      std::string text = strip_formatting(render(e.line));
      std::string stamp;
      if (opts_.timestamps || e.line.history) {  // a replayed line always shows its own time
        const std::time_t t = WallClock::to_time_t(e.line.time);
        std::tm tm{};
        localtime_r(&t, &tm);
        stamp = fmt::format("{:%H:%M:%S} ", tm);
      }
      if (e.line.kind == LineKind::error) {
        fmt::print(stderr, "{}chat: {}\n", stamp, text);
      } else {
        fmt::print(stdout, "{}[{}] {}\n", stamp, e.buffer, text);
      }
    }
    std::fflush(stdout);
  }

 private:
  UiOptions opts_;
  std::string pending_;
};

}  // namespace

std::unique_ptr<Ui> make_plain_ui(const UiOptions& options) { return std::make_unique<PlainUi>(options); }

}  // namespace sockit::chat
