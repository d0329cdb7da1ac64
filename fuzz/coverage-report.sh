#!/bin/bash
# Source coverage of the fuzz targets over a corpus: runs each target's corpus through a
# coverage build (`cargo fuzz coverage -s none`), prints each target's line coverage of the
# code it exists for, then merges every target's profile and prints per-file line and region
# coverage of the server's and the certs crate's sources.
#
# Usage: fuzz/coverage-report.sh [CORPUS_ROOT [TARGET...]]
#   CORPUS_ROOT holds one folder per target (default fuzz/corpus: the committed seeds plus
#   whatever local runs added there); TARGETs default to every target.
# Needs: cargo-fuzz, `rustup component add llvm-tools-preview`. Writes under fuzz/coverage/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-fuzz/corpus}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
for tool in llvm-cov llvm-profdata; do
  [ -x "$tools/$tool" ] || { echo "no $tool: run rustup component add llvm-tools-preview" >&2; exit 2; }
done
ignore='(/\.cargo/|/rustc/|/fuzz/fuzz_targets/|/target/)'

# The sources each target exists for (its line in the summary).
focus() {
  case $1 in
    amount) echo 'server/src/ledger/amount.rs' ;;
    cursor) echo 'server/src/ledger/cursor.rs' ;;
    credentials) echo 'server/src/auth/rules.rs' ;;
    token) echo 'server/src/auth/token.rs' ;;
    json_body) echo 'server/src/http/json.rs' ;;
    proxy_header) echo 'server/src/net/proxy_header.rs' ;;
    config_toml) echo 'server/src/config/(load|validate|mod).rs' ;;
    pem_pair) echo 'certs/src/pem.rs' ;;
    tls_server) echo 'server/src/tls/mod.rs' ;;
    ledger_diff) echo 'server/src/store/ledger.rs' ;;
    request_bytes) echo 'server/src/(net|http)/' ;;
    request_sequence) echo 'server/src/(http|store|auth)/' ;;
    *) echo 'server/src/' ;;
  esac
}

# One line: the target's line coverage of the files matching a pattern, from llvm-cov's JSON.
summarise() {
  python3 -c '
import json, re, sys
name, pattern = sys.argv[1], re.compile(sys.argv[2])
files = [f for f in json.load(sys.stdin)["data"][0]["files"] if pattern.search(f["filename"])]
count = sum(f["summary"]["lines"]["count"] for f in files)
covered = sum(f["summary"]["lines"]["covered"] for f in files)
if count:
    print(f"{name:<18} {100 * covered / count:5.1f}% ({covered} of {count} lines) in {sys.argv[2]}")
else:
    print(f"{name:<18} no lines matched {sys.argv[2]}")
' "$1" "$2"
}

mkdir -p fuzz/coverage
objects=()
profiles=()
echo "Line coverage of the sources each target is for:"
for t in "${targets[@]}"; do
  [ -d "$root/$t" ] || { echo "no corpus folder $root/$t" >&2; exit 2; }
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz coverage -s none "$t" "$root/$t" >"fuzz/coverage/$t.log" 2>&1; then
    echo "coverage run of $t failed; see fuzz/coverage/$t.log" >&2
    exit 1
  fi
  rm -f "fuzz/coverage/$t.log"
  # cargo-fuzz writes coverage builds under the repository's target/ (its project root is
  # the fuzz crate's parent), not under fuzz/target.
  bin="target/$host/coverage/$host/release/$t"
  [ -x "$bin" ] || bin="fuzz/target/$host/coverage/$host/release/$t"
  [ -x "$bin" ] || { echo "no coverage build of $t found" >&2; exit 1; }
  prof="fuzz/coverage/$t/coverage.profdata"
  objects+=(-object "$bin")
  profiles+=("$prof")
  "$tools/llvm-cov" export -summary-only "$bin" -instr-profile="$prof" \
    -ignore-filename-regex="$ignore" | summarise "$t" "$(focus "$t")"
done

"$tools/llvm-profdata" merge -sparse "${profiles[@]}" -o fuzz/coverage/all.profdata
echo
echo "All targets merged, per file (regions, missed, cover, functions, missed, executed, lines, missed, cover):"
"$tools/llvm-cov" report "${objects[@]:1}" -instr-profile=fuzz/coverage/all.profdata \
  -ignore-filename-regex="$ignore" | grep -E '^(Filename|-+$|.*(server|certs)/src/|TOTAL)' \
  | sed "s|$PWD/||"
