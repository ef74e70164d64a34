// Public header. Everything in sockit::serve in one include.
#pragma once
#include "sockit/serve/model.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/serve/session.hpp"
#include "sockit/serve/udp_server.hpp"
