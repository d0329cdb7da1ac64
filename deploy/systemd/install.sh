#!/usr/bin/env bash
# Installs rampart as a socket-activated, hardened systemd service:
#   deploy/systemd/install.sh [--postgresql] [BINARY]
# BINARY defaults to target/release/rampart. --postgresql adds the drop-in for a PostgreSQL
# store (edit its URL and IPAddressAllow=, and put the password in /etc/rampart/pgpass).
# DESTDIR=DIR installs under DIR instead of / (the tests install into a scratch root).
# An existing /etc/rampart/rampart.toml is kept.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
postgresql=false
if [[ ${1:-} == --postgresql ]]; then
    postgresql=true
    shift
fi
bin=${1:-$here/../../target/release/rampart}
root=${DESTDIR:-}
units=$root/etc/systemd/system

if [[ ! -x $bin ]]; then
    echo "install.sh: no rampart binary at $bin (cargo build --release --locked -p rampart)" >&2
    exit 2
fi
install -D -m 0755 "$bin" "$root/usr/local/bin/rampart"
install -D -m 0644 "$here/rampart.service" "$units/rampart.service"
install -D -m 0644 "$here/rampart.socket" "$units/rampart.socket"
if $postgresql; then
    install -D -m 0644 "$here/rampart.service.d/postgresql.conf" \
        "$units/rampart.service.d/postgresql.conf"
fi
if [[ ! -e $root/etc/rampart/rampart.toml ]]; then
    install -D -m 0644 "$here/rampart.toml" "$root/etc/rampart/rampart.toml"
fi
install -d -m 0755 "$root/etc/rampart/tls"

cat <<NEXT
installed under ${root:-/}. Next:
  put the certificate chain and key at /etc/rampart/tls/fullchain.pem and privkey.pem
  systemctl daemon-reload && systemctl enable --now rampart.socket
  systemd-analyze security rampart.service && curl https://YOUR-HOST/healthz
NEXT
