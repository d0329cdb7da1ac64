#!/usr/bin/env bash
# The floods of the stress check (SECURITY.md, "Stress") against rampart on its defaults and,
# beside it, nginx with a hardened configuration (the same per-client budgets as rampart:
# limit_req 50 r/s burst 100 and limit_conn 16 per address, 429 for both; 10 s header, body
# and send timeouts; 16 KiB bodies; 8 KiB header buffers), both serving GET /healthz with the
# same certificate, on loopback only. For each run it prints attack-sim's verdict line and
# how the two cores were split: the target's CPU and the attacker's (attack-sim's own), in
# percent of one core over the run.
#
# Usage: bench/flood-vs-nginx.sh [SCENARIO ...]   (default: request-flood oversize)
#        ONLY=rampart or ONLY=nginx runs one side.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
[ "$#" -eq 0 ] && set -- request-flood oversize

cd "$ROOT"
cargo build --release -p rampart --bin rampart -p attack-sim --bin attack-sim
SIM="$ROOT/target/release/attack-sim"
TICKS="$(getconf CLK_TCK)"

# Busy clock ticks of the whole machine (everything but idle and iowait: softirq included,
# where loopback TCP spends much of its time).
machine_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# utime + stime of the given pids, in clock ticks.
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}

# run NAME URL PIDS...: one attack-sim run per scenario against URL, with the CPU split.
run() {
  local name="$1" url="$2" scenario before start elapsed after sim_cpu busy_before busy_after
  shift 2
  for scenario in "${SCENARIOS[@]}"; do
    before="$(cpu_ticks "$@")"
    busy_before="$(machine_busy)"
    start="$(date +%s.%N)"
    /usr/bin/time -f "%U %S" -o "$WORK/sim-time" \
      "$SIM" run "$scenario" --target "$url" --ca "$CA" --probe "GET /healthz 200" \
      --intensity stress --report-dir "$WORK/reports-$name-$scenario" 2>&1 |
      grep -E "^$scenario " || true
    elapsed="$(echo "$(date +%s.%N) - $start" | bc)"
    after="$(cpu_ticks "$@")"
    busy_after="$(machine_busy)"
    # The last line: GNU time puts "Command exited with non-zero status" before it.
    sim_cpu="$(tail -n 1 "$WORK/sim-time" | awk '{print $1 + $2}')"
    printf '   %s %s over %.0f s, in %% of one core: target %.0f, attacker %.0f, whole machine %.0f of %d\n' \
      "$name" "$scenario" "$elapsed" \
      "$(echo "($after - $before) / $TICKS / $elapsed * 100" | bc -l)" \
      "$(echo "$sim_cpu / $elapsed * 100" | bc -l)" \
      "$(echo "($busy_after - $busy_before) / $TICKS / $elapsed * 100" | bc -l)" "$(($(nproc) * 100))"
  done
}
SCENARIOS=("$@")

# rampart first in any case: nginx serves the certificate rampart creates.
start_rampart
if [ "${ONLY:-}" != nginx ]; then
  echo "== rampart (defaults) =="
  run rampart "https://localhost:$RAMPART_PORT" "$RAMPART_PID"
fi
[ "${ONLY:-}" = rampart ] && exit 0
stop_rampart

echo "== nginx (hardened) =="
NGINX_HTTP_EXTRA='limit_req_zone $binary_remote_addr zone=perip:10m rate=50r/s;
limit_conn_zone $binary_remote_addr zone=peraddr:10m;'
NGINX_EXTRA='limit_req zone=perip burst=100 nodelay; limit_req_status 429;
    limit_conn peraddr 16; limit_conn_status 429;
    client_header_timeout 10s; client_body_timeout 10s; send_timeout 10s;
    keepalive_timeout 30s; keepalive_requests 1000;
    client_max_body_size 16k; large_client_header_buffers 4 8k;
    http2_max_concurrent_streams 100;'
NGINX_HEALTHZ=file
start_nginx 8192
# shellcheck disable=SC2046
run nginx "https://localhost:$NGINX_PORT" $(nginx_pids)
