# Shared by the bench scripts (sourced, not run): rampart and nginx side by side on loopback,
# serving GET /healthz with the same certificate (the leaf of rampart's dev CA, ECDSA P-256),
# from a temporary folder that is removed on exit with both servers.
# Sets ROOT WORK RAMPART_PORT NGINX_PORT CA RAMPART_PID; defines start_rampart, stop_rampart,
# start_nginx, nginx_pids. NGINX_EXTRA (set before start_nginx) adds directives to its server,
# NGINX_HTTP_EXTRA to the http block around it (limit_req_zone and the like).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d /tmp/rampart-bench-XXXXXX)"
RAMPART_PORT=18443
NGINX_PORT=19443
RAMPART_PID=""
NGINX_CONF=""
NGINX_EXTRA="${NGINX_EXTRA:-}"
NGINX_HTTP_EXTRA="${NGINX_HTTP_EXTRA:-}"
# How nginx answers /healthz: `return` is fastest, but it runs before limit_req and limit_conn
# (rewrite phase), so a configuration that limits must serve a file instead (NGINX_HEALTHZ=file).
NGINX_HEALTHZ="${NGINX_HEALTHZ:-return}"
CA="$WORK/certs/dev/ca.pem"

cleanup() {
  [ -n "$RAMPART_PID" ] && kill "$RAMPART_PID" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

stop_rampart() {
  [ -n "$RAMPART_PID" ] && { kill "$RAMPART_PID"; wait "$RAMPART_PID" 2>/dev/null || true; }
  RAMPART_PID=""
}

# Starts target/release/rampart on RAMPART_PORT in WORK (where it creates its dev certificates
# on first start); arguments are RAMPART_* settings (RAMPART_CONFIG=FILE for a config file).
start_rampart() {
  stop_rampart
  (cd "$WORK" && exec env RAMPART_LISTEN="127.0.0.1:$RAMPART_PORT" RAMPART_LOG__LEVEL=warn "$@" \
    "$ROOT/target/release/rampart" serve >"$WORK/rampart.log" 2>&1) &
  RAMPART_PID=$!
  for _ in $(seq 300); do grep -q listening "$WORK/rampart.log" 2>/dev/null && return; sleep 0.1; done
  echo "rampart did not start:"; cat "$WORK/rampart.log"; exit 1
}

# Starts nginx with Debian's nginx.conf, its worker_connections set to $1 (768 is Debian's),
# and one TLS server on NGINX_PORT with rampart's certificate (start rampart first).
start_nginx() {
  [ -f "$WORK/nginx.pid" ] && { kill "$(cat "$WORK/nginx.pid")"; sleep 1; }
  cat >"$WORK/site.conf" <<SITE
$NGINX_HTTP_EXTRA
server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    server_name localhost;
    ssl_certificate $WORK/certs/dev/server.pem;
    ssl_certificate_key $WORK/certs/dev/server.key;
    $NGINX_EXTRA
    $(if [ "$NGINX_HEALTHZ" = file ]; then
        printf '{"status":"ok"}' >"$WORK/healthz.json"
        chmod 711 "$WORK"   # nginx's workers (www-data) must reach the file, not list the folder
        echo "location = /healthz { default_type application/json; alias $WORK/healthz.json; }"
      else
        echo "location /healthz { default_type application/json; return 200 '{\"status\":\"ok\"}'; }"
      fi)
}
SITE
  NGINX_CONF="$WORK/nginx-$1.conf"
  sed -e "s#^pid .*#pid $WORK/nginx.pid;#" -e "s#/var/log/nginx/#$WORK/#" \
      -e "s#include /etc/nginx/sites-enabled/\*;#include $WORK/site.conf;#" \
      -e "s#worker_connections 768;#worker_connections $1;#" \
      /etc/nginx/nginx.conf >"$NGINX_CONF"
  if [ "$1" != 768 ]; then sed -i "s#^pid #worker_rlimit_nofile 20000;\npid #" "$NGINX_CONF"; fi
  nginx -c "$NGINX_CONF"
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && return; sleep 0.1; done
  echo "nginx did not start:"; cat "$WORK/error.log"; exit 1
}

nginx_pids() { pgrep -f "nginx: .*$NGINX_CONF|nginx: worker" | tr '\n' ' '; }
