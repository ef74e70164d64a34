// Lifecycle: the sans-I/O connection state machine and output policy shared by the reactor's
// Connection and the blocking models (no sockets, no clock: pure transitions).
#include "sockit/loop/connection.hpp"
#include "sockit/loop/lifecycle.hpp"

#include <gtest/gtest.h>

using sockit::loop::BufferBudget;
using sockit::loop::ConnState;
using sockit::loop::Lifecycle;
using sockit::loop::WaterMarks;

namespace {

Lifecycle opened() {
  Lifecycle lc;
  lc.opened();
  return lc;
}

TEST(Lifecycle, StartsConnectingAndOpens) {
  Lifecycle lc;
  EXPECT_EQ(lc.state(), ConnState::connecting);
  EXPECT_FALSE(lc.started());
  lc.opened();
  EXPECT_EQ(lc.state(), ConnState::open);
  EXPECT_TRUE(lc.accepts_output());
  EXPECT_TRUE(lc.wants_input());
}

TEST(Lifecycle, PeerFinThenOurShutdownClosesAfterOurFin) {
  Lifecycle lc = opened();
  EXPECT_FALSE(lc.peer_fin());
  EXPECT_EQ(lc.state(), ConnState::read_closed);
  EXPECT_FALSE(lc.reads());
  EXPECT_TRUE(lc.accepts_output()) << "a half-closed peer still receives";
  EXPECT_TRUE(lc.request_shutdown());
  EXPECT_EQ(lc.state(), ConnState::read_closed_draining);
  EXPECT_FALSE(lc.accepts_output());
  EXPECT_TRUE(lc.fin_sent()) << "both FINs: finished";
  EXPECT_EQ(lc.state(), ConnState::closed);
}

TEST(Lifecycle, OurShutdownLingersUntilThePeersFin) {
  Lifecycle lc = opened();
  EXPECT_TRUE(lc.request_shutdown());
  EXPECT_EQ(lc.state(), ConnState::draining);
  EXPECT_TRUE(lc.wants_input()) << "input is still delivered while our output drains";
  EXPECT_FALSE(lc.request_shutdown()) << "asked once";
  EXPECT_FALSE(lc.fin_sent());
  EXPECT_EQ(lc.state(), ConnState::write_closed);
  EXPECT_TRUE(lc.lingering());
  EXPECT_TRUE(lc.reads()) << "linger reads and discards";
  EXPECT_FALSE(lc.wants_input());
  EXPECT_TRUE(lc.peer_fin());
  EXPECT_EQ(lc.state(), ConnState::closed);
}

TEST(Lifecycle, PeerFinWhileDrainingClosesAtOurFin) {
  Lifecycle lc = opened();
  EXPECT_TRUE(lc.request_shutdown());
  EXPECT_FALSE(lc.peer_fin());
  EXPECT_EQ(lc.state(), ConnState::read_closed_draining);
  EXPECT_TRUE(lc.fin_sent());
  EXPECT_EQ(lc.state(), ConnState::closed);
}

TEST(Lifecycle, HalfCloseKeepsDeliveringInputUntilThePeersFin) {
  Lifecycle lc = opened();
  EXPECT_TRUE(lc.request_half_close());
  EXPECT_EQ(lc.state(), ConnState::draining);
  EXPECT_TRUE(lc.half_closing());
  EXPECT_FALSE(lc.accepts_output()) << "nothing is sent after our FIN is asked for";
  EXPECT_FALSE(lc.request_half_close()) << "asked once";
  EXPECT_FALSE(lc.fin_sent()) << "our FIN out, the peer's not yet";
  EXPECT_EQ(lc.state(), ConnState::write_closed);
  EXPECT_FALSE(lc.lingering()) << "a half-close is no linger";
  EXPECT_TRUE(lc.wants_input()) << "input still goes to the user";
  EXPECT_TRUE(lc.reads());
  EXPECT_TRUE(lc.peer_fin()) << "the peer's FIN finishes it";
  EXPECT_EQ(lc.state(), ConnState::closed);
  EXPECT_FALSE(lc.half_closing());
}

TEST(Lifecycle, HalfCloseAfterThePeersFinClosesAtOurFin) {
  Lifecycle lc = opened();
  EXPECT_FALSE(lc.peer_fin());
  EXPECT_TRUE(lc.request_half_close());
  EXPECT_EQ(lc.state(), ConnState::read_closed_draining);
  EXPECT_FALSE(lc.wants_input()) << "the input had ended";
  EXPECT_TRUE(lc.fin_sent()) << "both FINs: finished";
  EXPECT_EQ(lc.state(), ConnState::closed);
}

TEST(Lifecycle, HalfCloseWhileConnectingWaitsForTheOpen) {
  Lifecycle lc;
  EXPECT_TRUE(lc.request_half_close());
  EXPECT_EQ(lc.state(), ConnState::draining);
  EXPECT_FALSE(lc.fin_sent());
  EXPECT_EQ(lc.state(), ConnState::write_closed);
  EXPECT_TRUE(lc.wants_input());
}

TEST(Lifecycle, ShutdownAfterAHalfCloseStaysAHalfCloseAndALingerStaysALinger) {
  Lifecycle half = opened();
  EXPECT_TRUE(half.request_half_close());
  EXPECT_FALSE(half.request_shutdown()) << "already draining";
  (void)half.fin_sent();
  EXPECT_FALSE(half.lingering());
  Lifecycle linger = opened();
  EXPECT_TRUE(linger.request_shutdown());
  EXPECT_FALSE(linger.request_half_close()) << "already draining";
  (void)linger.fin_sent();
  EXPECT_TRUE(linger.lingering());
  EXPECT_FALSE(linger.half_closing());
}

TEST(Lifecycle, HalfCloseAfterCloseIsRefused) {
  Lifecycle lc = opened();
  lc.closed();
  EXPECT_FALSE(lc.request_half_close());
  EXPECT_FALSE(lc.half_closing());
  EXPECT_EQ(lc.state(), ConnState::closed);
}

TEST(Lifecycle, CloseFromAnyStateIsFinal) {
  Lifecycle lc = opened();
  lc.closed();
  EXPECT_EQ(lc.state(), ConnState::closed);
  EXPECT_FALSE(lc.request_shutdown());
  EXPECT_FALSE(lc.peer_fin());
  EXPECT_FALSE(lc.fin_sent());
  EXPECT_FALSE(lc.reads());
  EXPECT_FALSE(lc.accepts_output());
}

TEST(Lifecycle, WaterMarksPauseAtHighAndResumeAtLow) {
  const WaterMarks w{100, 20, 1000};
  Lifecycle lc = opened();
  EXPECT_FALSE(lc.water_marks(99, w));
  EXPECT_TRUE(lc.wants_input());
  EXPECT_FALSE(lc.water_marks(100, w));
  EXPECT_TRUE(lc.backpressured());
  EXPECT_FALSE(lc.wants_input());
  EXPECT_FALSE(lc.water_marks(21, w)) << "still above low water";
  EXPECT_TRUE(lc.backpressured());
  EXPECT_TRUE(lc.water_marks(20, w)) << "resumes at low water (edge callers read again)";
  EXPECT_TRUE(lc.wants_input());
  EXPECT_FALSE(Lifecycle::over_cap(1000, w));
  EXPECT_TRUE(Lifecycle::over_cap(1001, w));
  EXPECT_FALSE(Lifecycle::over_cap(1u << 30, WaterMarks{100, 20, 0})) << "0 = no cap";
}

TEST(Lifecycle, UserPauseIsIndependentOfBackpressure) {
  const WaterMarks w{100, 20, 0};
  Lifecycle lc = opened();
  EXPECT_FALSE(lc.set_user_paused(true));
  EXPECT_FALSE(lc.wants_input());
  (void)lc.water_marks(200, w);
  EXPECT_TRUE(lc.water_marks(0, w));
  EXPECT_FALSE(lc.wants_input()) << "the user's pause stays";
  EXPECT_TRUE(lc.set_user_paused(false));
  EXPECT_TRUE(lc.wants_input());
}

TEST(Lifecycle, BudgetPausesTheBiggestHolderAndResumesWhenItDrains) {
  BufferBudget budget(1000);
  Lifecycle a = opened(), b = opened();
  std::size_t ra = 0, rb = 0;
  EXPECT_FALSE(a.sync_budget(budget, ra, 900, true));
  EXPECT_FALSE(b.sync_budget(budget, rb, 10, true));
  EXPECT_TRUE(a.budget_paused()) << "over half the budget, above the average";
  EXPECT_FALSE(b.budget_paused());
  EXPECT_EQ(budget.used(), 910u);
  EXPECT_EQ(budget.pauses(), 1u);
  EXPECT_TRUE(a.sync_budget(budget, ra, 0, true)) << "its own queue drained: reads again";
  EXPECT_TRUE(a.wants_input());
  EXPECT_EQ(budget.used(), 10u);
  EXPECT_FALSE(b.sync_budget(budget, rb, 0, false));
  EXPECT_EQ(budget.used(), 0u);
}

TEST(Lifecycle, IdleRule) {
  using namespace std::chrono_literals;
  sockit::loop::TimePoint t0{};
  EXPECT_FALSE(Lifecycle::idle_expired(t0, t0 + 1h, 0ns)) << "0 = never";
  EXPECT_FALSE(Lifecycle::idle_expired(t0, t0 + 99ms, 100ms));
  EXPECT_TRUE(Lifecycle::idle_expired(t0, t0 + 100ms, 100ms));
  EXPECT_EQ(Lifecycle::idle_deadline(t0, 100ms), t0 + 100ms);
}

}  // namespace
