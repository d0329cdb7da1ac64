#!/usr/bin/env bash
# Two rampart instances on one PostgreSQL behind HAProxy, on loopback, from
# deploy/haproxy/haproxy.cfg; then shows, with curl, that per-client limits count the original
# client addresses HAProxy relays (PROXY protocol v2) and that the service survives killing an
# instance. Everything it starts is stopped on exit.
#
# Usage: deploy/scale-out.sh 'postgres://USER:PASSWORD@127.0.0.1:5432/DB'
# Needs: haproxy, curl, a built target/release/rampart (built if missing; SCALE_OUT_BIN names
# another binary). Uses ports
# 127.0.0.1:8443 (HAProxy), 8444 and 8445 (the instances).
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:?usage: deploy/scale-out.sh POSTGRES_URL}
command -v haproxy >/dev/null || { echo "needs haproxy (apt-get install haproxy)" >&2; exit 2; }
bin=${SCALE_OUT_BIN:-target/release/rampart}
[ -x "$bin" ] || cargo build --release -p rampart --bin rampart

work=$(mktemp -d)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP_LOGS:-}" ] && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Both instances: same database and certificates; PROXY headers only from HAProxy (127.0.0.1),
# whose own health checks are exempt from rate limits; a small per-client budget to show.
for port in 8444 8445; do
  cat >"$work/$port.toml" <<TOML
listen = "127.0.0.1:$port"
[database]
url = "$db"
[tls]
dev_dir = "$work/certs"
[limits]
proxy_protocol = true
trusted_proxies = ["127.0.0.1/32"]
exempt = ["127.0.0.1/32"]
requests_per_second_per_client = 1
request_burst_per_client = 4
TOML
done
ready() { # $1: URL; waits up to 10 s for an answer
  for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$work/certs/ca.pem" "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1; logs:" >&2
  tail -n 5 "$work"/*.log >&2
  return 1
}
"$bin" serve --config "$work/8444.toml" >"$work/a.log" 2>&1 & pids+=($!); a=$!
for _ in $(seq 100); do [ -f "$work/certs/ca.pem" ] && break; sleep 0.1; done
"$bin" serve --config "$work/8445.toml" >"$work/b.log" 2>&1 & pids+=($!)
LB_BIND=127.0.0.1:8443 LB_INSTANCE_A=127.0.0.1:8444 \
  LB_INSTANCE_B=127.0.0.1:8445 LB_CA_FILE="$work/certs/ca.pem" \
  haproxy -db -f deploy/haproxy/haproxy.cfg >"$work/haproxy.log" 2>&1 & pids+=($!)
ready https://127.0.0.1:8443/healthz

status_from() { # $1: source address; prints the status of GET /healthz through HAProxy
  curl -s -o /dev/null -w '%{http_code}' --interface "$1" --cacert "$work/certs/ca.pem" \
    https://127.0.0.1:8443/healthz
}
echo "one client, 127.9.1.1, eight requests (burst 4, then 1/s):"
for _ in $(seq 8); do printf ' %s' "$(status_from 127.9.1.1)"; done; echo
echo "other clients meanwhile:"
for m in 2 3 4; do printf ' 127.9.1.%s: %s' "$m" "$(status_from 127.9.1.$m)"; done; echo

echo "killing instance A (127.0.0.1:8444); new clients through HAProxy:"
kill -9 "$a"
ok=0
for m in $(seq 1 20); do [ "$(status_from 127.9.3.$m)" = 200 ] && ok=$((ok + 1)); done
echo " $ok of 20 answered 200"
[ "$ok" -eq 20 ]
