// Public header. Everything in sockit::loop in one include.
#pragma once
#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/buffer.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/connector.hpp"
#include "sockit/loop/event_loop.hpp"
#include "sockit/loop/poller.hpp"
#include "sockit/loop/timer_queue.hpp"
