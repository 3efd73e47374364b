#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR with prefix /usr and checks the
# layout: binaries, /etc/minidns/minidns.ini, the systemd unit pointing at
# them, the sysusers.d entry; then starts the installed daemon with the
# installed configuration (on an ephemeral loopback port) until it is ready
# and stops it with SIGTERM, which must exit 0.
set -euo pipefail
build_dir="$1"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
fail() { echo "check_install: $*" >&2; exit 1; }

DESTDIR="$root" cmake --install "$build_dir" --prefix /usr >/dev/null
for f in usr/bin/minidns usr/bin/minidns-ctl etc/minidns/minidns.ini \
         lib/systemd/system/minidns.service usr/lib/sysusers.d/minidns.conf; do
  [ -e "$root/$f" ] || fail "missing $f"
done
[ -x "$root/usr/bin/minidns" ] || fail "usr/bin/minidns not executable"
grep -qx 'ExecStart=/usr/bin/minidns --config-file=/etc/minidns/minidns.ini' \
  "$root/lib/systemd/system/minidns.service" || fail "unit ExecStart wrong"
grep -q '^u minidns ' "$root/usr/lib/sysusers.d/minidns.conf" ||
  fail "sysusers entry wrong"

# The installed daemon accepts the installed configuration.
mkfifo "$root/log"
"$root/usr/bin/minidns" --config-file="$root/etc/minidns/minidns.ini" \
  '--minidns.endpoint=tcp://127.0.0.1:*' 2>"$root/log" &
pid=$!
exec 3<"$root/log"
ready=""
while IFS= read -r -t 10 line <&3; do
  echo "  $line"
  case "$line" in *"minidns ready"*) ready=1; break ;; esac
done
[ -n "$ready" ] || { kill -KILL "$pid" 2>/dev/null; fail "daemon not ready"; }
kill -TERM "$pid"
cat <&3 >/dev/null &
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || fail "daemon exited $status on SIGTERM"
echo "check_install: ok"
