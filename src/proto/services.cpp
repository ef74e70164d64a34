// echo, discard, chargen, daytime and time.
#include "sockit/proto/services.hpp"

#include "serve/tuning.hpp"

#include <array>
#include <cstring>
#include <ctime>

namespace sockit::proto {
namespace {

using serve::Peer;
using serve::Session;
using serve::TimePoint;

std::string_view as_chars(std::span<const std::byte> data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// A pure echo: a reactor created with detail::Tuning::splice_echo (`sockit echo-server`) moves its
// large reads back with splice() instead of calling on_data.
class EchoSession final : public Session, public serve::detail::PureEcho {
 public:
  void on_data(std::span<const std::byte> data, Peer& peer, TimePoint) override { peer.send(as_chars(data)); }
};

class DiscardSession final : public Session {
 public:
  void on_data(std::span<const std::byte>, Peer&, TimePoint) override {}
};

class ChargenSession final : public Session {
 public:
  void on_open(Peer& peer, TimePoint now) override { on_drain(peer, now); }
  void on_data(std::span<const std::byte>, Peer&, TimePoint) override {}  // input is ignored
  bool wants_drain() const override { return !stopped_; }
  void on_drain(Peer& peer, TimePoint) override {
    // About 32 KiB per call: the driver calls again when the queue is low.
    constexpr std::size_t kLines = 443;
    peer.send(chargen_lines(line_, kLines));
    line_ = (line_ + kLines) % 95;
  }
  void on_eof(Peer& peer, TimePoint) override {
    stopped_ = true;
    peer.close_after_flush();
  }
  void on_shutdown(Peer& peer, TimePoint) override {
    stopped_ = true;
    peer.close_after_flush();
  }

 private:
  std::size_t line_ = 0;
  bool stopped_ = false;
};

class OneShotSession final : public Session {
 public:
  explicit OneShotSession(std::string text) : text_(std::move(text)) {}
  void on_open(Peer& peer, TimePoint) override {
    peer.send(text_);
    peer.close_after_flush();
  }
  void on_data(std::span<const std::byte>, Peer&, TimePoint) override {}

 private:
  std::string text_;
};

std::chrono::system_clock::time_point read_clock(const WallClock& c) {
  return c ? c() : std::chrono::system_clock::now();
}

std::string time_bytes(std::chrono::system_clock::time_point t) {
  std::uint32_t v = rfc868_time(t);
  std::string s(4, '\0');
  s[0] = static_cast<char>((v >> 24) & 0xff);
  s[1] = static_cast<char>((v >> 16) & 0xff);
  s[2] = static_cast<char>((v >> 8) & 0xff);
  s[3] = static_cast<char>(v & 0xff);
  return s;
}

}  // namespace

std::string_view to_string(Service s) noexcept {
  switch (s) {
    case Service::echo: return "echo";
    case Service::discard: return "discard";
    case Service::chargen: return "chargen";
    case Service::daytime: return "daytime";
    case Service::time: return "time";
  }
  return "?";
}

std::span<const Service> all_services() noexcept {
  static constexpr std::array<Service, 5> kAll{Service::echo, Service::discard, Service::chargen, Service::daytime,
                                               Service::time};
  return kAll;
}

Result<Service> parse_service(std::string_view name) {
  for (Service s : all_services()) {
    if (name == to_string(s)) return s;
  }
  return Error(errc::invalid_argument,
               "unknown service '" + std::string(name) + "' (echo, discard, chargen, daytime, time)");
}

std::string daytime_text(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[96];
  std::size_t n = std::strftime(buf, sizeof buf, "%A, %B %d, %Y %H:%M:%S-UTC\r\n", &tm);
  return std::string(buf, n);
}

std::uint32_t rfc868_time(std::chrono::system_clock::time_point t) {
  constexpr std::int64_t kEpochOffset = 2208988800LL;  // 1900-01-01 to 1970-01-01
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(secs + kEpochOffset) & 0xffffffffULL);
}

std::string chargen_lines(std::size_t first_line, std::size_t lines) {
  constexpr std::size_t kWidth = 72;
  constexpr std::size_t kChars = 95;  // ' ' .. '~'
  std::string out;
  out.reserve(lines * (kWidth + 2));
  for (std::size_t l = 0; l < lines; ++l) {
    std::size_t start = (first_line + l) % kChars;
    for (std::size_t i = 0; i < kWidth; ++i) out.push_back(static_cast<char>(' ' + (start + i) % kChars));
    out += "\r\n";
  }
  return out;
}

serve::SessionFactory make_session_factory(Service s, WallClock clock) {
  switch (s) {
    case Service::echo: return [](Peer&) { return std::make_unique<EchoSession>(); };
    case Service::discard: return [](Peer&) { return std::make_unique<DiscardSession>(); };
    case Service::chargen: return [](Peer&) { return std::make_unique<ChargenSession>(); };
    case Service::daytime:
      return [clock](Peer&) { return std::make_unique<OneShotSession>(daytime_text(read_clock(clock))); };
    case Service::time:
      return [clock](Peer&) { return std::make_unique<OneShotSession>(time_bytes(read_clock(clock))); };
  }
  return {};
}

serve::DatagramHandler make_datagram_handler(Service s, WallClock clock, DatagramOptions opts) {
  switch (s) {
    case Service::echo:
      return [](std::span<const std::byte> in, const Address&, std::span<std::byte> out) -> std::optional<std::size_t> {
        std::size_t n = std::min(in.size(), out.size());
        if (n > 0) std::memcpy(out.data(), in.data(), n);
        return n;
      };
    case Service::discard:
      return [](std::span<const std::byte>, const Address&, std::span<std::byte>) -> std::optional<std::size_t> {
        return std::nullopt;
      };
    case Service::chargen:
      return [line = std::size_t{0}, full = opts.chargen_full](std::span<const std::byte> in, const Address&,
                                                                std::span<std::byte> out) mutable
             -> std::optional<std::size_t> {
        // RFC 864 UDP: "a random number between 0 and 512" characters. Here the length steps
        // deterministically through 418..512 so tests can check replies; unless chargen_full,
        // never more than the request (no amplification: a 0-byte request, an empty reply).
        std::string text = chargen_lines(line, 7);  // 7 * 74 = 518 >= 512
        std::size_t n = 512 - (line % 95);
        line = (line + 1) % 95;
        n = std::min({n, text.size(), out.size()});
        if (!full) n = std::min(n, in.size());
        std::memcpy(out.data(), text.data(), n);
        return n;
      };
    case Service::daytime:
      return [clock](std::span<const std::byte>, const Address&, std::span<std::byte> out) -> std::optional<std::size_t> {
        std::string text = daytime_text(read_clock(clock));
        std::size_t n = std::min(text.size(), out.size());
        std::memcpy(out.data(), text.data(), n);
        return n;
      };
    case Service::time:
      return [clock](std::span<const std::byte>, const Address&, std::span<std::byte> out) -> std::optional<std::size_t> {
        std::string b = time_bytes(read_clock(clock));
        if (out.size() < 4) return std::nullopt;
        std::memcpy(out.data(), b.data(), 4);
        return std::size_t{4};
      };
  }
  return {};
}

}  // namespace sockit::proto
