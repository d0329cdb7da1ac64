#!/bin/bash -eu
# OSS-Fuzz build script (projects/rampart/build.sh upstream): builds every cargo-fuzz target
# with the sanitizer flags OSS-Fuzz sets, each the way fuzz/build.sh builds it (the stateful
# targets without comparison tracing), and ships each with its committed seeds
# (<target>_seed_corpus.zip), dictionary (<target>.dict) and libFuzzer and ASan options
# (<target>.options, from fuzz/options/). Runs in OSS-Fuzz's
# base-builder-rust image, where $SRC, $OUT and the sanitizer RUSTFLAGS are set.
# Locally: SRC=/path/to/parent OUT=/tmp/out fuzz/oss-fuzz/build.sh
cd "$SRC/rampart"
fuzz/build.sh --out "$OUT" -O --debug-assertions
for source in fuzz/fuzz_targets/*.rs; do
  target=$(basename "${source%.rs}")
  seeds=(fuzz/corpus/"$target"/seed-*)
  if [ -e "${seeds[0]}" ]; then
    zip -q -j "$OUT/${target}_seed_corpus.zip" "${seeds[@]}"
  fi
  if [ -f "fuzz/dict/$target.dict" ]; then
    cp "fuzz/dict/$target.dict" "$OUT/$target.dict"
  fi
  if [ -f "fuzz/options/$target.options" ]; then
    cp "fuzz/options/$target.options" "$OUT/$target.options"
  fi
done
