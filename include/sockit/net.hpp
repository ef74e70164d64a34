// Public header. Everything in sockit::net in one include.
#pragma once
#include "sockit/net/address.hpp"
#include "sockit/net/deadline.hpp"
#include "sockit/net/error.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/io.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/net/result.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/net/udp.hpp"
