// Internal header of sockit nc. `-C`: turns bare LF into CRLF on data sent to the network, as
// ncat -C does. A CR LF pair already present is left alone, also when the pair is split across
// two reads (the encoder remembers whether the previous chunk ended in CR). Not thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sockit::nc {

class CrlfEncoder {
 public:
  /// Appends `in` to `out` with every LF not preceded by CR replaced by CR LF.
  void encode(std::string_view in, std::string& out);

 private:
  bool last_was_cr_ = false;
};

}  // namespace sockit::nc
