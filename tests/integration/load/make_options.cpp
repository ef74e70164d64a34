// make() of make_options.hpp, kept out of the header: the CLI11 header is 15-30 s of compile time
// per translation unit under ASan, so only this file of integ_load includes it.
#include "make_options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

namespace sockit::load::test {

Options make(Mode mode, const std::string& target, std::vector<std::string> extra) {
  Options o;
  o.mode_text = std::string(to_string(mode));
  o.target_text = target;
  CLI::App app;
  add_cli(app, o);
  std::vector<std::string> args{o.mode_text, target};
  args.insert(args.end(), extra.begin(), extra.end());
  std::reverse(args.begin(), args.end());
  app.parse(args);
  auto r = finalize(o);
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().context());
  o.progress = false;
  return o;
}

}  // namespace sockit::load::test
