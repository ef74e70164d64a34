// Internal header of sockit::loadgen: the summary of a run, as text (for people) or JSON (for
// bench/run.sh; stable keys, "schema": 1, units in key names).
#pragma once

#include "engine.hpp"
#include "options.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sockit::load {

/// What one unit of work is in this mode: "message", "connection", "delivery", "registration",
/// "chunk" (flood: one --size chunk echoed), "datagram".
std::string_view unit_name(Mode m) noexcept;
nlohmann::json to_json(const Options& o, const RunResult& r);
std::string to_text(const Options& o, const RunResult& r);
/// irc mode: a chat server's flood limiter (fakelag) lets a fast sender's lines through one per
/// interval, so the run measures the limiter, not the server. Its mark: at least a quarter of the
/// deliveries are 50 ms or later, and 60 % of those sit at whole multiples (+-5 % of a step)
/// of one step, their smallest or their median (the limiter's interval, 500 ms for sockit
/// chat-server's default of 2 lines/s). Returns that step.
std::optional<std::int64_t> flood_limiter_step(const Options& o, const Stats& s) noexcept;
/// irc, open loop (--rate): the senders got less than half the offered PRIVMSGs/s out, because
/// their window stayed full (the server held their lines: a flood limiter, or a server that
/// cannot keep up). Returns the rate they achieved.
std::optional<double> open_loop_shortfall(const Options& o, const RunResult& r) noexcept;
/// Exit status of a run: 0 when no error of any kind was counted and work was done, else 1.
int exit_status(const Options& o, const RunResult& r) noexcept;

}  // namespace sockit::load
