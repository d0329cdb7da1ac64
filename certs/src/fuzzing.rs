//! Properties of PEM loading checked by the `pem_pair` fuzz target (and by the unit tests
//! below on fixed inputs).

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Splits arbitrary bytes into a certificate file and a key file and loads them. Never panics;
/// a chain that parses must survive a DER -> PEM -> DER round trip unchanged; and a pair that
/// loads must have a key that matches its leaf.
pub fn check_pem_bytes(data: &[u8]) {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (cert, key) = data.split_at(split);
    let key = key.get(1..).unwrap_or_default();
    if let Ok(chain) = crate::parse_cert_chain(cert) {
        let mut pem = String::new();
        for der in &chain {
            pem.push_str(&to_pem(der));
        }
        let again: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("re-encoded chain parses");
        assert_eq!(again, chain, "PEM round trip changed the chain");
    }
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Ok(ck) = crate::certified_key_from_pem(cert, key, &provider) {
        ck.keys_match().expect("a loaded pair matches");
    }
}

fn to_pem(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    let mut line = 0;
    for chunk in der.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            let c = if i <= n {
                B64[((v >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            };
            out.push(c);
            line += 1;
            if line == 64 {
                out.push('\n');
                line = 0;
            }
        }
    }
    if line != 0 {
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_hold_the_property() {
        let ca = crate::DevCa::generate().expect("ca");
        let (cert, key) = crate::issue_leaf(&ca, &["localhost".into()], 90).expect("leaf");
        let mut pair = cert.clone().into_bytes();
        pair.push(0);
        pair.extend_from_slice(key.as_bytes());
        check_pem_bytes(&pair);
        check_pem_bytes(cert.as_bytes());
        check_pem_bytes(b"");
        check_pem_bytes(b"-----BEGIN CERTIFICATE-----\n\0");
    }

    #[test]
    fn pem_encoder_matches_the_generator() {
        let ca = crate::DevCa::generate().expect("ca");
        let der = crate::parse_cert_chain(ca.cert_pem.as_bytes()).expect("parse");
        assert_eq!(to_pem(&der[0]).trim(), ca.cert_pem.trim());
    }
}
