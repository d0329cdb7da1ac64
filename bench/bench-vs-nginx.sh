#!/usr/bin/env bash
# Capacity and memory of rampart beside nginx on this machine, loopback only, every row of
# issue 18's table in one run, then `attack-sim bench` on both. The rates are measured in
# ROUNDS alternating rounds (rampart, nginx, the floor, then again), and summed up as each
# server's mean with the ratio: on this two-core machine, with the load tool on the same
# cores, one run's figures move by 10-20 % from one minute to the next, which a single run of
# each server in turn would take for a difference between them.
#   - HTTP/1.1 keep-alive requests/s: wrk -t1 -c64, with each server's and wrk's CPU per
#     request and the CPU left idle;
#   - HTTP/2 requests/s: h2load, 16 connections x 10 streams;
#   - full TLS handshakes/s: fresh h2load processes back to back, 256 new clients each (one
#     request each; a new process has no session to resume);
#   - resident memory per idle TLS connection, HTTP/1.1 and HTTP/2: 5,000 held from 500
#     addresses (the `dos_measure idle` example);
#   - the floor: the same wrk run against examples/bare_https.rs, hyper and rustls on tokio
#     with nothing of rampart's (what rampart's own work costs is the difference);
#   - `attack-sim bench`: full and resumed handshakes, HTTP/1.1 and HTTP/2 requests at their
#     most and at half that in an open model;
#   - with each tool's rate, the server's CPU per handshake or request (`/proc/PID/stat`): what
#     the work costs the server, whatever the client's own cost and the way it counts.
# Both servers answer GET /healthz with {"status":"ok"} from the same certificate (rampart's
# dev leaf, ECDSA P-256); rampart runs bench/rampart-bench.toml (per-client limits lifted for
# loopback, request cap per connection lifted for h2load, which does not reconnect), nginx
# Debian's nginx.conf with one TLS server added (keepalive_requests lifted the same, access
# log off).
# Needs: nginx wrk nghttp2-client (apt-get install nginx wrk nghttp2-client).
# Usage: bench/bench-vs-nginx.sh [SECONDS [ROUNDS]]   (defaults: 10 s per measurement, 3 rounds)
set -euo pipefail

SECS="${1:-10}"
ROUNDS="${2:-3}"
NGINX_EXTRA="keepalive_requests 1000000; access_log off;"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$ROOT"
cargo build --release -p rampart --bin rampart -p attack-sim --bin attack-sim
cargo build --release -p attack-sim --example dos_measure
cargo build --release -p rampart --example bare_https
SIM="$ROOT/target/release/attack-sim"
MEASURE="$ROOT/target/release/examples/dos_measure"
BARE="$ROOT/target/release/examples/bare_https"
BARE_PORT=17443

# CPU time (clock ticks) of the processes $@, user and system.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}

# Idle time of all CPUs (clock ticks), from /proc/stat.
idle_ticks() {
  awk '/^cpu / {print $5}' /proc/stat
}

# Full handshakes/s on port $1 with the server's CPU per handshake (its processes: the rest of
# the arguments): h2load processes of 256 clients, one request each, for SECS.
fresh_handshakes() {
  local port=$1 done_=0 t0 t1 n c0 c1
  shift
  c0=$(cpu_ticks "$@")
  t0=$(date +%s%N)
  t1=$((t0 + SECS * 1000000000))
  while [ "$(date +%s%N)" -lt "$t1" ]; do
    n=$(h2load -n256 -c256 -t1 "https://localhost:$port/healthz" |
      sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
    done_=$((done_ + ${n:-0}))
  done
  c1=$(cpu_ticks "$@")
  echo "$done_ $(( ($(date +%s%N) - t0) / 1000000 )) $((c1 - c0)) $(getconf CLK_TCK)" |
    awk '{printf "%d handshakes in %.1f s: %.0f /s, server CPU per handshake (and its request): %.0f us\n",
      $1, $2 / 1000, $1 * 1000 / $2, $1 ? $3 / $4 * 1e6 / $1 : 0}' | tee "$WORK/hs.out"
  awk '{print $6}' "$WORK/hs.out" >"$WORK/rate"
}

# HTTP/2 requests/s on port $1: h2load, 16 connections x 10 streams, for SECS.
h2_row() {
  h2load -D "$SECS" -c16 -m10 -t1 "https://localhost:$1/healthz" | grep -E "finished in|requests:" |
    tee "$WORK/h2.out"
  awk '/finished in/ {print $4}' "$WORK/h2.out" >"$WORK/rate"
}

# The processes of server $1 (rampart, nginx or floor), whose CPU is counted.
pids_of() {
  case $1 in
    rampart) echo "$RAMPART_PID" ;;
    nginx) nginx_pids ;;
    floor) echo "$BARE_PID" ;;
  esac
}

# Appends the rate the last row wrote to the figures of measure $1 and server $2.
record() {
  echo "$1 $2 $(cat "$WORK/rate")" >>"$WORK/rates"
}

