//! Round trips of the parsers we own (proptest): what we print parses back to the same value,
//! what parses prints back to a canonical form, and a value encoded by an independent encoder
//! here decodes to what was encoded. Failures are kept in `proptest-regressions/` and replayed
//! first on every run.

use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use rampart::auth::{rules, token};
use rampart::config::parse_toml_str;
use rampart::http::json;
use rampart::http::problem::ApiError;
use rampart::ledger::Amount;
use rampart::ledger::amount::{MAX_CENTS, format_cents};
use rampart::ledger::cursor::{Cursor, MAX_ENCODED};
use rampart::net::proxy_header::{self, Relayed};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Every amount prints as `units.cc` and parses back; `units` and `units.c` forms parse to
    /// the same cents.
    #[test]
    fn amounts_round_trip(cents in 1i64..=MAX_CENTS) {
        let printed = format_cents(cents);
        prop_assert_eq!(Amount::parse(&printed).map(Amount::cents), Ok(cents));
        prop_assert_eq!(Amount::from_cents(cents).map(|a| a.to_string()), Ok(printed));
        let (units, cc) = (cents / 100, cents % 100);
        if cc == 0 {
            prop_assert_eq!(Amount::parse(&units.to_string()).map(Amount::cents), Ok(cents));
        }
        if cc % 10 == 0 {
            let short = format!("{units}.{}", cc / 10);
            prop_assert_eq!(Amount::parse(&short).map(Amount::cents), Ok(cents));
        }
    }

    /// Whatever text parses as an amount denotes the value it prints as: no second spelling
    /// (sign, exponent, spaces, leading zeros, other digits) gets through.
    #[test]
    fn parsed_amounts_are_their_printed_value(
        s in prop_oneof!["[0-9]{1,12}(\\.[0-9]{0,3})?", "[-+ 0-9.eE\u{0660}-\u{0669}]{1,16}"]
    ) {
        if let Ok(a) = Amount::parse(&s) {
            let printed = a.to_string();
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            let frac = format!("{frac:0<2}");
            prop_assert_eq!(format!("{int}.{frac}"), printed, "{:?}", s);
        }
    }

    /// A token is its 32 random bytes in base64url; its hash is the hash of those bytes, and no
    /// other spelling of the same bytes has a hash (a non-canonical variant is not the token).
    #[test]
    fn tokens_are_canonical(bytes in proptest::array::uniform32(any::<u8>()), s in "[A-Za-z0-9_-]{43}") {
        let t = URL_SAFE_NO_PAD.encode(bytes);
        let hash = token::hash_of(&t);
        prop_assert!(hash.is_some());
        for header in [format!("Bearer {t}"), format!("bEaReR {t}")] {
            prop_assert_eq!(token::from_authorization(&header), Some(t.as_str()));
        }
        if token::hash_of(&s).is_some() {
            let raw = URL_SAFE_NO_PAD.decode(&s).expect("a token with a hash decodes");
            prop_assert_eq!(URL_SAFE_NO_PAD.encode(raw), s);
        }
    }

    /// A normalised username is a fixed point of normalisation.
    #[test]
    fn usernames_normalise_to_fixed_points(s in "\\PC{0,40}") {
        if let Ok(u) = rules::normalize_username(&s) {
            prop_assert_eq!(rules::normalize_username(&u), Ok(u.clone()));
        }
    }

    /// A cursor decodes to what was encoded under the same key, and never under another key or
    /// with any one character changed.
    #[test]
    fn cursors_round_trip_and_resist_tampering(
        account_id in "[a-z0-9-]{0,40}",
        sort in "(created_at|amount)",
        order in "(asc|desc)",
        q in "\\PC{0,40}",
        key in any::<i64>(),
        id in "[a-z0-9-]{0,40}",
        flip in any::<prop::sample::Index>(),
    ) {
        const KEY: &[u8] = b"a cursor key of thirty-two bytes";
        let c = Cursor { account_id, sort, order, q, key, id };
        let encoded = c.encode(KEY);
        prop_assume!(encoded.len() <= MAX_ENCODED);
        prop_assert_eq!(Cursor::decode(&encoded, KEY), Ok(c.clone()));
        prop_assert!(Cursor::decode(&encoded, b"another key of thirty-two bytes!").is_err());
        let mut chars: Vec<char> = encoded.chars().collect();
        let i = flip.index(chars.len());
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        prop_assert!(Cursor::decode(&tampered, KEY) != Ok(c), "{}", tampered);
    }

    /// A PROXY v2 header written by the encoder below, with any TLVs, relays the source
    /// address it was written with; cut short or lengthened by a byte, it is refused.
    #[test]
    fn proxy_headers_relay_their_source(
        src in (any::<IpAddr>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port)),
        dst_port in any::<u16>(),
        tlvs in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..16)), 0..4),
    ) {
        let header = proxy_v2(src, dst_port, &tlvs);
        prop_assert_eq!(proxy_header::decode(&header), Ok(Relayed::Client(src)));
        prop_assert!(proxy_header::decode(&header[..header.len() - 1]).is_err());
        let mut longer = header.clone();
        longer.push(0);
        prop_assert!(proxy_header::decode(&longer).is_err());
    }
}

