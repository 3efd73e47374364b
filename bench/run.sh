#!/usr/bin/env bash
# The minidns benchmark (bench/README.md), on loopback only, in one command:
#
#   bench/run.sh
#
# Installs nsd and dnsperf when missing, builds minidns and the bench client
# into build/ when needed, serves 1,000 zones from one NSD process, measures
# dnsperf against it (and against the NOTIFY phase's responder: each ratio
# is against dnsperf on the server that phase talks to), then runs each
# minidns phase (poll throughput, notify
# rate, latency at half the poll rate, 1,000,000 polls in flight) several
# times with a fresh minidns each time, and prints the medians against their
# references and targets. Every process it starts is ended on exit.
#
# Settings (environment): BENCH_RUNS (3), BENCH_DNSPERF_SECONDS (10),
# BENCH_DNSPERF_ARGS ("-c 4 -q 1000"), BENCH_POLL_COUNT (200000),
# BENCH_POLL_WINDOW (1000), BENCH_NOTIFY_COUNT (200000), BENCH_NOTIFY_WINDOW
# (1000), BENCH_LATENCY_SECONDS (5), BENCH_SCALE_COUNT (1000000),
# BENCH_SCALE_TIMEOUT (10), BENCH_LATENCY_RATE (polls/s for the latency
# phase instead of half the measured poll rate), BENCH_SCALE_LIMIT (60, seconds before a scale
# run gives up waiting), BENCH_SCALE_RUNS (BENCH_RUNS), BENCH_MINIDNS_ARGS
# (extra minidns options for every phase, e.g. "--scheduler.policy=sharing"),
# BENCH_PROFILE (1: perf record minidns in one poll and one scale run),
# BENCH_KEEP (1: keep the work directory), MINIDNS_BUILD_DIR (build).
#
# Exit status: 0 when every phase ran and every reply passed its checks
# (whether or not the targets were met), 2 when a check failed (wrong,
# missing or duplicate replies), 1 on a setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
dnsperf_seconds=${BENCH_DNSPERF_SECONDS:-10}
dnsperf_args=${BENCH_DNSPERF_ARGS:-"-c 4 -q 1000"}
poll_count=${BENCH_POLL_COUNT:-200000}
poll_window=${BENCH_POLL_WINDOW:-1000}
deep_window=${BENCH_DEEP_WINDOW:-10000}
notify_count=${BENCH_NOTIFY_COUNT:-200000}
notify_window=${BENCH_NOTIFY_WINDOW:-1000}
latency_seconds=${BENCH_LATENCY_SECONDS:-5}
scale_count=${BENCH_SCALE_COUNT:-1000000}
scale_timeout=${BENCH_SCALE_TIMEOUT:-10}
scale_limit=${BENCH_SCALE_LIMIT:-60}
scale_runs=${BENCH_SCALE_RUNS:-$runs}
profile=${BENCH_PROFILE:-0}
build=${MINIDNS_BUILD_DIR:-build}
read -r -a minidns_args <<<"${BENCH_MINIDNS_ARGS:-}"

log() { printf '%s\n' "$*" >&2; }

bench_name=bench
# shellcheck source=bench/lib.sh
. bench/lib.sh
packages=(nsd:nsd dnsperf:dnsperf)
[ "$profile" = 1 ] && packages+=(perf:linux-perf)
need_packages "${packages[@]}"
build_targets minidns minidns_bench minidns_responder
responder_bin="$build/bench/minidns_responder"
make_workdir "${BENCH_KEEP:-0}"

load() { cut -d' ' -f1-3 /proc/loadavg; }
print_machine "minidns benchmark" \
  "dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p')"
echo "settings: runs $runs; dnsperf $dnsperf_args for ${dnsperf_seconds}s;" \
  "poll $poll_count window $poll_window; notify $notify_count window" \
  "$notify_window; latency ${latency_seconds}s; scale $scale_count" \
  "timeout ${scale_timeout}s; minidns extra args: ${minidns_args[*]:-none}"
start_nsd

