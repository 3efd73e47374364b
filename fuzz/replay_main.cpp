/// Replays fuzz inputs through a fuzz target without libFuzzer, so that the
/// corpus runs as an ordinary test under any compiler. Arguments are files
/// or directories (every regular file inside is replayed).

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

static bool replay(const fs::path& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return false;
  }
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>{in}, {}};
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return true;
}

int main(int argc, char** argv) {
  size_t count = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    fs::path p{argv[i]};
    if (fs::is_directory(p)) {
      for (auto& entry : fs::recursive_directory_iterator{p})
        if (entry.is_regular_file()) {
          ok = replay(entry.path()) && ok;
          ++count;
        }
    } else {
      ok = replay(p) && ok;
      ++count;
    }
  }
  std::printf("replayed %zu inputs\n", count);
  // An empty corpus is a broken test, not a passing one.
  return ok && count > 0 ? 0 : 1;
}