/// A request body of the shape the API's handlers take (fields refused when unknown).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    from_account: String,
    to_account: String,
    amount: String,
    #[serde(default)]
    memo: String,
}

/// Any JSON value, nested up to 12 levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(12, 64, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z\\\\\"\\[{]{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How deep a value nests (a scalar is 0, `[]` and `{}` are 1).
fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// A body serialised by serde_json decodes to the same fields whatever the strings hold;
    /// an extra field (mass assignment: `balance`, `owner_id`) or a repeated one is a 400, and
    /// an extra field is named in it.
    #[test]
    fn json_bodies_round_trip_and_refuse_extras(
        from_account in "\\PC{0,20}",
        to_account in ".{0,20}",
        amount in "[0-9.]{0,12}",
        memo in "\\PC{0,40}",
        extra in prop_oneof![
            Just("balance".to_owned()),
            Just("owner_id".to_owned()),
            Just("user_id".to_owned()),
            "[a-z_]{1,12}",
        ],
    ) {
        let body = Body { from_account, to_account, amount, memo };
        let bytes = serde_json::to_vec(&body).expect("serialise");
        prop_assert_eq!(json::parse::<Body>(&bytes).ok(), Some(body));
        prop_assume!(!["from_account", "to_account", "amount", "memo"].contains(&extra.as_str()));
        let with_extra = [&bytes[..bytes.len() - 1], format!(",\"{extra}\":1}}").as_bytes()].concat();
        match json::parse::<Body>(&with_extra) {
            Err(ApiError::BadRequest { field, .. }) => prop_assert_eq!(field.as_deref(), Some(extra.as_str())),
            other => prop_assert!(false, "an extra field got {:?}", other.map(|_| ())),
        }
        let repeated = [&bytes[..bytes.len() - 1], b",\"amount\":\"1.00\"}"].concat();
        let is_bad_request = matches!(json::parse::<Body>(&repeated), Err(ApiError::BadRequest { .. }));
        prop_assert!(is_bad_request);
    }

    /// The depth check agrees with the depth of the value serialised (an independent count),
    /// strings with brackets and escapes included; anything deeper than the limit is refused.
    #[test]
    fn json_depth_is_measured_exactly(v in json_value()) {
        let bytes = serde_json::to_vec(&v).expect("serialise");
        let limit = json::MAX_DEPTH;
        prop_assert_eq!(json::nesting_depth(&bytes, limit), depth(&v).min(limit + 1));
        if depth(&v) > limit {
            let is_bad_request = matches!(json::parse::<serde_json::Value>(&bytes), Err(ApiError::BadRequest { .. }));
            prop_assert!(is_bad_request);
        }
    }

    /// A config file with these values parses to them, and the effective config printed from
    /// it (what `check-config` shows) parses back to the same config.
    #[test]
    fn configs_parse_to_what_was_written_and_round_trip(
        ip in prop_oneof![Just("127.0.0.1"), Just("[::1]"), Just("0.0.0.0")],
        port in 1u16..,
        profile in prop_oneof![Just("modern"), Just("intermediate")],
        handshake_ms in 100u64..=60_000,
        idle_s in 1u64..=600,
        max_headers in 1usize..=256,
        rps in 1u32..100_000,
        proxies in proptest::collection::vec((any::<[u8; 4]>(), 8u8..=32), 0..4),
    ) {
        let proxies: Vec<ipnet::IpNet> = proxies
            .into_iter()
            .map(|(a, len)| ipnet::Ipv4Net::new(a.into(), len).expect("prefix").trunc().into())
            .collect();
        let listed: Vec<String> = proxies.iter().map(|p| format!("\"{p}\"")).collect();
        let text = format!(
            "listen = \"{ip}:{port}\"\n\
             [tls]\nprofile = \"{profile}\"\nhandshake_timeout = \"{}s {}ms\"\n\
             [http]\nidle_timeout = \"{idle_s}s\"\nmax_headers = {max_headers}\n\
             [limits]\nrequests_per_second_per_client = {rps}\ntrusted_proxies = [{}]\n",
            handshake_ms / 1000,
            handshake_ms % 1000,
            listed.join(", "),
        );
        let config = parse_toml_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(config.listen.port(), port);
        prop_assert_eq!(config.tls.handshake_timeout.as_millis(), u128::from(handshake_ms));
        prop_assert_eq!(config.http.idle_timeout.as_secs(), idle_s);
        prop_assert_eq!(config.http.max_headers, max_headers);
        prop_assert_eq!(config.limits.requests_per_second_per_client, rps);
        prop_assert_eq!(&config.limits.trusted_proxies, &proxies);
        let printed = config.to_toml();
        prop_assert_eq!(parse_toml_str(&printed).ok(), Some(config), "{}", printed);
    }

    /// A value just outside its documented range is refused, and the error names the key.
    #[test]
    fn out_of_range_values_are_refused_by_name(
        case in prop_oneof![
            (257usize..100_000).prop_map(|n| ("http.max_headers", format!("[http]\nmax_headers = {n}"))),
            (0u64..100).prop_map(|n| ("tls.handshake_timeout", format!("[tls]\nhandshake_timeout = \"{n}ms\""))),
            (601u64..100_000).prop_map(|n| ("http.idle_timeout", format!("[http]\nidle_timeout = \"{n}s\""))),
        ],
    ) {
        let (key, text) = case;
        match parse_toml_str(&text) {
            Ok(_) => prop_assert!(false, "accepted: {}", text),
            Err(e) => prop_assert!(e.to_string().contains(key), "{} does not name {}", e, key),
        }
    }
}

