#!/usr/bin/env bash
# Builds the fuzz targets the way they are fuzzed, each with the instrumentation that suits
# it, and puts the binaries in one folder (campaign.sh, planted.sh, .ci/run's smoke run and
# the OSS-Fuzz and ClusterFuzzLite builds all build through here):
#
#   fuzz/build.sh --out DIR [--target-dir DIR] [cargo fuzz build options] [TARGET...]
#
# - The parsers (every target but the two below): cargo fuzz's instrumentation, edge
#   counters and comparison tracing, whose operands feed the mutations that find the magic
#   values a parser compares its input with.
# - The stateful targets (ledger_diff, request_sequence; `fuzz_is_stateful`) without
#   comparison tracing (`--no-trace-compares`), in a target folder of their own
#   (<target dir>/stateful, so that neither build undoes the other). Their inputs are
#   decoded into API calls and ledger steps, not parsed: what the tracing feeds finds them
#   nothing, and it cost them a third of their speed (fuzz/README.md, "The stateful
#   targets' speed").
#
# Other options (-O, --debug-assertions, --dev, -s none, ...) go to every `cargo fuzz build`.
# Defaults: every target (`cargo fuzz list`), fuzz/target as the target folder. The binaries
# are linked (or copied) into --out, which is created. Builds the repository whose root is the
# current directory (so that planted.sh can build a worktree with this script).
#
# Sourced (`. fuzz/build.sh`), it only defines `fuzz_is_stateful TARGET`.
fuzz_is_stateful() {
  case $1 in ledger_diff | request_sequence) return 0 ;; *) return 1 ;; esac
}
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return 0
fi
set -euo pipefail

out=
target_dir=
cargo_args=()
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --target-dir) target_dir=$2; shift 2 ;;
    -s | --sanitizer) cargo_args+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) cargo_args+=("$1"); shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ -n "$out" ] || { echo "fuzz/build.sh: --out DIR is required" >&2; exit 2; }
[ -f fuzz/Cargo.toml ] ||
  { echo "fuzz/build.sh: run it from the repository's root (no fuzz/Cargo.toml in $PWD)" >&2; exit 2; }
export RUSTC_BOOTSTRAP=1
[ -n "$target_dir" ] || target_dir=$PWD/fuzz/target
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
profile=release
for a in "${cargo_args[@]}"; do
  if [ "$a" = --dev ]; then profile=debug; fi
done
host=$(rustc -vV | sed -n 's/^host: //p')
mkdir -p "$out"

for t in "${targets[@]}"; do
  [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "fuzz/build.sh: no target $t" >&2; exit 2; }
  if fuzz_is_stateful "$t"; then
    dir=$target_dir/stateful
    cargo fuzz build "${cargo_args[@]}" --no-trace-compares --target-dir "$dir" "$t"
  else
    dir=$target_dir
    cargo fuzz build "${cargo_args[@]}" --target-dir "$dir" "$t"
  fi
  bin=$dir/$host/$profile/$t
  [ -x "$bin" ] || { echo "fuzz/build.sh: cargo fuzz built no $bin" >&2; exit 1; }
  ln -f "$bin" "$out/$t" 2>/dev/null || cp -f "$bin" "$out/$t"
done
