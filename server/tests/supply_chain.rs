//! The release's bill of materials: `deploy/release.sh --sbom-only` writes a CycloneDX SBOM per
//! binary, and rampart's names rustls (the TLS stack, the dependency an advisory is likeliest
//! to name) at exactly the version `Cargo.lock` pins, as the patched copy in `vendor/` it is
//! built from (that check is ignored unless asked for: it needs `cargo-cyclonedx`, which
//! `.ci/run` installs). The lock files pin h2 and rustls to the patched copies in `vendor/`,
//! and h2 to a version with the fixes for the HTTP/2 floods.

use crate::common::lock::{locked_package, root};

#[test]
#[ignore = "needs cargo-cyclonedx (.ci/run installs it)"]
fn the_sbom_of_rampart_names_rustls_at_the_locked_version() {
    let out = tempfile::tempdir().expect("tmp");
    let status = std::process::Command::new(root().join("deploy/release.sh"))
        .arg("--sbom-only")
        .arg(out.path())
        .status()
        .expect("deploy/release.sh");
    assert!(status.success(), "deploy/release.sh --sbom-only: {status}");
    let sbom: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("rampart_bin.cdx.json")).expect("rampart's SBOM"),
    )
    .expect("JSON");
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["metadata"]["component"]["name"], "rampart");
    let rustls = sbom["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "rustls")
        .expect("rustls in the SBOM");
    let locked = locked_package("Cargo.lock", "rustls")
        .expect("rustls in Cargo.lock")
        .version;
    assert_eq!(rustls["version"], locked.as_str());
    // rustls is built from `vendor/rustls` (the published crate plus our patch), and the SBOM
    // says so with the purl's `download_url`; scanners match advisories on the name and the
    // version, which are the published crate's.
    assert_eq!(
        rustls["purl"],
        format!("pkg:cargo/rustls@{locked}?download_url=file://../vendor/rustls")
    );
    for package in ["server", "attack-sim", "certs"] {
        let stray = std::fs::read_dir(root().join(package))
            .expect("package folder")
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".cdx.json"));
        assert!(!stray, "an SBOM was left in {package}/");
    }
}

/// h2 0.4.18 and later carry the fixes for rapid reset, CONTINUATION floods and the
/// local-error-reset class; the lock file must never go below it.
#[test]
fn h2_is_at_least_0_4_18() {
    let h2 = locked_package("Cargo.lock", "h2").expect("h2 in Cargo.lock");
    let parts: Vec<u64> = h2
        .version
        .split('.')
        .map(|p| p.parse().expect("number"))
        .collect();
    assert!(
        parts >= vec![0, 4, 18],
        "h2 {} is older than 0.4.18",
        h2.version
    );
}

/// h2, rustls and sqlx-sqlite are built from `vendor/` (the published crates plus our patches:
/// h2's and rustls's let an idle connection hold no read or write buffer, SECURITY.md,
/// "Connections against nginx"; sqlx-sqlite's runs statements without a worker thread in
/// fuzzing builds only, `fuzz/README.md`), in the main workspace and the fuzz one, at the
/// versions `vendor/SOURCES` names.
/// A `[patch]` dropped, or a version moved without its patch, fails here; `vendor/check.sh`
/// (in `.ci/run`) checks that the vendored sources are the published ones plus the patch.
#[test]
fn h2_rustls_and_sqlx_sqlite_are_built_from_the_patched_sources_in_vendor() {
    let sources = std::fs::read_to_string(root().join("vendor/SOURCES")).expect("SOURCES");
    let pinned: Vec<(&str, &str)> = sources
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            (f.next().expect("name"), f.next().expect("version"))
        })
        .collect();
    assert_eq!(
        pinned.iter().map(|p| p.0).collect::<Vec<_>>(),
        ["h2", "rustls", "sqlx-sqlite"]
    );
    for lock in ["Cargo.lock", "fuzz/Cargo.lock"] {
        for (name, version) in &pinned {
            let locked =
                locked_package(lock, name).unwrap_or_else(|| panic!("{name} is not in {lock}"));
            assert_eq!(
                locked.version, *version,
                "{lock} has another {name} than vendor/SOURCES' {version}:\n{}",
                locked.entry
            );
            assert!(
                !locked.comes_from_a_registry(),
                "{lock}'s {name} comes from a registry, not from vendor/{name}:\n{}",
                locked.entry
            );
        }
    }
}
