//! Round trips of PEM loading (proptest): a real chain and key (a fresh dev CA and leaf),
//! written out again by the independent encoder below with any line width, line ending, text
//! between blocks and blank lines, load to exactly the same DER and a matching pair; a chain
//! cut short never loads as different certificates.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use rampart_certs::{DevCa, certified_key_from_pem, issue_leaf, parse_cert_chain};

/// The leaf's DER, the CA's DER, and the leaf key's PKCS#8 DER.
struct Fixture {
    leaf: Vec<u8>,
    ca: Vec<u8>,
    key: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let ca = DevCa::generate().expect("dev CA");
        let (leaf_pem, key_pem) = issue_leaf(&ca, &["localhost".to_string()], 30).expect("leaf");
        let der = |pem: &str| parse_cert_chain(pem.as_bytes()).expect("chain")[0].to_vec();
        let key_b64: String = key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        Fixture {
            leaf: der(&leaf_pem),
            ca: der(&ca.cert_pem),
            key: STANDARD.decode(key_b64).expect("key base64"),
        }
    })
}

/// How a PEM file is laid out.
#[derive(Debug, Clone)]
struct Layout {
    /// Base64 characters per line (a multiple of 4).
    width: usize,
    crlf: bool,
    /// Text before each block (as `openssl x509 -text` and bundles put there).
    preamble: Option<String>,
    blank_lines: usize,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        1usize..=19,
        any::<bool>(),
        proptest::option::of("[a-zA-Z0-9=:, ]{1,40}"),
        0usize..3,
    )
        .prop_map(|(w, crlf, preamble, blank_lines)| Layout {
            width: w * 4,
            crlf,
            preamble,
            blank_lines,
        })
}

/// One PEM block of `label` holding `der`, laid out as `l` says.
fn block(label: &str, der: &[u8], l: &Layout) -> String {
    let eol = if l.crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if let Some(p) = &l.preamble {
        out.push_str(&format!("{p}{eol}"));
    }
    out.push_str(&format!("-----BEGIN {label}-----{eol}"));
    let b64 = STANDARD.encode(der);
    for line in b64.as_bytes().chunks(l.width) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push_str(eol);
    }
    out.push_str(&format!("-----END {label}-----{eol}"));
    out.push_str(&eol.repeat(l.blank_lines));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    /// Any layout of the chain loads to the same DER, in order, and with the key re-laid
    /// out too the pair loads and matches.
    #[test]
    fn chains_and_keys_load_whatever_the_layout(a in layout(), b in layout(), k in layout()) {
        let f = fixture();
        let pem = block("CERTIFICATE", &f.leaf, &a) + &block("CERTIFICATE", &f.ca, &b);
        let chain = parse_cert_chain(pem.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e}\n{pem}")))?;
        let ders: Vec<&[u8]> = chain.iter().map(|c| c.as_ref()).collect();
        prop_assert_eq!(ders, vec![&f.leaf[..], &f.ca[..]]);
        let key = block("PRIVATE KEY", &f.key, &k);
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let pair = certified_key_from_pem(pem.as_bytes(), key.as_bytes(), &provider)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert!(pair.keys_match().is_ok());
    }

    /// A chain cut anywhere loads as a prefix of the chain or not at all: never as other
    /// certificates.
    #[test]
    fn a_cut_chain_never_loads_as_other_certificates(a in layout(), cut in any::<prop::sample::Index>()) {
        let f = fixture();
        let pem = block("CERTIFICATE", &f.leaf, &a) + &block("CERTIFICATE", &f.ca, &a);
        let cut = &pem.as_bytes()[..cut.index(pem.len())];
        if let Ok(chain) = parse_cert_chain(cut) {
            let whole = [&f.leaf[..], &f.ca[..]];
            prop_assert!(chain.len() <= 2);
            for (got, want) in chain.iter().zip(whole) {
                prop_assert_eq!(got.as_ref(), want);
            }
        }
    }
}
