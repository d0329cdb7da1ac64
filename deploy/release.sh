#!/usr/bin/env bash
# Release binaries that carry their dependency list, and a CycloneDX SBOM for each:
#   deploy/release.sh              target/release/{rampart,attack-sim,rampart-certs} built by
#                                  `cargo auditable` (the list is in the binary's .dep-v0
#                                  section: `cargo audit bin`, syft and trivy read it) and
#                                  target/release/sbom/*.cdx.json (CycloneDX 1.5, JSON)
#   deploy/release.sh --sbom-only DIR   the SBOMs alone, into DIR (what the test checks)
# Needs `cargo install --locked cargo-auditable cargo-cyclonedx`.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    if ! command -v "cargo-$1" >/dev/null 2>&1; then
        echo "release.sh: cargo $1 is not installed (cargo install --locked cargo-$1)" >&2
        exit 2
    fi
}

sboms() {
    local out=$1
    need cyclonedx
    mkdir -p "$out"
    # One SBOM per binary, runtime dependencies only, written beside each package's
    # Cargo.toml by the tool, then moved out of the source tree.
    cargo cyclonedx --format json --spec-version 1.5 --describe binaries --no-build-deps -q
    local made=0
    for f in server/*.cdx.json attack-sim/*.cdx.json certs/*.cdx.json; do
        [ -e "$f" ] || continue
        mv "$f" "$out/"
        made=$((made + 1))
    done
    if [ "$made" -eq 0 ]; then
        echo "release.sh: cargo cyclonedx wrote no SBOM" >&2
        exit 1
    fi
}

if [ "${1:-}" = --sbom-only ]; then
    [ -n "${2:-}" ] || { echo "usage: deploy/release.sh [--sbom-only DIR]" >&2; exit 2; }
    sboms "$2"
    exit 0
fi
need auditable
cargo auditable build --release --locked --workspace --bins
rm -rf target/release/sbom
sboms target/release/sbom
ls -l target/release/rampart target/release/attack-sim target/release/rampart-certs \
    target/release/sbom
