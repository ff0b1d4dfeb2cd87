# hubgate benches: what bench/sidecar.sh and bench/webhook.sh share.
# Sourced after BENCH_NAME (the log prefix), NOISE_MAX and MAX_RETRIES are
# set; meta() writes to $T/meta once T is made.

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# the noise settings, then each named variable: a positive integer
check_numbers() {
    local v
    [[ $NOISE_MAX =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_NOISE_MAX must be a number"
    [[ $MAX_RETRIES =~ ^[0-9]+$ ]] || die "BENCH_MAX_RETRIES must be a number"
    for v in "$@"; do
        [[ ${!v} =~ ^[0-9]+$ ]] && (( ${!v} > 0 )) \
            || die "$v must be a positive integer (got '${!v}')"
    done
}

# as in run.sh: nginx's worker on the last CPU, the load generator
# ($1 names it) on the first; hubgated and PostgreSQL go where the
# scheduler puts them.  Sets NCPU, SRV_CPU, AFFINITY, ON_CLI, PINNING.
pin_cpus() {
    NCPU=$(nproc)
    if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
        SRV_CPU=$((NCPU - 1))
        AFFINITY="worker_cpu_affinity 1$(printf '0%.0s' $(seq 1 $SRV_CPU));"
        ON_CLI=(taskset -c 0)
        PINNING="nginx worker on CPU $SRV_CPU, $1 on CPU 0, hubgated and PostgreSQL unpinned"
    else
        AFFINITY=
        ON_CLI=()
        PINNING=none
    fi
}

stop_pid() {   # pid signal
    local p=$1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
    kill "-$2" "$p" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

CLK_TCK=$(getconf CLK_TCK)
noisy() { awk -v n="$1" -v m="$NOISE_MAX" 'BEGIN { exit !(n > m) }'; }
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $9; exit }' /proc/stat; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo -1; }
kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<< "$2"; }

# wait (at most $1 s) for a second in which the machine used less than
# NOISE_MAX of a core
wait_quiet() {
    local t0=$SECONDS a b used="?"
    while [ $((SECONDS - t0)) -lt "$1" ]; do
        a=$(sys_ticks); sleep 1; b=$(sys_ticks)
        used=$(awk -v a="$a" -v b="$b" -v hz="$CLK_TCK" \
                   'BEGIN { printf "%.3f", (b - a) / hz }')
        noisy "$used" || return 0
    done
    log "machine still busy after ${1}s (last second: $used of a core)"
    return 1
}

meta() { echo "$1=$2" >> "$T/meta"; }
