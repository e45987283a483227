//! Logging: the `log` facade for everyone, env_logger as the sink the runtime
//! installs, and the current request id on every line.
//!
//! Lambda captures stdout and stderr into CloudWatch, one record per line. The
//! level comes from `RUST_LOG` (env_logger's own syntax) if set, else from
//! `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls), else
//! INFO; in the last two cases ureq's own lines are kept to WARN and above. `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line, which
//! CloudWatch can filter on; otherwise lines are tab-separated text in the
//! order Lambda's own runtimes use: time, request id, level, message.
//!
//! The runtime never logs an event or a response above DEBUG: they can hold
//! personal data.

// Without env_logger nothing formats lines, but the formatting stays
// compiled (and tested) so both feature sets build the same module.
#![cfg_attr(not(feature = "env_logger"), allow(dead_code))]

use std::string::String;
use std::time::{SystemTime, UNIX_EPOCH};

/// The level `AWS_LAMBDA_LOG_LEVEL` asks for, if it names one.
/// Lambda's FATAL has no `log` equivalent; ERROR is the closest.
pub(crate) fn level_from_aws(value: &str) -> Option<log::LevelFilter> {
    let level = match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" => log::LevelFilter::Trace,
        "DEBUG" => log::LevelFilter::Debug,
        "INFO" => log::LevelFilter::Info,
        "WARN" => log::LevelFilter::Warn,
        "ERROR" | "FATAL" => log::LevelFilter::Error,
        _ => return None,
    };
    Some(level)
}

/// Install env_logger unless the program already set a logger.
#[cfg(feature = "env_logger")]
pub(crate) fn install() {
    use std::io::Write;

    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut builder = env_logger::Builder::new();
    match (
        var("RUST_LOG"),
        var("AWS_LAMBDA_LOG_LEVEL")
            .as_deref()
            .and_then(level_from_aws),
    ) {
        (Some(filters), _) => builder.parse_filters(&filters),
        (None, level) => {
            builder.filter_level(level.unwrap_or(log::LevelFilter::Info));
            // ureq narrates every call at DEBUG (ten lines per invocation);
            // the runtime's own DEBUG lines already name each call. RUST_LOG
            // (above) can still ask for ureq's.
            #[cfg(feature = "ureq")]
            builder
                .filter_module("ureq", log::LevelFilter::Warn)
                .filter_module("ureq_proto", log::LevelFilter::Warn);
            &mut builder
        }
    };
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    builder.format(move |out, record| {
        // At TRACE, ureq_proto prints every request's bytes: with the aws
        // feature those carry the session token and the signature, which
        // must reach no log, whatever RUST_LOG asks for.
        #[cfg(feature = "aws")]
        if record.level() == log::Level::Trace && record.target().starts_with("ureq_proto") {
            return Ok(());
        }
        let line = super::in_flight::with_request_id(|request_id| {
            format_line(json, SystemTime::now(), record, request_id)
        });
        out.write_all(line.as_bytes())
    });
    // Fails only when a logger is already set: the user's choice wins.
    if builder.try_init().is_err() {
        log::debug!("a logger was already installed; keeping it");
    }
}

/// Without env_logger the program brings its own logger, or has none.
#[cfg(not(feature = "env_logger"))]
pub(crate) fn install() {}

/// One log line, newline included, in text or JSON.
pub(crate) fn format_line(
    json: bool,
    now: SystemTime,
    record: &log::Record,
    request_id: &str,
) -> String {
    let timestamp = rfc3339_millis(now);
    let message = record.args().to_string();
    if !json {
        return format!(
            "{timestamp}\t{request_id}\t{}\t{}: {message}\n",
            record.level(),
            record.target()
        );
    }
    // miniserde quotes and escapes each string: no hand-written JSON escaping.
    let quote = |s: &str| miniserde::json::to_string(s);
    format!(
        "{{\"timestamp\":{},\"level\":{},\"message\":{},\"target\":{},\"requestId\":{}}}\n",
        quote(&timestamp),
        quote(record.level().as_str()),
        quote(&message),
        quote(record.target()),
        quote(request_id),
    )
}

/// `2026-11-23T11:22:33.444Z`, the form Lambda's own log lines use.
pub(crate) fn rfc3339_millis(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date, by Howard Hinnant's
/// published `civil_from_days` algorithm (eras of 400 years).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

use std::format;
use std::string::ToString;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_542_409_706_888);
        assert_eq!(rfc3339_millis(t), "2018-11-16T23:08:26.888Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339_millis(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn aws_levels_map_to_log_levels() {
        assert_eq!(level_from_aws("debug"), Some(log::LevelFilter::Debug));
        assert_eq!(level_from_aws("FATAL"), Some(log::LevelFilter::Error));
        assert_eq!(level_from_aws("loud"), None);
    }

    #[test]
    fn lines_carry_the_request_id() {
        let args = format_args!("said \"hi\"\n");
        let record = log::Record::builder()
            .args(args)
            .level(log::Level::Warn)
            .target("app")
            .build();
        let t = UNIX_EPOCH + Duration::from_millis(1_542_409_706_888);
        assert_eq!(
            format_line(false, t, &record, "r-1"),
            "2018-11-16T23:08:26.888Z\tr-1\tWARN\tapp: said \"hi\"\n\n"
        );
        assert_eq!(
            format_line(true, t, &record, "r-1"),
            "{\"timestamp\":\"2018-11-16T23:08:26.888Z\",\"level\":\"WARN\",\"message\":\"said \\\"hi\\\"\\n\",\"target\":\"app\",\"requestId\":\"r-1\"}\n"
        );
    }
}
