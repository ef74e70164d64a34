// LF -> CRLF translation for sockit nc -C (see nc/crlf.hpp).
#include "nc/crlf.hpp"

namespace sockit::nc {

void CrlfEncoder::encode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 8);
  for (char c : in) {
    if (c == '\n' && !last_was_cr_) out += '\r';
    out += c;
    last_was_cr_ = (c == '\r');
  }
}

}  // namespace sockit::nc
