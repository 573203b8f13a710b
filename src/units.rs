//! Quantities as people write and read them: sizes (`10G`, `500M`), ages
//! (`30d`, `12h`) and moments (`2025-01-31T12:00:00Z`). Pure functions:
//! flags are parsed here, and what the cache and the host memory show is
//! formatted here, without a calendar library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now (0 for a clock before 1970).
pub fn now_ms() -> u64 {
    ms_since_epoch(SystemTime::now())
}

pub fn ms_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `1536`, `10K`, `500M`, `2G`, `1T` (powers of 1024; `KiB`, `MB` and
/// lowercase are read alike) as bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not a size (say 500M or 10G)"))?;
    let shift = match unit.trim().to_ascii_lowercase().trim_end_matches(['b', 'i']) {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("{text:?}: unknown unit (use K, M, G or T)")),
    };
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("{text:?} is too large"))
}

/// `90s`, `15m`, `12h`, `30d`, `2w` (a bare number is seconds) as a duration.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("{text:?} is not an age (say 12h or 30d)"))?;
    let secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{text:?}: unknown unit (use s, m, h, d or w)")),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(|| format!("{text:?} is too long"))
}

/// A moment as RFC 3339 in UTC, to the second: `2025-01-31T12:00:00Z`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, the proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A short span in words, for "for another 1m 30s".
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{} ms", d.as_millis()),
        1..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_parse_as_written() {
        let sizes = [
            ("0", Some(0)),
            ("1536", Some(1536)),
            ("10K", Some(10 << 10)),
            ("500M", Some(500 << 20)),
            ("2g", Some(2 << 30)),
            ("1GiB", Some(1 << 30)),
            ("3 MB", Some(3 << 20)),
            ("1T", Some(1 << 40)),
            ("", None),
            ("M", None),
            ("5X", None),
            ("-1", None),
            ("99999999999T", None),
        ];
        for (text, want) in sizes {
            assert_eq!(parse_size(text).ok(), want, "{text:?}");
        }
        let ages = [
            ("90", Some(90)),
            ("90s", Some(90)),
            ("15m", Some(900)),
            ("12h", Some(43_200)),
            ("30d", Some(2_592_000)),
            ("2w", Some(1_209_600)),
            ("1y", None),
            ("h", None),
        ];
        for (text, want) in ages {
            assert_eq!(parse_age(text).ok().map(|d| d.as_secs()), want, "{text:?}");
        }
    }

    #[test]
    fn moments_print_as_utc() {
        let table = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            (1_738_324_800_999, "2025-01-31T12:00:00Z"),
            (4_102_444_799_000, "2099-12-31T23:59:59Z"),
        ];
        for (ms, want) in table {
            assert_eq!(utc(ms), want, "{ms}");
        }
        assert_eq!(span(Duration::from_millis(250)), "250 ms");
        assert_eq!(span(Duration::from_secs(90)), "1m 30s");
        assert_eq!(span(Duration::from_secs(7 * 86_400)), "7d 0h");
    }
}
