#!/usr/bin/env bash
# The standing stress check (SECURITY.md, "Stress"): every DoS scenario at attack-sim's stress
# preset (60 s of attack each, 5,000 connections from 256 source addresses, 1,024 login
# flooders, 256 HTTP/2 abusers) against a release rampart that attack-sim spawns on its
# defaults, on loopback only. Exits 0 only when every scenario held; otherwise attack-sim's
# exit code (1: degraded or denied, 3: inconclusive).
#
# Usage: bench/stress.sh [SCENARIO ...]    (default: all 13 DoS scenarios; about 25 minutes)
# Reports (report.html, report.json, junit.xml, rampart.log) go to $STRESS_REPORTS, by
# default target/stress-reports. Run it before resolving any issue that touches limits.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPORTS="${STRESS_REPORTS:-$ROOT/target/stress-reports}"
cd "$ROOT"
cargo build --release -p rampart --bin rampart -p attack-sim --bin attack-sim

if [ "$#" -eq 0 ]; then set -- dos; fi
echo "stress check at $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), $(date -u +%FT%TZ)"
status=0
target/release/attack-sim run "$@" --spawn --intensity stress --report-dir "$REPORTS" || status=$?
echo "reports: $REPORTS/report.html"
case "$status" in
  0) echo "stress check: every scenario held" ;;
  *) echo "stress check FAILED (attack-sim exit $status): see the scorecard above" ;;
esac
exit "$status"
