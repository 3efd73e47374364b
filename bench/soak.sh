#!/usr/bin/env bash
# The minidns soak (and overload) record (bench/README.md), on loopback
# only, in one command:
#
#   bench/soak.sh                   # 30 min at half the max poll rate
#   SOAK_OVERLOAD=1 bench/soak.sh   # 20 s at half, 60 s at 3x, 40 s at half
#
# Installs nsd, dnsperf and gnuplot-nox when missing, builds minidns and the
# bench client into build/ when needed, serves 1,000 zones from one NSD
# process (as bench/run.sh does), measures the max poll rate with a short
# --mode=poll run (or takes SOAK_RATE), then runs --mode=timeline: polls
# paced at half that rate, mixed 70% to NSD (SUCCESS), 10% to silent sockets
# (ERROR timeout), 10% REFUSED and 10% with a lagging serial (ERROR lower
# serial), every reply checked. It writes one CSV row per second and a PNG
# of it (casts and statuses per second, RSS, requests in flight, latency)
# into the results directory, and prints the run's summary: the reply
# checks, RSS after the warm-up against the end, latency p99 of the first
# against the last quarter. Every process it starts is ended on exit.
#
# Settings (environment): SOAK_DURATION (1800 s), SOAK_RATE (polls/s of the
# soak instead of half the measured rate; the max rate is then taken as
# twice it), SOAK_MAX_RATE (the max poll rate instead of measuring it),
# SOAK_OUT (relative to the repository; bench/results/soak-DATE/ or
# bench/results/overload-DATE/), SOAK_MIX ("70,10,10,10": percent answered,
# silent, refused, lagging), SOAK_OVERLOAD (1: the overload record
# instead), SOAK_OVERLOAD_PHASES ("20 60 40": seconds at half rate, at
# SOAK_OVERLOAD_FACTOR (3) x the max rate, at half rate again),
# SOAK_POLL_COUNT (200000 polls to measure the max rate), SOAK_MINIDNS_ARGS
# (extra minidns options), SOAK_KEEP (1: keep the work directory),
# MINIDNS_BUILD_DIR (build).
#
# Exit status: 0 when every reply passed its checks, 2 when one did not
# (wrong, missing or duplicate replies), 1 on a setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

overload=${SOAK_OVERLOAD:-0}
duration=${SOAK_DURATION:-1800}
mix=${SOAK_MIX:-70,10,10,10}
phases=${SOAK_OVERLOAD_PHASES:-"20 60 40"}
factor=${SOAK_OVERLOAD_FACTOR:-3}
poll_count=${SOAK_POLL_COUNT:-200000}
build=${MINIDNS_BUILD_DIR:-build}
read -r -a minidns_args <<<"${SOAK_MINIDNS_ARGS:-}"
stamp=$(date -u '+%Y%m%d-%H%M%S')
if [ "$overload" = 1 ]; then
  what=overload
else
  what=soak
fi
out=${SOAK_OUT:-bench/results/$what-$stamp}

log() { printf '%s\n' "$*" >&2; }

# Runs itself once more with everything it prints kept in OUT/summary.txt.
if [ -z "${SOAK_TEED:-}" ]; then
  mkdir -p "$out"
  SOAK_TEED=1 SOAK_OUT="$out" "$PWD/bench/soak.sh" 2>&1 | tee "$out/summary.txt"
  exit "${PIPESTATUS[0]}"
fi

bench_name=soak
# shellcheck source=bench/lib.sh
. bench/lib.sh
need_packages nsd:nsd dnsperf:dnsperf gnuplot:gnuplot-nox
build_targets minidns minidns_bench
# Generated output is never to be committed (bench/results/.gitignore).
if [ ! -e bench/results/.gitignore ]; then
  mkdir -p bench/results
  printf '*\n!.gitignore\n' >bench/results/.gitignore
fi
mkdir -p "$out"
make_workdir "${SOAK_KEEP:-0}"
print_machine "minidns $what"
start_nsd

# As bench/run.sh: each poll asks its own query.
mapfile -t da < <(daemon_args)

# ------------------------------------------------------- the max rate
if [ -n "${SOAK_MAX_RATE:-}" ]; then
  max_rate=$SOAK_MAX_RATE
  echo "max poll rate: $max_rate/s (SOAK_MAX_RATE)"
elif [ -n "${SOAK_RATE:-}" ]; then
  # SOAK_RATE stands for half the max rate.
  max_rate=$(awk -v r="$SOAK_RATE" 'BEGIN {printf "%d", 2 * r}')
  echo "max poll rate: taken as 2 x SOAK_RATE = $max_rate/s"
else
  echo
  echo "== max poll rate: $poll_count polls to NSD, window 1000"
  run_bench poll --mode=poll --dest="$nsd_dest" --count="$poll_count" \
    --window=1000 "${da[@]}"
  max_rate=$(field "$result" rate)
  if [ "$bench_rc" -ne 0 ] || [ -z "$max_rate" ]; then
    echo "soak: measuring the poll rate failed (exit status $bench_rc)"
    exit 1
  fi
  max_rate=$(awk -v r="$max_rate" 'BEGIN {printf "%d", r}')
  echo "  max poll rate: $max_rate/s"
fi
rate=${SOAK_RATE:-$(awk -v r="$max_rate" 'BEGIN {printf "%d", r / 2}')}

