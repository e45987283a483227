//! The known differences between the two transports, for the `transports`
//! target: the raw answers one of them accepts and the other refuses, each
//! a deliberate strictness that is harmless against AWS's own local API.
//! Each entry says which side accepts alone, why that is fine, and a
//! predicate on the raw answer bytes that is as narrow as they allow.

/// One known difference.
pub struct Known {
    /// The built-in transport accepts and ureq refuses (or the reverse).
    pub builtin_alone: bool,
    /// Why this is harmless.
    pub why: &'static str,
    /// Whether the raw answer shows it.
    pub shows: fn(&[u8]) -> bool,
}

pub const KNOWN: &[Known] = &[
    Known {
        builtin_alone: true,
        why: "a control character in the reason phrase: httparse refuses the \
          status line, the built-in reader ignores the reason, as both do \
          any other reason",
        shows: |raw| {
            let line = head_lines(raw).next().unwrap_or_default();
            line.get(13..)
                .unwrap_or_default()
                .iter()
                .any(|&b| is_ctl(b))
        },
    },
    Known {
        builtin_alone: true,
        why: "a header name that is not a token (spaces around it or in it, a \
          control character, an obs-fold continuation line, an empty name): \
          httparse refuses the answer, the built-in reader keeps the line as \
          a header nobody asks for; the API sends plain names",
        shows: |raw| {
            head_lines(raw).skip(1).any(|line| {
                let name = line.split(|&b| b == b':').next().unwrap_or_default();
                name.is_empty() || !name.iter().all(|&b| is_tchar(b))
            })
        },
    },
    Known {
        builtin_alone: true,
        why: "a control character (but tab) in a header value, a lone CR \
          included: httparse refuses the answer, the built-in reader keeps \
          the value as sent; the API sends none",
        shows: |raw| {
            head_lines(raw).skip(1).any(|line| {
                let mut parts = line.splitn(2, |&b| b == b':');
                parts.next();
                parts
                    .next()
                    .is_some_and(|value| value.iter().any(|&b| is_ctl(b)))
            })
        },
    },
    Known {
        builtin_alone: false,
        why: "bytes that are not UTF-8 (obs-text) in the reason phrase: the \
              built-in reader wants every head line UTF-8, httparse allows \
              them there; the reason is ignored either way",
        shows: |raw| {
            let line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
            std::str::from_utf8(line.get(13..).unwrap_or_default()).is_err()
        },
    },
    Known {
        builtin_alone: true,
        why: "a control character (a lone CR, say) in a trailer line after a \
              chunked body's last chunk: ureq's dechunker refuses it, the \
              built-in reader skips trailers unread; the API sends none",
        shows: |raw| trailers(raw).any(|line| line.iter().any(|&b| is_ctl(b))),
    },
    Known {
        builtin_alone: true,
        why: "a control character (a lone CR, say) in a chunk extension: \
              ureq's dechunker refuses the size line, the built-in reader \
              ignores extensions; the API sends none",
        shows: |raw| {
            body_lines(raw)
                .filter_map(chunk_extension)
                .any(|extension| extension.iter().any(|&b| is_ctl(b)))
        },
    },
    Known {
        builtin_alone: false,
        why: "the connection closes in the trailer section, after the last \
              chunk, before its blank line: ureq takes the body, complete, \
              the built-in reader wants the blank line; no byte of the body \
              is in doubt",
        shows: |raw| {
            let mut lines = body_lines(raw);
            let last_chunk = |line: &[u8]| {
                let size = line.split(|&b| b == b';').next().unwrap_or_default();
                !size.is_empty() && size.iter().all(|&b| b == b'0')
            };
            // Every line after the last chunk has text: none is the blank
            // one (the piece after a final newline is no line at all).
            let after: Vec<&[u8]> = lines.by_ref().skip_while(|l| !last_chunk(l)).collect();
            after.len() >= 2
                && after[1..after.len() - 1]
                    .iter()
                    .all(|line| !line.is_empty())
                && !raw.ends_with(b"\n\r\n")
                && !raw.ends_with(b"\n\n")
        },
    },
    Known {
        builtin_alone: true,
        why: "more bytes after a chunked body's end (its last chunk, \
              trailers and blank line): ureq 3.5 can stop with `BodyStalled` \
              when the end and the extra bytes sit in its buffer together \
              (its dechunker consumes without output, and the extra input is \
              then taken for no progress); the built-in reader returns the \
              body. The API sends nothing after an answer",
        shows: |raw| after_chunked_end(raw).is_some_and(|rest| !rest.is_empty()),
    },
    Known {
        builtin_alone: false,
        why: "a chunk extension that is not UTF-8: the built-in reader reads \
              the size line as text and refuses, ureq skips extensions; both \
              ignore them, and the API sends none",
        shows: |raw| {
            body_lines(raw)
                .filter_map(chunk_extension)
                .any(|extension| std::str::from_utf8(extension).is_err())
        },
    },
    Known {
        builtin_alone: false,
        why: "Transfer-Encoding in an HTTP/1.0 answer: the built-in reader \
              refuses it as faulty framing (RFC 9112 6.1), ureq ignores the \
              coding and reads by length or to the close; the API speaks \
              HTTP/1.1",
        shows: |raw| {
            let mut lines = head_lines(raw);
            lines
                .next()
                .is_some_and(|line| line.starts_with(b"HTTP/1.0"))
                && lines.any(|line| {
                    let name = line.split(|&b| b == b':').next().unwrap_or_default();
                    name.trim_ascii().eq_ignore_ascii_case(b"transfer-encoding")
                })
        },
    },
    Known {
        builtin_alone: false,
        why: "empty lines before the status line: httparse skips them (RFC \
              9112 2.2 lets a recipient), the built-in reader refuses the \
              answer; the API sends none",
        shows: |raw| raw.starts_with(b"\r\n") || raw.starts_with(b"\n"),
    },
    Known {
        builtin_alone: false,
        why: "a trailer line that is not UTF-8: the built-in reader reads \
              trailer lines as head lines and refuses, ureq skips them; \
              both drop trailers, and the API sends none",
        shows: |raw| trailers(raw).any(|line| std::str::from_utf8(line).is_err()),
    },
];

