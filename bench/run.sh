#!/usr/bin/env bash
# tether vs HAProxy 2.6 vs direct, on this machine, in one run.
#
# Two backends (tether's own echo server, `tether backend --fast`), HAProxy with
# `cookie SRV insert indirect nocache` and tether with the same setup, each with ONE worker
# thread and no access log. wrk (1 thread) measures, alternating targets round by round:
#   returning clients: every request carries a valid cookie (Cookie: SRV=s1)
#   new clients:       no cookie (balanced, a Set-Cookie inserted in every response)
#   direct:            wrk straight to a backend, the ceiling
# and prints requests/s and p50/p99 latency (medians over the rounds) with the ratios
# tether/HAProxy.
#
#   bash bench/run.sh                 # 3 rounds of 10 s per target and scenario
#   ROUNDS=5 DURATION=20 CONNECTIONS=50 bash bench/run.sh
#
# Needs: wrk and haproxy (apt-get install -y wrk haproxy), a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
BASE=${BASE_PORT:-38000}
B1=$((BASE + 1)); B2=$((BASE + 2)); HAP=$((BASE + 10)); TET=$((BASE + 20))

# shellcheck source=bench/lib.sh
source bench/lib.sh
need wrk haproxy
prepare
start_backends

cat >"$WORK/haproxy.cfg" <<CFG
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$HAP
    default_backend app
backend app
    balance roundrobin
    cookie SRV insert indirect nocache
    server s1 127.0.0.1:$B1 cookie s1
    server s2 127.0.0.1:$B2 cookie s2
CFG
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 & PIDS+=($!)

cat >"$WORK/tether.yaml" <<CFG
access_log: off
frontends:
  - name: fe
    listen: ["127.0.0.1:$TET"]
    backend: app
backends:
  - name: app
    balance: roundrobin
    cookie: { name: SRV, mode: insert, indirect: true, nocache: true }
    timeouts: { connect: 5s, server: 30s, queue: 5s }
    servers:
      - { name: s1, address: "127.0.0.1:$B1", cookie: s1 }
      - { name: s2, address: "127.0.0.1:$B2", cookie: s2 }
pingora:
  threads: 1
  work_stealing: false
  grace_period_seconds: 1
  graceful_shutdown_timeout_seconds: 1
CFG
"$TETHER" run -c "$WORK/tether.yaml" >"$WORK/tether.log" 2>&1 & PIDS+=($!)

for p in $B1 $B2 $HAP $TET; do wait_port "$p"; done

# One wrk run: prints "rps p50_ms p99_ms".
measure() {
    local port=$1; shift
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$port/")
    awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' <<<"$out"
}

# Warm-up: connections, caches, the first cookie.
for port in $B1 $HAP $TET; do wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$port/" >/dev/null; done

declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
    for scenario in returning new; do
        if [ "$scenario" = returning ]; then args=(-H "Cookie: SRV=s1"); else args=(); fi
        for target in direct haproxy tether; do
            case $target in direct) port=$B1 ;; haproxy) port=$HAP ;; tether) port=$TET ;; esac
            r=$(measure "$port" "${args[@]}")
            RESULTS[$scenario.$target]+="$r"$'\n'
            echo "round $round $scenario $target: $r (rps p50_ms p99_ms)" >&2
        done
    done
done


echo
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(haproxy -v | head -n1 | cut -d' ' -f1-3); tether $($TETHER --version | cut -d' ' -f2)"
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS alternating rounds, medians; proxies with 1 worker thread"
echo
printf "| %-18s | %-8s | %10s | %8s | %8s |\n" scenario target "req/s" "p50 ms" "p99 ms"
printf "|%s|%s|%s|%s|%s|\n" "--------------------" "----------" "------------" "----------" "----------"
for scenario in returning new; do
    for target in direct haproxy tether; do
        data=${RESULTS[$scenario.$target]}
        rps=$(col 1 <<<"$data" | median); p50=$(col 2 <<<"$data" | median); p99=$(col 3 <<<"$data" | median)
        declare "${scenario}_${target}_rps=$rps" "${scenario}_${target}_p50=$p50" "${scenario}_${target}_p99=$p99"
        label=$([ "$scenario" = returning ] && echo "returning (cookie)" || echo "new (no cookie)")
        printf "| %-18s | %-8s | %10.0f | %8.3f | %8.3f |\n" "$label" "$target" "$rps" "$p50" "$p99"
    done
done
echo
for scenario in returning new; do
    eval "t=\$${scenario}_tether_rps h=\$${scenario}_haproxy_rps tp=\$${scenario}_tether_p99 hp=\$${scenario}_haproxy_p99"
    awk -v s="$scenario" -v t="$t" -v h="$h" -v tp="$tp" -v hp="$hp" \
        'BEGIN { printf "%-9s tether/HAProxy: throughput %.2fx, p99 %.2fx\n", s, t / h, tp / hp }'
done
