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
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/rampart-dos-XXXXXX)"
RAMPART_PORT=18443
NGINX_PORT=19443
RAMPART_PID=""
NGINX_CONF=""

cleanup() {
  [ -n "$RAMPART_PID" ] && kill "$RAMPART_PID" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
cargo build --release -p rampart --bin rampart
cargo build --release -p attack-sim --example dos_measure
BIN="$ROOT/target/release/rampart"
MEASURE="$ROOT/target/release/examples/dos_measure"

start_rampart() { # extra RAMPART_* settings as arguments
  [ -n "$RAMPART_PID" ] && { kill "$RAMPART_PID"; wait "$RAMPART_PID" 2>/dev/null || true; }
  (cd "$WORK" && exec env RAMPART_LISTEN="127.0.0.1:$RAMPART_PORT" RAMPART_LOG__LEVEL=warn "$@" \
    "$BIN" serve >"$WORK/rampart.log" 2>&1) &
  RAMPART_PID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/rampart.log" 2>/dev/null && return; sleep 0.1; done
  echo "rampart did not start:"; cat "$WORK/rampart.log"; exit 1
}

start_nginx() { # worker_connections
  [ -f "$WORK/nginx.pid" ] && { kill "$(cat "$WORK/nginx.pid")"; sleep 1; }
  NGINX_CONF="$WORK/nginx-$1.conf"
  sed -e "s#^pid .*#pid $WORK/nginx.pid;#" -e "s#/var/log/nginx/#$WORK/#" \
      -e "s#include /etc/nginx/sites-enabled/\*;#include $WORK/site.conf;#" \
      -e "s#worker_connections 768;#worker_connections $1;#" \
      /etc/nginx/nginx.conf >"$NGINX_CONF"
  if [ "$1" != 768 ]; then sed -i "s#^pid #worker_rlimit_nofile 20000;\npid #" "$NGINX_CONF"; fi
  nginx -c "$NGINX_CONF"
  for _ in $(seq 50); do [ -s "$WORK/nginx.pid" ] && break; sleep 0.1; done
  sleep 0.5
}

nginx_pids() { pgrep -f "nginx: .*$NGINX_CONF|nginx: worker" | tr '\n' ' '; }

# Certificates: rampart creates its dev CA and leaf on first start; nginx serves the same leaf.
start_rampart
cat >"$WORK/site.conf" <<EOF
server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    server_name localhost;
    ssl_certificate $WORK/certs/dev/server.pem;
    ssl_certificate_key $WORK/certs/dev/server.key;
    location /healthz { default_type application/json; return 200 '{"status":"ok"}'; }
}
EOF
CA="$WORK/certs/dev/ca.pem"

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
kill "$RAMPART_PID"; wait "$RAMPART_PID" 2>/dev/null || true; RAMPART_PID=""
start_nginx 768
echo "-- nginx (Debian defaults)"
# shellcheck disable=SC2046
"$MEASURE" slowloris --target "127.0.0.1:$NGINX_PORT" --ca "$CA" --pid $(nginx_pids) \
  --duration "$DURATION"