# ------------------------------------------------------------- helpers
# median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# -------------------------------------------------------------- dnsperf
echo
echo "== dnsperf: SOA queries over the 1000 zones, $dnsperf_args, ${dnsperf_seconds}s x $runs"
dnsperf_qps=()
dnsperf_lat=()
for i in $(seq "$runs"); do
  # shellcheck disable=SC2086
  dnsperf -s 127.0.0.1 -p "$nsd_port" -d "$work/queries.txt" \
    -l "$dnsperf_seconds" $dnsperf_args >"$work/dnsperf-$i.txt" 2>&1
  q=$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' "$work/dnsperf-$i.txt")
  l=$(sed -n 's/.*Average Latency (s): *\([0-9.]*\).*/\1/p' "$work/dnsperf-$i.txt")
  lost=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' "$work/dnsperf-$i.txt")
  echo "    run $i: $q queries/s, average latency ${l}s, lost $lost"
  dnsperf_qps+=("$q")
  dnsperf_lat+=("$l")
done
ref_qps=$(median "${dnsperf_qps[@]}")
echo "  median: $ref_qps queries/s"

# ---------------------------------------------------------------- polls
echo
echo "== poll throughput: $poll_count polls to NSD, window $poll_window, x $runs"
poll_rates=()
poll_p99=()
for i in $(seq "$runs"); do
  extra=()
  if [ "$profile" = 1 ] && [ "$i" = 1 ]; then
    extra=(--perf="$work/poll.perf" "--perf-args=-F 999 --call-graph dwarf,16384")
  fi
  mapfile -t da < <(daemon_args)
  run_bench "poll-$i" --mode=poll --dest="$nsd_dest" --count="$poll_count" \
    --window="$poll_window" "${da[@]}" "${extra[@]}"
  poll_rates+=("$(field "$result" rate)")
  poll_p99+=("$(field "$result" lat_p99_us)")
done
poll_rate=$(median "${poll_rates[@]}")
echo "  median: $poll_rate polls/s"

# The same with 10,000 polls in flight to the one NSD: flow control
# (max-outstanding-per-destination) must keep the server's socket buffer
# from overflowing. Single attempts, so every drop would be an ERROR.
echo
echo "== deep window: $poll_count polls to NSD, window $deep_window, no retries, x $runs"
deep_rates=()
for i in $(seq "$runs"); do
  mapfile -t da < <(daemon_args)
  run_bench "deep-$i" --mode=poll --dest="$nsd_dest" --count="$poll_count" \
    --window="$deep_window" --max-retries=0 "${da[@]}"
  deep_rates+=("$(field "$result" rate)")
done
deep_rate=$(median "${deep_rates[@]}")
echo "  median: $deep_rate polls/s"

# -------------------------------------------------------------- notifies
echo
echo "== notify rate: $notify_count notifies to a NOERROR responder, window $notify_window, x $runs"
notify_rates=()
for i in $(seq "$runs"); do
  mapfile -t da < <(daemon_args)
  run_bench "notify-$i" --mode=notify --count="$notify_count" \
    --window="$notify_window" "${da[@]}"
  notify_rates+=("$(field "$result" rate)")
done
notify_rate=$(median "${notify_rates[@]}")
echo "  median: $notify_rate NOTIFYs/s"
# The reference for NOTIFYs is dnsperf against the server the NOTIFY phase
# talks to: the bench's responder (faster than NSD), same queries and
# settings, the same number of runs.
"$responder_bin" >"$work/responder.txt" 2>&1 &
responder_pid=$!
pids+=("$responder_pid")
sleep 0.2
rport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/responder.txt")
responder_qps_runs=()
for i in $(seq "$runs"); do
  # shellcheck disable=SC2086
  dnsperf -s 127.0.0.1 -p "$rport" -d "$work/queries.txt" \
    -l "$dnsperf_seconds" $dnsperf_args >"$work/dnsperf-responder-$i.txt" 2>&1 || true
  responder_qps_runs+=("$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' \
    "$work/dnsperf-responder-$i.txt")")
