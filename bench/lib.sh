# Set-up shared by bench/run.sh and bench/soak.sh; sourced, not run.
# Each function logs with the caller's `log` and prefix ($bench_name).

# need_packages CMD:PACKAGE...: installs (apt-get) the packages whose
# command is missing.
need_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] ||
      missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    log "$bench_name: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null
  fi
  nsd_bin=$(command -v nsd || echo /usr/sbin/nsd)
}

# build_targets TARGET...: configures $build with scripts/setup.sh when it
# has no minidns yet, then builds the targets (a no-op when up to date).
build_targets() {
  if [ ! -f "$build/build.ninja" ] || [ ! -x "$build/minidns" ]; then
    log "$bench_name: building minidns with scripts/setup.sh"
    MINIDNS_BUILD_DIR="$build" scripts/setup.sh
  fi
  local build_log
  build_log=$(mktemp)
  if ! cmake --build "$build" --target "$@" -j "${MINIDNS_JOBS:-2}" \
    >"$build_log" 2>&1; then
    cat "$build_log" >&2
    rm -f "$build_log"
    log "$bench_name: build failed"
    exit 1
  fi
  rm -f "$build_log"
  bench_bin="$build/bench/minidns_bench"
}

# make_workdir KEEP: a temporary work directory in $work; on exit every
# process in $pids is ended and the directory removed unless KEEP is 1.
make_workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/minidns-$bench_name.XXXXXX")
  keep_work=$1
  pids=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ "$keep_work" = 1 ]; then
    log "$bench_name: work directory kept: $work"
  else
    rm -rf "$work"
  fi
}

# print_machine TITLE: the header every record starts with.
print_machine() {
  echo "== $1, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r)"
  echo "versions: minidns $(git describe --always --dirty 2>/dev/null || echo '?')" \
    "($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")," \
    "$build/), $("$nsd_bin" -v 2>&1 | head -1)${2:+, $2}"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# start_nsd: one NSD process serving 1,000 zones on a free loopback port;
# sets nsd_port and nsd_dest.
start_nsd() {
  nsd_port=$("$bench_bin" --mode=free-port)
  "$bench_bin" --mode=zones --dir="$work" --nsd-port="$nsd_port" --zones=1000
  "$nsd_bin" -d -c "$work/nsd.conf" >"$work/nsd.out" 2>&1 &
  pids+=($!)
  nsd_dest="127.0.0.1:$nsd_port"
  if ! "$bench_bin" --mode=check --dest="$nsd_dest" --zones=1000 --wait=30; then
    cat "$work/nsd.out" "$work/nsd.log" >&2 2>/dev/null || true
    exit 1
  fi
  echo "NSD $nsd_dest serving 1000 zones (one server process)"
}

# field LINE KEY: the value of KEY=... in a RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# run_bench NAME ARGS...: runs the bench client on $build/minidns, keeps its
# output in the work dir, prints its summary lines, leaves its RESULT line
# in $result and its exit status in $bench_rc; a failed run (checks, or no
# RESULT line) is said and sets checks_failed.
checks_failed=0
run_bench() {
  local name=$1
  shift
  local out="$work/$name.txt"
  bench_rc=0
  "$bench_bin" --minidns="$build/minidns" --log-dir="$work" \
    --stop-timeout=20 "$@" >"$out" 2>&1 || bench_rc=$?
  grep -v '^RESULT' "$out" | sed 's/^/    /'
  result=$(grep '^RESULT' "$out" | tail -1 || true)
  if [ "$bench_rc" -ne 0 ] || [ -z "$result" ]; then
    echo "    !! $name: checks failed (exit status $bench_rc)"
    checks_failed=1
  fi
}

# daemon_args [ARG...]: --daemon-arg=... lines for minidns. Every row
# measures one query per poll, as dnsperf asks them: identical polls in
# flight would otherwise share a query (minidns.share-queries), and the
# rows repeat zones within a window. The extra minidns options
# ($minidns_args) can turn it on.
daemon_args() {
  local a
  for a in --minidns.share-queries=false "${minidns_args[@]}" "$@"; do
    printf -- '--daemon-arg=%s\n' "$a"
  done
}
