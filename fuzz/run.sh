#!/usr/bin/env bash
# Fuzzes one target the way campaigns and the continuous fuzzing do: builds it (fuzz/build.sh:
# optimised, AddressSanitizer, the stateful targets without comparison tracing), then runs it
# with its dictionary, libFuzzer options and ASan settings (fuzz/flags.sh) on its corpus
# fuzz/corpus/<target>, writing crashes to fuzz/artifacts/<target>/. Other arguments go to
# libFuzzer; when one of them is an input file (a crash to reproduce), that file is run
# instead of the corpus.
#
#   fuzz/run.sh TARGET [libFuzzer arguments or input files...]
#   fuzz/run.sh request_sequence -max_total_time=600 -jobs=2
#   fuzz/run.sh ledger_diff fuzz/artifacts/ledger_diff/crash-...
#
# (`cargo fuzz run TARGET` runs too, with cargo fuzz's own instrumentation and without the
# options file.) Sets RUSTC_BOOTSTRAP=1 for stable Rust; needs cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [ "${1#-}" = "$1" ] ||
  { echo "usage: fuzz/run.sh TARGET [libFuzzer arguments or input files...]" >&2; exit 2; }
target=$1
shift
fuzz/build.sh --out fuzz/target/bin "$target"
. fuzz/flags.sh
fuzz_command command "$target" "fuzz/target/bin/$target"
inputs=("fuzz/corpus/$target")
for a in "$@"; do
  if [ "${a#-}" = "$a" ]; then inputs=(); fi
done
mkdir -p "fuzz/artifacts/$target"
exec "${command[@]}" -artifact_prefix="fuzz/artifacts/$target/" "$@" "${inputs[@]}"