# HTTP/1.1 keep-alive requests/s on port $1 (wrk -t1 -c64 for SECS), with the server's CPU per
# request (its processes: the rest of the arguments), wrk's, and the CPU left idle.
wrk_row() {
  local port=$1 c0 c1 i0 i1 out n
  shift
  c0=$(cpu_ticks "$@")
  i0=$(idle_ticks)
  TIMEFORMAT='%U %S'
  { time wrk -t1 -c64 -d"${SECS}s" --latency "https://localhost:$port/healthz" >"$WORK/wrk.out"; } 2>"$WORK/wrk.cpu"
  i1=$(idle_ticks)
  c1=$(cpu_ticks "$@")
  out=$(cat "$WORK/wrk.out")
  echo "$out" | grep -E "Requests/sec|^ +(50|99)%"
  echo "$out" | awk '/Requests\/sec/ {print $2}' >"$WORK/rate"
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "server CPU per request: $(( (c1 - c0) * 1000000 / $(getconf CLK_TCK) / n )) us"
  awk -v n="$n" '{printf "wrk CPU per request: %.1f us\n", ($1 + $2) * 1e6 / n}' "$WORK/wrk.cpu"
  # Requests waiting while a core idles: what separated rampart from nginx here (SECURITY.md,
  # "Where the HTTP/1.1 gap is").
  echo "idle CPU during the run: $(( (i1 - i0) * 100 / $(getconf CLK_TCK) / SECS )) % of one CPU ($(nproc) CPUs)"
}

start_rampart RAMPART_CONFIG="$ROOT/bench/rampart-bench.toml"
start_nginx 768
"$BARE" "$BARE_PORT" "$WORK/certs/dev/server.pem" "$WORK/certs/dev/server.key" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/bare.log" 2>/dev/null && break; sleep 0.1; done
: >"$WORK/rates"

# The floor is hyper and rustls on tokio with nothing of rampart's (examples/bare_https.rs):
# HTTP/1.1 only; what rampart's own work costs is the difference.
for round in $(seq "$ROUNDS"); do
  for server in "rampart $RAMPART_PORT" "nginx $NGINX_PORT" "floor $BARE_PORT"; do
    set -- $server
    name=$1 port=$2
    pids=$(pids_of "$name")
    echo "== round $round of $ROUNDS: $name =="
    echo "-- wrk, HTTP/1.1, 1 thread, 64 connections, ${SECS}s"
    # shellcheck disable=SC2086
    wrk_row "$port" $pids
    record http1 "$name"
    [ "$name" = floor ] && continue
    echo "-- h2load, HTTP/2, 16 connections x 10 streams, ${SECS}s"
    h2_row "$port"
    record http2 "$name"
    echo "-- full handshakes, fresh h2load processes of 256 clients, ${SECS}s"
    # shellcheck disable=SC2086
    fresh_handshakes "$port" $pids
    record handshakes "$name"
  done
done
kill "$BARE_PID"
wait "$BARE_PID" 2>/dev/null || true

echo "== rates over $ROUNDS alternating rounds: each round's, the mean, and the mean against nginx's =="
awk '
  { key = $1 " " $2; sum[key] += $3; n[key]++; each[key] = each[key] sprintf(" %.0f", $3)
    if (!($1 in seen)) { seen[$1] = 1; order[++m] = $1 } }
  END {
    split("rampart nginx floor", servers, " ")
    for (i = 1; i <= m; i++) {
      k = order[i]; base = sum[k " nginx"] / n[k " nginx"]
      for (j = 1; j <= 3; j++) {
        key = k " " servers[j]; if (!(key in n)) continue
        mean = sum[key] / n[key]
        printf "%-10s %-8s mean %9.0f /s  %.2fx nginx  (rounds:%s)\n", k, servers[j], mean, mean / base, each[key]
      }
    }
  }' "$WORK/rates"

for server in "rampart $RAMPART_PORT" "nginx $NGINX_PORT"; do
  set -- $server
  name=$1 port=$2
  pids=$(pids_of "$name")
  echo "== attack-sim bench, $name, ${SECS}s per measurement =="
  # shellcheck disable=SC2046,SC2086
  "$SIM" bench --target "https://localhost:$port" --ca "$CA" --duration "$SECS" \
    --report-dir "$WORK/$name" $(printf -- '--server-pid %s ' $pids) | grep -v "^report:"
  cp "$WORK/$name/bench.json" "$ROOT/target/bench-$name.json"
done

echo "== memory per idle TLS connection (5,000 held from 500 addresses) =="
for proto in "" "--h2"; do
  # Idle limits raised so the measurement window (about 40 s) does not close them.
  start_rampart RAMPART_CONFIG="$ROOT/bench/rampart-bench.toml" \
    RAMPART_HTTP__HEADER_READ_TIMEOUT=120s RAMPART_HTTP__IDLE_TIMEOUT=120s
  echo "-- rampart ${proto:-(HTTP/1.1)}"
  "$MEASURE" idle $proto --target "127.0.0.1:$RAMPART_PORT" --ca "$CA" --pid "$RAMPART_PID"
  start_nginx 8192
  echo "-- nginx ${proto:-(HTTP/1.1)}"
  # shellcheck disable=SC2046
  "$MEASURE" idle $proto --target "127.0.0.1:$NGINX_PORT" --ca "$CA" --pid $(nginx_pids)
done
echo "bench.json of each: target/bench-rampart.json target/bench-nginx.json"
