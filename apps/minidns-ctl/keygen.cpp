#include "apps/minidns-ctl/keygen.hpp"

#include "actors/zmq/key_files.hpp"
#include "apps/minidns-ctl/common.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

namespace minidns::ctl {

int keygen(const std::string& path) {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    std::fprintf(stderr, "minidns-ctl: keygen: %s\n",
                 zmq_strerror(zmq_errno()));
    return exit_failure;
  }
  curve::key_pair keys{pub, sec};
  auto write = [](const std::string& file, const std::string& text,
                  mode_t mode) {
    int fd =
        ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
      throw usage_error("keygen: cannot create " + quote_arg(file) + ": " +
                        std::strerror(errno));
    bool ok = ::write(fd, text.data(), text.size()) ==
              static_cast<ssize_t>(text.size());
    ok = ::close(fd) == 0 && ok;
    if (!ok)
      throw std::runtime_error("keygen: cannot write " + quote_arg(file));
  };
  write(path, curve::format_key_file(keys), 0600);
  write(path + ".pub", curve::format_key_file({keys.public_key, ""}), 0644);
  std::printf("%s\n", keys.public_key.c_str());
  return exit_ok;
}

} // namespace minidns::ctl
