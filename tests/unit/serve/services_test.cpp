// sockit::proto's pure helpers (no sockets: the services over TCP are in integ_serve).
#include "sockit/proto/services.hpp"

#include <gtest/gtest.h>

#include <chrono>

TEST(Services, Rfc868TimeIsSecondsSince1900) {
  EXPECT_EQ(sockit::proto::rfc868_time(std::chrono::system_clock::time_point{}), 2208988800u);
  EXPECT_EQ(*sockit::proto::parse_service("chargen"), sockit::proto::Service::chargen);
  EXPECT_FALSE(sockit::proto::parse_service("qotd"));
}

