// Fuzz target: address and unit parsing never crash, and what parses round-trips.
#include "sockit/net/address.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/net/resolver.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto a = sockit::Address::parse(text)) {
    auto again = sockit::Address::parse(a->to_string());
    if (!again || !(*again == *a)) std::abort();  // to_string must parse back to the same address
    (void)a->hash();
  }
  (void)sockit::split_host_port(text);
  (void)sockit::parse_duration(text);
  (void)sockit::parse_size(text);
  if (size < 64) (void)sockit::parse_port_list(text);  // ranges expand: keep them small
  return 0;
}