# ------------------------------------------------------------- timeline
args=(--rate="$rate" --mix="$mix")
if [ "$overload" = 1 ]; then
  read -r before over after <<<"$phases"
  over_rate=$(awk -v r="$max_rate" -v f="$factor" 'BEGIN {printf "%d", r * f}')
  duration=$((before + over + after))
  args+=(--duration="$duration" --overload-rate="$over_rate"
    --overload-from="$before" --overload-to="$((before + over))")
  echo
  echo "== overload: ${before}s at $rate/s, ${over}s at $over_rate/s" \
    "(${factor}x the max rate), ${after}s at $rate/s; mix $mix"
  title="minidns overload: $rate/s, ${factor}x max ($over_rate/s) from ${before}s to $((before + over))s"
else
  args+=(--duration="$duration")
  echo
  echo "== soak: ${duration}s at $rate/s (half the max poll rate" \
    "$max_rate/s unless SOAK_RATE); mix $mix"
  title="minidns soak: $rate polls/s for ${duration}s, mix $mix (answered, silent, refused, lagging)"
fi
csv="$out/timeline.csv"
png="$out/timeline.png"
run_bench timeline --mode=timeline --dest="$nsd_dest" --csv="$csv" \
  "${args[@]}" "${da[@]}"
rc=$bench_rc
printf '%s\n' "$result" >"$out/result.txt"

# ----------------------------------------------------------------- plot
# Four panels over time: casts (offered and sent) and statuses per second;
# minidns's RSS; requests in flight (minidns's gauge, and the client's
# casts without a status, ZeroMQ's queues included); cast-to-status
# latency p50 and p99 (polls not to the silent sockets, log scale). The
# overload is shaded; a soak marks the end of its warm-up.
if [ "$overload" = 1 ]; then
  marks="set object 1 rect from $before, graph 0 to $((before + over)), graph 1 fc rgb '#ffe0e0' fs solid noborder behind"
  rss_note="; shaded: ${factor}x the max rate"
else
  warm=$(awk -v d="$duration" 'BEGIN {w = d / 10; printf "%d", (w == int(w)) ? w : int(w) + 1}')
  marks="set arrow 1 from $warm, graph 0 to $warm, graph 1 nohead dashtype 3 lc rgb 'gray40'"
  rss_note="; dotted: end of the warm-up (${warm}s), against which the growth is measured"
fi
if [ -s "$csv" ]; then
  gnuplot <<EOF || echo "soak: gnuplot failed"
set terminal pngcairo size 1200,1500 font ",10"
set output "$png"
set datafile separator comma
set datafile columnheaders
set key below horizontal
set grid
$marks
set multiplot layout 4,1 title "$title (x: seconds since the first cast)"
set title "casts and statuses per second"
set ylabel "per second"
plot "$csv" using 1:11 with lines dashtype 2 lc rgb "gray" title "target", \
     "" using 1:2 with lines lw 1.5 lc rgb "blue" title "casts sent", \
     "" using 1:3 with lines lw 1.5 lc rgb "dark-green" title "statuses received", \
     "" using 1:12 with lines lc rgb "red" title "shed (ZeroMQ full)"
set title "minidns RSS (VmRSS)$rss_note"
set ylabel "MiB"
plot "$csv" using 1:(\$4 / 1024) with lines lw 1.5 lc rgb "purple" title "RSS"
set title "requests in flight"
set ylabel "requests"
plot "$csv" using 1:5 with lines lw 1.5 lc rgb "orange" title "minidns in flight", \
     "" using 1:13 with lines lc rgb "black" title "client: casts without a status", \
     "" using 1:6 with lines lc rgb "brown" title "minidns casts waiting"
set xlabel "seconds since the first cast"
set title "cast-to-status latency of the statuses received in each second (silent polls left out)"
set ylabel "ms"
set logscale y
plot "$csv" using 1:(\$8 / 1000) with lines lc rgb "dark-green" title "p50", \
     "" using 1:(\$9 / 1000) with lines lw 1.5 lc rgb "red" title "p99", \
     "" using 1:10 with steps lc rgb "gray" title "minidns timer lateness p99 (<= bucket)"
unset multiplot
EOF
fi

# -------------------------------------------------------------- summary
echo
echo "== $what summary"
echo "  replies: $(field "$result" ok) ok, $(field "$result" bad) wrong," \
  "$(field "$result" missing) missing, $(field "$result" duplicates) duplicate," \
  "$(field "$result" undecodable) undecodable (of $(field "$result" sent) sent," \
  "$(field "$result" shed) shed)"
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }
echo "  RSS: $(field "$result" rss_warm_kb) kB after the warm-up," \
  "$(field "$result" rss_end_kb) kB at the end of the load: growth" \
  "$(awk -v v="$(field "$result" rss_growth_pct)" 'BEGIN {printf "%+.1f", v}')%"
echo "  latency p99 (not silent): first quarter $(ms "$(field "$result" p99_first_us)") ms," \
  "last quarter $(ms "$(field "$result" p99_last_us)") ms"
echo "  csv: $csv"
[ -s "$png" ] && echo "  png: $png"
echo "  summary: $out/summary.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$rc" -ne 0 ] || [ -z "$result" ]; then
  echo "SOME CHECKS FAILED (timeline exit status $rc)"
  [ "$rc" -eq 1 ] && exit 1
  exit 2
fi
echo "all replies passed their checks"
