//! UTC dates as AWS writes them: `20150830T123600Z` in a signature,
//! `2026-12-02T16:37:08Z` in a credentials answer's `Expiration`.
//!
//! A few lines of calendar arithmetic (days from 1970-01-01 to a civil date
//! and back, proleptic Gregorian) instead of a date crate: signing needs one
//! format out and credentials one format in, nothing else.

use alloc::string::String;
use core::fmt::Write;

/// Seconds since the Unix epoch as `(YYYYMMDD, YYYYMMDDTHHMMSSZ)`: the
/// credential scope's date and `X-Amz-Date`.
pub(crate) fn amz_date(epoch_secs: u64) -> (String, String) {
    let days = (epoch_secs / 86_400) as i64;
    let secs = epoch_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut date = String::with_capacity(8);
    let _ = write!(date, "{y:04}{m:02}{d:02}");
    let mut stamp = String::with_capacity(16);
    let _ = write!(
        stamp,
        "{date}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    (date, stamp)
}

/// `2026-12-02T16:37:08Z` (fractions of a second and a `+00:00` offset are
/// accepted too) as seconds since the Unix epoch; `None` if it is not that.
pub(crate) fn parse_rfc3339_utc(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u64> {
        let digits = text.get(from..to)?;
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        rest = &fraction[digits..];
    }
    if !matches!(rest, "Z" | "z" | "+00:00") {
        return None;
    }
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    u64::try_from(days)
        .ok()
        .map(|days| days * 86_400 + h * 3600 + mi * 60 + s)
}

/// 28 to 31: February 30th is no date (found by the aws fuzz target, which
/// saw it read as March 2nd).
fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (the inverse of the above).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_signature_dates() {
        // 2015-08-30T12:36:00Z, the date of AWS's signing examples.
        let (date, stamp) = amz_date(1_440_938_160);
        assert_eq!(date, "20150830");
        assert_eq!(stamp, "20150830T123600Z");
        assert_eq!(amz_date(0).1, "19700101T000000Z");
        // A leap day, and the last second of a year.
        assert_eq!(amz_date(951_782_400).0, "20000229");
        assert_eq!(amz_date(1_767_225_599).1, "20251231T235959Z");
    }

    #[test]
    fn parses_expirations() {
        assert_eq!(
            parse_rfc3339_utc("2015-08-30T12:36:00Z"),
            Some(1_440_938_160)
        );
        assert_eq!(
            parse_rfc3339_utc("2015-08-30T12:36:00.123Z"),
            Some(1_440_938_160)
        );
        assert_eq!(
            parse_rfc3339_utc("2015-08-30T12:36:00+00:00"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_rfc3339_utc("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert!(parse_rfc3339_utc("2024-02-29T00:00:00Z").is_some());
        assert!(parse_rfc3339_utc("2015-12-31T00:00:00Z").is_some());
        for bad in [
            "",
            "2015-08-30",
            "2015-08-30T12:36:00",
            "2015-08-30T12:36:00+02:00",
            "2015-13-30T12:36:00Z",
            "2015-08-30T25:36:00Z",
            "2015-0a-30T12:36:00Z",
            "2015-02-29T12:36:00Z",
            "1900-02-29T12:36:00Z",
            "2015-04-31T12:36:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        for days in (-1000..150_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
