//! The release's bill of materials: `deploy/release.sh --sbom-only` writes a CycloneDX SBOM per
//! binary, and rampart's names rustls (the TLS stack, the dependency an advisory is likeliest
//! to name) at exactly the version `Cargo.lock` pins, as the patched copy in `vendor/` it is
//! built from. Ignored unless asked for: it needs
//! `cargo-cyclonedx`, which `.ci/run` installs.

use std::path::Path;

/// The repository's root.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The version `Cargo.lock` pins for `package`.
fn locked_version(package: &str) -> String {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    let entry = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&entry).expect("package in Cargo.lock") + entry.len();
    lock[start..]
        .split('"')
        .next()
        .expect("version")
        .to_string()
}

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
    let locked = locked_version("rustls");
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
