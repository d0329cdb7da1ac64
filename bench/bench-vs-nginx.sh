#!/usr/bin/env bash
# Capacity of rampart beside nginx on this machine, loopback only, measured twice: with the
# field's tools (wrk for HTTP/1.1, h2load for HTTP/2) and with `attack-sim bench` (full and
# resumed handshakes, HTTP/1.1 and HTTP/2 requests at their most and at half that in an open
# model). Both servers answer GET /healthz with {"status":"ok"} from the same certificate
# (rampart's dev leaf, ECDSA P-256); rampart runs bench/rampart-bench.toml (per-client limits
# lifted for loopback, request cap per connection lifted for h2load, which does not reconnect),
# nginx Debian's nginx.conf with one TLS server added (keepalive_requests lifted the same).
# Needs: nginx wrk nghttp2-client (apt-get install nginx wrk nghttp2-client).
# Usage: bench/bench-vs-nginx.sh [SECONDS]   (default 10 per measurement)
set -euo pipefail

SECS="${1:-10}"
NGINX_EXTRA="keepalive_requests 1000000;"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$ROOT"
cargo build --release -p rampart --bin rampart -p attack-sim --bin attack-sim
SIM="$ROOT/target/release/attack-sim"

start_rampart RAMPART_CONFIG="$ROOT/bench/rampart-bench.toml"
start_nginx 768

for server in "rampart $RAMPART_PORT" "nginx $NGINX_PORT"; do
  set -- $server
  echo "== $1 =="
  echo "-- wrk, HTTP/1.1, 32 connections, ${SECS}s"
  wrk -t2 -c32 -d"${SECS}s" --latency "https://localhost:$2/healthz" | grep -E "Requests/sec|50%|99%"
  echo "-- h2load, HTTP/2, 4 connections x 16 streams, ${SECS}s"
  h2load -D "$SECS" -c4 -m16 -t2 "https://localhost:$2/healthz" | grep -E "finished in|requests:|time for request"
  echo "-- attack-sim bench, ${SECS}s per measurement"
  "$SIM" bench --target "https://localhost:$2" --ca "$CA" --duration "$SECS" \
    --report-dir "$WORK/$1" | grep -v "^report:"
  cp "$WORK/$1/bench.json" "$ROOT/target/bench-$1.json"
done
echo "bench.json of each: target/bench-rampart.json target/bench-nginx.json"