/// The lines of the first head, without their line ends, up to the blank
/// line.
pub fn head_lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
}

/// A control character other than horizontal tab.
pub fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// A character of a token (RFC 9110 `tchar`).
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A chunk-size line's extension (from its `;` on), when what comes before
/// is a size in hex.
fn chunk_extension(line: &[u8]) -> Option<&[u8]> {
    let at = line.iter().position(|&b| b == b';')?;
    let size = line[..at].trim_ascii();
    (!size.is_empty() && size.iter().all(u8::is_ascii_hexdigit)).then(|| &line[at..])
}

/// The lines after the first head, without their line ends.
pub fn body_lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut lines = raw
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    lines
        .by_ref()
        .take_while(|line| !line.is_empty())
        .for_each(drop);
    lines
}

/// The lines after the first line of only `0`s (a last chunk, maybe with
/// extensions) past the head, up to the next blank line: the trailers, if
/// the body is chunked.
pub fn trailers(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut lines = body_lines(raw);
    let last_chunk = |line: &[u8]| {
        let size = line.split(|&b| b == b';').next().unwrap_or_default();
        !size.is_empty() && size.iter().all(|&b| b == b'0')
    };
    let found = lines.by_ref().any(last_chunk);
    lines.take_while(move |line| found && !line.is_empty())
}

/// The bytes after the blank line that ends the trailer section after the
/// first last-chunk line past the head, if there is one.
pub fn after_chunked_end(raw: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    let mut lines = raw.split(|&b| b == b'\n').map(|line| {
        let start = at;
        at += line.len() + 1;
        (
            line.strip_suffix(b"\r").unwrap_or(line),
            start + line.len() + 1,
        )
    });
    lines.by_ref().find(|(line, _)| line.is_empty())?;
    lines.by_ref().find(|(line, _)| {
        let size = line.split(|&b| b == b';').next().unwrap_or_default();
        !size.is_empty() && size.iter().all(|&b| b == b'0')
    })?;
    let (_, end) = lines.find(|(line, _)| line.is_empty())?;
    raw.get(end..)
}
