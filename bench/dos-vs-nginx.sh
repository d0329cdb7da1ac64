#!/usr/bin/env bash
# Runs the SECURITY.md connection measurements against rampart and, beside it, nginx with
# Debian's configuration, on this machine and on loopback only:
#   1. resident memory per idle established TLS keep-alive connection (5,000 connections,
#      HTTP/1.1 and HTTP/2);
#   2. legitimate success rate during a slowloris of 5,000 connections from 250 addresses.
# nginx gets the same certificate (issued by rampart's dev CA). For the memory test only, its
# worker_connections is raised to 8192 so that it can hold 5,000 connections at all; the
# slowloris test uses Debian's nginx.conf unchanged (768 worker connections per worker).
# Needs: nginx (apt-get install nginx), root or CAP_NET_BIND_SERVICE not required (high ports).
# Usage: bench/dos-vs-nginx.sh [SLOWLORIS_SECONDS]   (default 60)
set -euo pipefail

DURATION="${1:-60}"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$ROOT"
cargo build --release -p rampart --bin rampart
cargo build --release -p attack-sim --example dos_measure
MEASURE="$ROOT/target/release/examples/dos_measure"

# Certificates: rampart creates its dev CA and leaf on first start; nginx serves the same leaf.
start_rampart

echo "== memory per idle TLS connection (5,000 held) =="
for proto in "" "--h2"; do
  # Idle limits raised so the measurement window (about 40 s) does not close them.
  start_rampart RAMPART_HTTP__HEADER_READ_TIMEOUT=120s RAMPART_HTTP__IDLE_TIMEOUT=120s
  echo "-- rampart ${proto:-(HTTP/1.1)}"
  "$MEASURE" idle $proto --target "127.0.0.1:$RAMPART_PORT" --ca "$CA" --pid "$RAMPART_PID"
  start_nginx 8192
  echo "-- nginx ${proto:-(HTTP/1.1)}"
  # shellcheck disable=SC2046
  "$MEASURE" idle $proto --target "127.0.0.1:$NGINX_PORT" --ca "$CA" --pid $(nginx_pids)
done

echo "== slowloris: 5,000 connections from 250 addresses, ${DURATION}s =="
start_rampart
echo "-- rampart (defaults)"
"$MEASURE" slowloris --target "127.0.0.1:$RAMPART_PORT" --ca "$CA" --pid "$RAMPART_PID" \
  --duration "$DURATION"
stop_rampart
start_nginx 768
echo "-- nginx (Debian defaults)"
# shellcheck disable=SC2046
"$MEASURE" slowloris --target "127.0.0.1:$NGINX_PORT" --ca "$CA" --pid $(nginx_pids) \
  --duration "$DURATION"
