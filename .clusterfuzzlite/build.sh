#!/bin/bash -eu
# ClusterFuzzLite build: the OSS-Fuzz build of fuzz/oss-fuzz/build.sh, unchanged (every
# cargo-fuzz target, optimised with debug assertions, each with its seed corpus and
# dictionary in $OUT), so that the two can never disagree on what is fuzzed.
# Locally: mkdir -p /tmp/cfl/out && ln -sfn "$PWD" /tmp/cfl/rampart &&
#   SRC=/tmp/cfl OUT=/tmp/cfl/out RUSTC_BOOTSTRAP=1 .clusterfuzzlite/build.sh
exec "$SRC/rampart/fuzz/oss-fuzz/build.sh"
