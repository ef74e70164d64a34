// Runs a libFuzzer target without libFuzzer (g++ builds): every file of the seed corpus, then
// 2000 seeded random mutations of them (byte flips, truncations, splices, inserted CR/LF/NUL).
// Under ASan+UBSan this catches the crashes a short fuzz run would, deterministically.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    } else if (std::filesystem::is_regular_file(p)) {
      std::ifstream in(p, std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (corpus.empty()) corpus.emplace_back("");
  for (auto& c : corpus) LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(c.data()), c.size());

  std::mt19937 gen(12345);
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(gen); };
  const char specials[] = {'\0', '\r', '\n', ' ', ':', '@', '[', ']', '\xff', '\x80', '%', ','};
  for (int round = 0; round < 2000; ++round) {
    std::string s = corpus[pick(corpus.size())];
    int edits = 1 + static_cast<int>(pick(8));
    for (int e = 0; e < edits; ++e) {
      switch (pick(5)) {
        case 0: if (!s.empty()) s[pick(s.size())] = static_cast<char>(gen()); break;
        case 1: if (!s.empty()) s.resize(pick(s.size())); break;
        case 2: s.insert(pick(s.size() + 1), 1, specials[pick(sizeof specials)]); break;
        case 3: { const std::string& o = corpus[pick(corpus.size())]; s += o.substr(pick(o.size() + 1)); break; }
        case 4: s.insert(pick(s.size() + 1), std::string(pick(600), static_cast<char>('A' + pick(26)))); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  std::printf("replayed %zu corpus inputs and 2000 mutations\n", corpus.size());
  return 0;
}