done
kill "$responder_pid" 2>/dev/null || true
wait "$responder_pid" 2>/dev/null || true
responder_qps=$(median "${responder_qps_runs[@]}")
echo "  reference: dnsperf gets $responder_qps answers/s from the same responder" \
  "(runs: ${responder_qps_runs[*]})"

# --------------------------------------------------------------- latency
latency_rate=$(awk -v r="$poll_rate" 'BEGIN {printf "%d", r / 2}')
latency_what="half the median poll rate"
if [ -n "${BENCH_LATENCY_RATE:-}" ]; then
  latency_rate=$BENCH_LATENCY_RATE
  latency_what="BENCH_LATENCY_RATE, not the target's half rate"
fi
echo
echo "== latency: polls paced at $latency_rate/s ($latency_what) for ${latency_seconds}s, x $runs"
added_p50=()
added_p99=()
e2e_p99=()
rtt_p50=()
for i in $(seq "$runs"); do
  mapfile -t da < <(daemon_args)
  run_bench "latency-$i" --mode=latency --dest="$nsd_dest" \
    --rate="$latency_rate" --duration="$latency_seconds" "${da[@]}"
  added_p50+=("$(field "$result" added_p50_us)")
  added_p99+=("$(field "$result" added_p99_us)")
  e2e_p99+=("$(field "$result" e2e_p99_us)")
  rtt_p50+=("$(field "$result" rtt_p50_us)")
done

# ----------------------------------------------------------------- scale
echo
echo "== scale: $scale_count polls at once to a silent port, timeout ${scale_timeout}s, x $scale_runs"
scale_bytes=()
scale_late=()
scale_late_cast=()
scale_own_late=()
scale_ok=()
scale_peak=()
for i in $(seq "$scale_runs"); do
  extra=()
  if [ "$profile" = 1 ] && [ "$i" = 1 ]; then
    extra=(--perf="$work/scale.perf" "--perf-args=-F 99 --call-graph dwarf,8192")
  fi
  # Every request goes on the wire at once, to one silent destination:
  # this row measures the cost of a request in flight, so per-destination
  # flow control (which would keep all but 500 of them in its queue) is off.
  mapfile -t da < <(daemon_args --minidns.udp-sockets=64 \
    --minidns.max-in-flight=$((scale_count + 100000)) \
    --minidns.max-outstanding-per-destination=0)
  run_bench "scale-$i" --mode=scale --count="$scale_count" \
    --timeout="$scale_timeout" --time-limit="$scale_limit" "${da[@]}" \
    "${extra[@]}"
  scale_bytes+=("$(field "$result" bytes_per_request)")
  scale_late+=("$(field "$result" late_query_p99_us)")
  scale_late_cast+=("$(field "$result" late_cast_p99_us)")
  scale_own_late+=("$(field "$result" own_late_p99_le_ms)")
  scale_ok+=("$(field "$result" ok)")
  scale_peak+=("$(field "$result" peak_in_flight)")
done

if [ "$profile" = 1 ]; then
  for p in poll scale; do
    [ -f "$work/$p.perf" ] || continue
    echo
    echo "== perf profile of minidns ($p), top symbols (self)"
    perf report -i "$work/$p.perf" --no-children --sort comm,dso,sym --stdio \
      -g none 2>/dev/null | grep -E '^ +[0-9]' | head -25 | cut -c1-150
  done
fi

# --------------------------------------------------------------- summary
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
  ok = (op == ">=") ? (v >= t) : (v < t); print ok ? "met" : "MISSED" }'; }
poll_ratio=$(ratio "$poll_rate" "$ref_qps")
notify_ratio=$(ratio "$notify_rate" "$responder_qps")
deep_ratio=$(ratio "$deep_rate" "$poll_rate")
m_bytes=$(median "${scale_bytes[@]}")
m_late_ms=$(awk -v v="$(median "${scale_late[@]}")" 'BEGIN {printf "%.1f", v / 1000}')
m_late_cast_ms=$(awk -v v="$(median "${scale_late_cast[@]}")" 'BEGIN {printf "%.1f", v / 1000}')
m_own_late_ms=$(awk -v v="$(median "${scale_own_late[@]}")" 'BEGIN {printf "%.1f", v}')
m_ok=$(median "${scale_ok[@]}")
m_peak=$(median "${scale_peak[@]}")
m_a50=$(median "${added_p50[@]}")
m_a99=$(median "${added_p99[@]}")
m_e2e99=$(median "${e2e_p99[@]}")
m_rtt=$(median "${rtt_p50[@]}")

