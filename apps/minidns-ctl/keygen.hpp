#pragma once
/// minidns-ctl keygen PATH: a new CURVE key pair for minidns or a pool
/// manager.

#include <string>

namespace minidns::ctl {

/// Writes a new CURVE key pair to `path` (0600, never over an existing
/// file) and the public key to `path`.pub, and prints the public key.
/// Returns the exit code; throws usage_error when a file cannot be created.
int keygen(const std::string& path);

} // namespace minidns::ctl
