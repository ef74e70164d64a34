// Fuzz target: the sockit chat client core fed arbitrary server lines and user input.
// Each input line is a server line, except lines starting with '>' which are typed by the user
// and lines starting with '~' which drive the line editor (each byte one key). Checks: no crash,
// no sanitizer report, every wire line we emit parses back and ends in CR LF, buffers stay sane.
#include "tools/chat/client.hpp"
#include "tools/chat/editor.hpp"
#include "tools/chat/text.hpp"

#include <sockit/irc/message.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace sockit::chat;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Config cfg;
  cfg.nick = "alice";
  cfg.autojoin = {"#t"};
  Client client(cfg);
  LineEditor editor(20);
  auto now = SteadyClock::time_point{} + std::chrono::seconds(100);
  client.connected(now);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    const auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    if (!line.empty() && line.front() == '>') {
      client.input(line.substr(1), now);
    } else if (!line.empty() && line.front() == '~') {
      for (char c : line.substr(1)) {
        switch (static_cast<unsigned char>(c) % 12) {
          case 0: editor.left(); break;
          case 1: editor.right(); break;
          case 2: editor.backspace(); break;
          case 3: editor.delete_char(); break;
          case 4: editor.kill_to_start(); break;
          case 5: editor.kill_word_before(); break;
          case 6: editor.history_prev(); break;
          case 7: editor.history_next(); break;
          case 8: editor.complete(client.completions()); break;
          case 9: client.input(editor.submit(), now); break;
          default: editor.insert(static_cast<unsigned char>(c)); break;
        }
        if (editor.cursor() > editor.codepoints().size()) std::abort();
      }
    } else {
      client.receive_line(line, now);
    }
    now += std::chrono::seconds(7);
    client.tick(now);
    for (const auto& wire : client.take_output()) {
      if (wire.size() < 2 || wire.substr(wire.size() - 2) != "\r\n") std::abort();
      if (wire.find_first_of("\r\n") != wire.size() - 2) std::abort();
    }
    for (const auto& e : client.take_events()) {
      (void)strip_formatting(render(e.line));
    }
    if (client.current() >= client.buffers().size()) std::abort();
  }
  client.disconnected("fuzz");
  return 0;
}
