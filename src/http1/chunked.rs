//! Chunked framing (RFC 9112 §7.1), both ways: a body written as chunks and
//! a last chunk with trailers, and the size lines of one being read.

use alloc::vec::Vec;

use super::{Error, trim_ows};

/// Append one chunk: its size in hex, CRLF, the data, CRLF. Empty data
/// would be the last chunk; the caller never sends it this way.
pub fn chunk_frame(out: &mut Vec<u8>, data: &[u8]) {
    chunk_size_line(out, data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Append only a chunk's size line, for data written from where it lies
/// (then followed by CRLF).
pub fn chunk_size_line(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0_u8; 16];
    out.extend_from_slice(hex(len, &mut digits));
    out.extend_from_slice(b"\r\n");
}

/// Append the last chunk: `0`, each trailer as a header line, a blank line.
pub fn last_chunk(out: &mut Vec<u8>, trailers: &[(&str, &str)]) {
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The size on a chunk's size line (without its line end), extensions after
/// `;` ignored. Hex digits only, spaces and tabs around them: `trim` would
/// also take a stray CR, and `from_str_radix` a leading `+`.
pub fn parse_chunk_size(line: &str) -> Result<usize, Error> {
    let size = trim_ows(line.split(';').next().unwrap_or(""));
    Some(size)
        .filter(|size| !size.is_empty() && size.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|size| usize::from_str_radix(size, 16).ok())
        .ok_or(Error::Malformed("malformed chunk size"))
}

/// Lower-case hex digits without `core::fmt`.
fn hex(mut n: usize, buf: &mut [u8; 16]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[n % 16];
        n /= 16;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_trailers_are_framed() {
        let mut out = Vec::new();
        chunk_frame(&mut out, b"hello");
        chunk_frame(&mut out, &[b'x'; 26]);
        last_chunk(
            &mut out,
            &[("Lambda-Runtime-Function-Error-Type", "Function.Boom")],
        );
        let mut expected = b"5\r\nhello\r\n1a\r\n".to_vec();
        expected.extend([b'x'; 26]);
        expected.extend(b"\r\n0\r\nLambda-Runtime-Function-Error-Type: Function.Boom\r\n\r\n");
        assert_eq!(out, expected);
        let mut digits = [0; 16];
        assert_eq!(hex(0, &mut digits), b"0");
        assert_eq!(hex(usize::MAX, &mut digits), b"ffffffffffffffff");
    }

    #[test]
    fn size_lines_are_hex_and_nothing_else() {
        assert_eq!(parse_chunk_size("1a"), Ok(26));
        assert_eq!(parse_chunk_size("FF;ext=1"), Ok(255));
        assert_eq!(parse_chunk_size(" 0\t"), Ok(0));
        for bad in ["", "+1", "4\r", "x", "-1", "ffffffffffffffffff"] {
            assert!(parse_chunk_size(bad).is_err(), "{bad:?}");
        }
    }
}
