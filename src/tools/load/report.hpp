// Internal header of sockit::loadgen: the summary of a run, as text (for people) or JSON (for
// bench/run.sh; stable keys, "schema": 1, units in key names).
#pragma once

#include "engine.hpp"
#include "options.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace sockit::load {

/// What one unit of work is in this mode: "message", "connection", "delivery", "registration",
/// "chunk" (flood: one --size chunk echoed), "datagram".
std::string_view unit_name(Mode m) noexcept;
nlohmann::json to_json(const Options& o, const RunResult& r);
std::string to_text(const Options& o, const RunResult& r);
/// Exit status of a run: 0 when no error of any kind was counted and work was done, else 1.
int exit_status(const Options& o, const RunResult& r) noexcept;

}  // namespace sockit::load
