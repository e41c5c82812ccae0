# Shared by the benchmark scripts (sourced, not run): tools, the release build and a work
# directory whose processes are stopped on exit, readiness of a port, two echo backends
# on $B1 and $B2, and the median of a column.

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y $tool)"; exit 1; }
    done
}

# Builds tether and makes $WORK, whose processes ($PIDS) are stopped on exit.
prepare() {
    cargo build --release --quiet
    TETHER=target/release/tether
    WORK=$(mktemp -d)
    PIDS=()
    trap cleanup EXIT
}

cleanup() {
    # SIGINT stops tether at once (SIGTERM would wait for its grace period).
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench: nothing listens on port $1"; exit 1
}

start_backends() {
    "$TETHER" backend --listen "127.0.0.1:$B1" --name s1 --fast >/dev/null & PIDS+=($!)
    "$TETHER" backend --listen "127.0.0.1:$B2" --name s2 --fast >/dev/null & PIDS+=($!)
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v c="$1" 'NF { print $c }'; }