echo
echo "== results (medians of $runs runs; scale: $scale_runs runs)"
printf '%-44s %14s %16s %7s %10s %s\n' metric minidns reference ratio target verdict
printf '%-44s %14.0f %16.0f %7s %10s %s\n' "1. polls/s end to end (all SUCCESS)" \
  "$poll_rate" "$ref_qps" "$poll_ratio" ">= 0.80" "$(verdict "$poll_ratio" 0.8 '>=')"
printf '%-44s %14.0f %16.0f %7s %10s %s\n' "1. polls/s, $deep_window in flight (vs row 1)" \
  "$deep_rate" "$poll_rate" "$deep_ratio" ">= 0.90" "$(verdict "$deep_ratio" 0.9 '>=')"
printf '%-44s %14.0f %16.0f %7s %10s %s\n' "2. NOTIFYs/s answered by the responder" \
  "$notify_rate" "$responder_qps" "$notify_ratio" ">= 0.80" "$(verdict "$notify_ratio" 0.8 '>=')"
printf '%-44s %14.0f %16s %7s %10s %s\n' "3. peak RSS bytes per request in flight" \
  "$m_bytes" "" "" "< 1536" "$(verdict "$m_bytes" 1536 '<')"
printf '%-44s %14s %16s %7s %10s %s\n' "3. polls in flight at once (peak)" \
  "$m_peak" "$scale_count" "" "" "$(verdict "$m_peak" "$scale_count" '>=')"
printf '%-44s %14s %16s %7s %10s %s\n' "3. ERROR statuses received (timeout)" \
  "$m_ok" "$scale_count" "" "all" "$(verdict "$m_ok" "$scale_count" '>=')"
if awk -v n="$m_ok" 'BEGIN {exit !(n > 0)}'; then
  late_verdict=$(verdict "$m_late_ms" 20 '<')
else
  # No status came back: there is no lateness to measure.
  m_late_ms="-" m_late_cast_ms="-" late_verdict="MISSED (no status)"
fi
printf '%-44s %14s %16s %7s %10s %s\n' "3. timer lateness p99, ms (from query out)" \
  "$m_late_ms" "" "" "< 20" "$late_verdict"
printf '%-44s %14s %16s %7s %10s %s\n' "   (upper bound: from cast sent), ms" \
  "$m_late_cast_ms" "" "" "" ""
printf '%-44s %14s %16s %7s %10s %s\n' "   (minidns's own: fired minus due), ms <=" \
  "$m_own_late_ms" "" "" "" ""
printf '%-44s %14.0f %16s %7s %10s %s\n' "4. added latency p50, us (at $latency_rate/s)" \
  "$m_a50" "" "" "" ""
printf '%-44s %14.0f %16s %7s %10s %s\n' "4. added latency p99, us" \
  "$m_a99" "" "" "< 1000" "$(verdict "$m_a99" 1000 '<')"
printf '%-44s %14.0f %16.0f %7s %10s %s\n' "   (e2e p99 us; server RTT p50 us)" \
  "$m_e2e99" "$m_rtt" "" "" ""
echo "per run: dnsperf ${dnsperf_qps[*]} (NSD), ${responder_qps_runs[*]}" \
  "(responder); polls/s ${poll_rates[*]}; deep ${deep_rates[*]};" \
  "notifies/s ${notify_rates[*]}; added p99 us ${added_p99[*]};" \
  "scale bytes/request ${scale_bytes[*]}, lateness p99 us ${scale_late[*]}," \
  "statuses ${scale_ok[*]}"
echo "load average after: $(load)"
if [ "$checks_failed" = 1 ]; then
  echo "SOME CHECKS FAILED: see the '!!' lines above"
  exit 2
fi
echo "all replies passed their checks"
