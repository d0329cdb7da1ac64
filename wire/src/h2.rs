//! HTTP/2 on the wire: the connection preface, frame types, flags and error codes, frames
//! built and their 9-byte headers read back, and HPACK header blocks of literals.

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame type DATA.
pub const DATA: u8 = 0x0;
/// HEADERS.
pub const HEADERS: u8 = 0x1;
/// RST_STREAM.
pub const RST_STREAM: u8 = 0x3;
/// SETTINGS.
pub const SETTINGS: u8 = 0x4;
/// PING.
pub const PING: u8 = 0x6;
/// GOAWAY.
pub const GOAWAY: u8 = 0x7;
/// CONTINUATION.
pub const CONTINUATION: u8 = 0x9;

/// Flag END_STREAM (DATA, HEADERS).
pub const END_STREAM: u8 = 0x1;
/// ACK (SETTINGS, PING).
pub const ACK: u8 = 0x1;
/// END_HEADERS (HEADERS, CONTINUATION).
pub const END_HEADERS: u8 = 0x4;

/// Error code NO_ERROR.
pub const NO_ERROR: u32 = 0x0;
/// CANCEL.
pub const CANCEL: u32 = 0x8;
/// ENHANCE_YOUR_CALM.
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// The largest frame payload every peer accepts (SETTINGS_MAX_FRAME_SIZE's initial value).
pub const MAX_FRAME: usize = 16_384;

/// One frame: the 9-byte header, then `payload`.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(9 + payload.len());
    push_frame(&mut f, kind, flags, stream, payload);
    f
}

/// Appends one frame to `out`. The length field keeps the payload length's low 24 bits: a
/// payload of 16 MiB or more gets a wrong length, which only an attack would want.
pub fn push_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX) & 0x00ff_ffff;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

/// A frame's 9-byte header, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Payload length.
    pub len: usize,
    /// Frame type.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Stream identifier (the reserved bit cleared).
    pub stream: u32,
}

impl Head {
    /// Reads a frame header.
    pub fn parse(b: &[u8; 9]) -> Head {
        Head {
            len: u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize,
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }
}

/// The last-stream-id and error code of a GOAWAY payload, if it is long enough to have them.
pub fn goaway(payload: &[u8]) -> Option<(u32, u32)> {
    let last = u32::from_be_bytes(payload.get(..4)?.try_into().ok()?) & 0x7fff_ffff;
    let code = u32::from_be_bytes(payload.get(4..8)?.try_into().ok()?);
    Some((last, code))
}

/// Appends an HPACK integer with a `prefix`-bit prefix whose other bits are `first`.
fn push_int(out: &mut Vec<u8>, first: u8, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// Appends a header field as an HPACK literal without indexing, new name, no Huffman.
pub fn push_literal(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(0x00);
    push_int(out, 0, 7, name.len());
    out.extend_from_slice(name.as_bytes());
    push_int(out, 0, 7, value.len());
    out.extend_from_slice(value);
}

/// The HPACK block of a request: the pseudo-headers, then `user-agent: attack-sim`.
pub fn request_block(method: &str, path: &str, authority: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + path.len() + authority.len());
    push_literal(&mut b, ":method", method.as_bytes());
    push_literal(&mut b, ":scheme", b"https");
    push_literal(&mut b, ":path", path.as_bytes());
    push_literal(&mut b, ":authority", authority.as_bytes());
    push_literal(&mut b, "user-agent", b"attack-sim");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_rfc_9113_layout_and_read_back() {
        let f = frame(HEADERS, END_HEADERS, 0x8000_0003, b"abc");
        assert_eq!(f, [0, 0, 3, 1, 4, 0, 0, 0, 3, b'a', b'b', b'c']);
        let head: [u8; 9] = f[..9].try_into().expect("9 bytes");
        assert_eq!(
            Head::parse(&head),
            Head {
                len: 3,
                kind: HEADERS,
                flags: END_HEADERS,
                stream: 3
            }
        );
    }

    #[test]
    fn goaway_payloads_give_last_stream_and_code() {
        assert_eq!(
            goaway(&[0x80, 0, 0, 7, 0, 0, 0, 0xb]),
            Some((7, ENHANCE_YOUR_CALM))
        );
        assert_eq!(goaway(&[0, 0, 0, 7, 0, 0, 0]), None);
    }

    #[test]
    fn hpack_integers_use_the_prefix_then_7_bit_groups() {
        // RFC 7541 C.1.2: 1337 with a 5-bit prefix.
        let mut out = Vec::new();
        push_int(&mut out, 0, 5, 1337);
        assert_eq!(out, [31, 154, 10]);
        let mut out = Vec::new();
        push_int(&mut out, 0, 7, 126);
        assert_eq!(out, [126]);
        let mut out = Vec::new();
        push_int(&mut out, 0, 7, 127);
        assert_eq!(out, [127, 0]);
    }

    #[test]
    fn literals_carry_name_and_value_lengths() {
        let mut b = Vec::new();
        push_literal(&mut b, "x", b"yz");
        assert_eq!(b, [0, 1, b'x', 2, b'y', b'z']);
        let long = vec![b'v'; 300];
        let mut b = Vec::new();
        push_literal(&mut b, "n", &long);
        assert_eq!(&b[..5], &[0, 1, b'n', 127, 173]);
        assert_eq!(b.len(), 5 + 1 + 300);
    }
}
