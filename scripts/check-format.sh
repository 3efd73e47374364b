#!/usr/bin/env bash
# Fails when clang-format (the repo's .clang-format) would change any C++
# file git tracks, and lists them. Fix with:
#   git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || {
  echo "check-format: clang-format is not installed (scripts/setup.sh)" >&2
  exit 1
}
bad=()
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done < <(git ls-files '*.cpp' '*.hpp')
if ((${#bad[@]})); then
  echo "check-format: $(clang-format --version | head -1) would change:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: $(git ls-files '*.cpp' '*.hpp' | wc -l) files formatted"