/// A PROXY v2 `PROXY` command over TCP from `src` (to the same family's unspecified address),
/// with the given TLVs, written from the specification (HAProxy's proxy-protocol.txt, 2.2).
fn proxy_v2(src: SocketAddr, dst_port: u16, tlvs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut addresses = Vec::new();
    let family = match src.ip() {
        IpAddr::V4(ip) => {
            addresses.extend(ip.octets());
            addresses.extend([0u8; 4]);
            0x11
        }
        IpAddr::V6(ip) => {
            addresses.extend(ip.octets());
            addresses.extend([0u8; 16]);
            0x21
        }
    };
    addresses.extend(src.port().to_be_bytes());
    addresses.extend(dst_port.to_be_bytes());
    for (kind, value) in tlvs {
        // Skip the types whose values have a fixed layout (and would then be malformed).
        let kind = if matches!(kind, 0x01..=0x05 | 0x20..=0x25 | 0x30) {
            0xE0
        } else {
            *kind
        };
        addresses.push(kind);
        addresses.extend(u16::try_from(value.len()).expect("short").to_be_bytes());
        addresses.extend(value);
    }
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x21);
    h.push(family);
    h.extend(u16::try_from(addresses.len()).expect("short").to_be_bytes());
    h.extend(addresses);
    h
}
