//! CloudWatch Logs subscription filters: log events delivered in
//! `awslogs.data`, which is JSON, gzipped, then base64-encoded.
//! [`CloudWatchLogsEvent::decode`] undoes the three layers and names the one
//! that failed.
//!
//! The inflate itself is miniz_oxide's; the gzip frame around it (RFC 1952:
//! a header, the deflate stream, CRC-32 and length) is checked here, which
//! costs less than a general gzip reader.

use alloc::string::String;
use alloc::vec::Vec;

use miniserde::{Deserialize, json};

use super::{DecodeError, decode_base64};

/// The largest payload `decode` inflates to. CloudWatch Logs delivers at most
/// about 1 MB compressed per invocation; a much larger result is a
/// compression bomb, not a log batch.
pub const MAX_INFLATED: usize = 64 * 1024 * 1024;

const FIELD: &str = "awslogs.data";

/// The event, as it arrives.
#[derive(Debug, Clone, Deserialize)]
pub struct CloudWatchLogsEvent {
    /// `awslogs`.
    pub awslogs: AwsLogs,
}

/// `awslogs`.
#[derive(Debug, Clone, Deserialize)]
pub struct AwsLogs {
    /// `data`: base64 of gzip of the JSON of [`LogsData`].
    pub data: String,
}

/// What `awslogs.data` holds once unwrapped.
#[derive(Debug, Clone, Deserialize)]
pub struct LogsData {
    /// `messageType`: `DATA_MESSAGE`, or `CONTROL_MESSAGE` when CloudWatch
    /// Logs checks that the destination is reachable (no log events then).
    #[serde(rename = "messageType")]
    pub message_type: String,
    /// `owner`: the account of the log group.
    pub owner: String,
    /// `logGroup`.
    #[serde(rename = "logGroup")]
    pub log_group: String,
    /// `logStream`.
    #[serde(rename = "logStream")]
    pub log_stream: String,
    /// `subscriptionFilters`: the filters that matched.
    #[serde(rename = "subscriptionFilters")]
    pub subscription_filters: Vec<String>,
    /// `logEvents`.
    #[serde(rename = "logEvents")]
    pub log_events: Vec<LogEvent>,
    /// `policyLevel`: for account-level subscription filters.
    #[serde(rename = "policyLevel")]
    pub policy_level: Option<String>,
}

/// One log event.
#[derive(Debug, Clone, Deserialize)]
pub struct LogEvent {
    /// `id`.
    pub id: String,
    /// `timestamp`: milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// `message`: the log line.
    pub message: String,
}

impl CloudWatchLogsEvent {
    /// Unwrap `awslogs.data`: base64, then gzip, then JSON.
    pub fn decode(&self) -> Result<LogsData, DecodeError> {
        let gzipped = decode_base64(FIELD, &self.awslogs.data)?;
        let text = gunzip(&gzipped).map_err(|why| DecodeError::Gzip {
            field: FIELD,
            why: why.into(),
        })?;
        core::str::from_utf8(&text)
            .ok()
            .and_then(|text| json::from_str(text).ok())
            .ok_or(DecodeError::Json { field: FIELD })
    }
}

/// The gzip header's fixed part: magic, method (8 = deflate), flags, mtime,
/// extra flags, OS.
const GZIP_HEADER: usize = 10;
/// The trailer: CRC-32 and length (mod 2^32) of the inflated bytes, little-endian.
const GZIP_TRAILER: usize = 8;
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;

/// Inflate one gzip member (what CloudWatch Logs sends), checking its frame.
pub(crate) fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, &'static str> {
    if bytes.len() < GZIP_HEADER + GZIP_TRAILER || bytes[..2] != [0x1f, 0x8b] {
        return Err("no gzip magic number");
    }
    if bytes[2] != 8 {
        return Err("compression method is not deflate");
    }
    let flags = bytes[3];
    let mut at = GZIP_HEADER;
    if flags & FEXTRA != 0 {
        let len = bytes.get(at..at + 2).ok_or("header cut short")?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = bytes.get(at..).ok_or("header cut short")?;
            at += rest
                .iter()
                .position(|&b| b == 0)
                .ok_or("header cut short")?
                + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    let end = bytes.len() - GZIP_TRAILER;
    let deflated = bytes.get(at..end).ok_or("header cut short")?;
    let inflated = miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_INFLATED)
        .map_err(|_| "the deflate stream is corrupt, cut short or too large")?;
    let trailer = &bytes[end..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let len = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc32(&inflated) != crc || inflated.len() as u32 != len {
        return Err("the CRC-32 or length in the trailer does not match");
    }
    Ok(inflated)
}

/// CRC-32 (IEEE, reflected), bit by bit: no table, as a log batch is small
/// and decoded once.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn gunzip_reads_a_member_and_refuses_broken_frames() {
        // `printf 'hi\n' | gzip -n`, with the FNAME flag and a name added by hand.
        let mut named = alloc::vec![0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 3];
        named.extend_from_slice(b"a.txt\0");
        named.extend_from_slice(&[
            0xcb, 0xc8, 0xe4, 0x02, 0x00, 0x7a, 0x7a, 0x6f, 0xed, 0x03, 0x00, 0x00, 0x00,
        ]);
        assert_eq!(gunzip(&named).unwrap(), b"hi\n");
        assert_eq!(gunzip(b"not gzip at all"), Err("no gzip magic number"));
        let mut bad_crc = named.clone();
        let last = bad_crc.len() - 5;
        bad_crc[last] ^= 1;
        assert!(gunzip(&bad_crc).unwrap_err().contains("CRC-32"));
        let cut = &named[..named.len() - 10];
        assert!(gunzip(cut).is_err());
    }
}
