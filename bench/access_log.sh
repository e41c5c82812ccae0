#!/usr/bin/env bash
# What the access log costs: the same tether configuration twice, once with
# `access_log: off` and once logging every request (text format, to stdout redirected to a
# file, the default target), measured in alternating rounds of the same run.
#
# Reported per target: requests/s (wrk -t1), and CPU per request: the process's
# utime+stime over the round (from /proc/PID/stat, every thread included, so the log
# writer thread counts) divided by the requests wrk completed.
#
#   bash bench/access_log.sh                  # 3 rounds of 10 s per target
#   ROUNDS=5 DURATION=20 bash bench/access_log.sh
#
# Needs: wrk (apt-get install -y wrk), a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
BASE=${BASE_PORT:-38100}
B1=$((BASE + 1)); B2=$((BASE + 2)); OFF=$((BASE + 10)); ON=$((BASE + 20))

# shellcheck source=bench/lib.sh
source bench/lib.sh
need wrk
prepare
start_backends

config() { # port access_log
    cat <<CFG
access_log: $2
frontends:
  - name: fe
    listen: ["127.0.0.1:$1"]
    backend: app
backends:
  - name: app
    balance: roundrobin
    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }
    servers:
      - { name: s1, address: "127.0.0.1:$B1", cookie: s1 }
      - { name: s2, address: "127.0.0.1:$B2", cookie: s2 }
pingora:
  threads: 1
  work_stealing: false
  grace_period_seconds: 1
  graceful_shutdown_timeout_seconds: 1
CFG
}
config "$OFF" off >"$WORK/off.yaml"
config "$ON" stdout >"$WORK/on.yaml"
"$TETHER" run -c "$WORK/off.yaml" >"$WORK/off.log" 2>&1 & OFF_PID=$!; PIDS+=($OFF_PID)
"$TETHER" run -c "$WORK/on.yaml" >"$WORK/on.log" 2>"$WORK/on.err" & ON_PID=$!; PIDS+=($ON_PID)
for p in $B1 $B2 $OFF $ON; do wait_port "$p"; done

TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One round against one target: prints "rps cpu_us_per_request".
measure() {
    local port=$1 pid=$2 before after out
    before=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Cookie: SRV=s1" "http://127.0.0.1:$port/")
    after=$(cpu_ticks "$pid")
    awk -v b="$before" -v a="$after" -v tick="$TICK" '
        /requests in/ { n = $1 }
        /Requests\/sec/ { rps = $2 }
        END { printf "%.0f %.2f\n", rps, (a - b) * 1e6 / tick / n }' <<<"$out"
}

for port in $OFF $ON; do wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/" >/dev/null; done

declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
    for target in off on; do
        if [ "$target" = off ]; then r=$(measure "$OFF" "$OFF_PID"); else r=$(measure "$ON" "$ON_PID"); fi
        RESULTS[$target]+="$r"$'\n'
        echo "round $round log $target: $r (rps cpu_us_per_request)" >&2
    done
done


echo
echo "machine: $(nproc) CPUs; tether $($TETHER --version | cut -d' ' -f2); wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS alternating rounds, medians; 1 worker thread"
echo "log lines written: $(wc -l <"$WORK/on.log")"
echo
printf "| %-12s | %10s | %14s |\n" "access log" "req/s" "CPU µs/request"
printf "|%s|%s|%s|\n" "--------------" "------------" "----------------"
for target in off on; do
    data=${RESULTS[$target]}
    rps=$(col 1 <<<"$data" | median); cpu=$(col 2 <<<"$data" | median)
    declare "${target}_rps=$rps" "${target}_cpu=$cpu"
    printf "| %-12s | %10.0f | %14.2f |\n" "$target" "$rps" "$cpu"
done
echo
awk -v on="$on_cpu" -v off="$off_cpu" 'BEGIN { printf "logging every request costs %+.1f%% CPU per request\n", (on / off - 1) * 100 }'
