//! What the progress display says, as text: the terminal's frame (a
//! header, one overall line, a few blob bars), and the lines a log (CI)
//! gets. Pure functions of a snapshot, so they are tested without a
//! terminal; every line fits in the width given.

use std::time::Duration;

use super::printer::human_bytes;

/// Bars drawn at most; the other downloads are counted on one line.
pub const MAX_BARS: usize = 4;

/// The display's state at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// "Pulling docker.io/library/alpine:3.20 from http://..." or the batch's.
    pub header: String,
    /// Blobs and bytes the pull needs, once every image is resolved.
    pub totals: Option<(usize, u64)>,
    /// Blobs finished (fetched or already present).
    pub blobs_done: usize,
    /// Bytes in place: finished blobs and what downloads have written.
    pub bytes_done: u64,
    /// Bytes a second fetched lately, once it can be told.
    pub rate: Option<f64>,
    /// Downloads running, in the order they began: short digest, bytes
    /// written, size.
    pub active: Vec<(String, u64, u64)>,
    /// A source asked and not answered yet, and for how long.
    pub waiting: Option<(String, Duration)>,
    pub elapsed: Duration,
}

/// The terminal frame for `s`, every line shorter than `width`.
pub fn frame(s: &Snapshot, width: usize) -> Vec<String> {
    let mut lines = vec![s.header.clone(), format!("  {}", overall(s))];
    for (digest, done, size) in s.active.iter().take(MAX_BARS) {
        lines.push(bar_line(digest, *done, *size, width));
    }
    if s.active.len() > MAX_BARS {
        lines.push(format!("  ... and {} more downloading", s.active.len() - MAX_BARS));
    }
    if let Some((endpoint, waited)) = &s.waiting
        && *waited >= Duration::from_secs(1)
    {
        lines.push(format!("  waiting for {endpoint}: {} s", waited.as_secs()));
    }
    lines.into_iter().map(|l| fit(&l, width)).collect()
}

/// The overall line: bytes, blobs, rate and time left; before the totals
/// are known, how long resolving has taken.
pub fn overall(s: &Snapshot) -> String {
    let Some((blobs, bytes)) = s.totals else {
        return format!("resolving ({} s)", s.elapsed.as_secs());
    };
    let mut parts = vec![
        format!("{} / {}", human_bytes(s.bytes_done.min(bytes)), human_bytes(bytes)),
        format!("{}/{blobs} blobs", s.blobs_done.min(blobs)),
    ];
    if let Some(rate) = s.rate.filter(|r| *r >= 1.0) {
        parts.push(format!("{}/s", human_bytes(rate as u64)));
        let left = bytes.saturating_sub(s.bytes_done) as f64 / rate;
        if left >= 1.0 {
            parts.push(format!("ETA {}", duration(Duration::from_secs_f64(left.min(360_000.0)))));
        }
    }
    parts.join("  ")
}

/// `  3f2a9c1d02e4 [=====>      ]  4.0 MiB / 10.0 MiB`, fitted to `width`.
fn bar_line(digest: &str, done: u64, size: u64, width: usize) -> String {
    let amount = format!("{} / {}", human_bytes(done.min(size)), human_bytes(size));
    // "  " + digest + " [" + bar + "]  " + amount, one column spare.
    let fixed = 2 + digest.len() + 2 + 3 + amount.len() + 1;
    let room = width.saturating_sub(fixed).min(40);
    if room < 5 {
        return format!("  {digest}  {amount}");
    }
    let filled =
        if size == 0 { room } else { (done.min(size) as f64 / size as f64 * room as f64) as usize };
    let mut bar = "=".repeat(filled);
    if filled < room {
        bar.push('>');
        bar.push_str(&" ".repeat(room - filled - 1));
    }
    format!("  {digest} [{bar}]  {amount}")
}

/// The log's progress line (at most every few seconds, in CI).
pub fn log_progress(s: &Snapshot) -> String {
    let mut line = format!("progress: {}", overall(s).replace("  ", ", "));
    if let Some((endpoint, waited)) = &s.waiting {
        line.push_str(&format!("; waiting for {endpoint} ({} s)", waited.as_secs()));
    }
    line
}

/// `3f2a9c1d02e4`: the start of a digest's hex, as docker shows layers.
pub fn short_digest(digest: &crate::digest::Digest) -> String {
    digest.hex().chars().take(12).collect()
}

/// `6s`, `2m05s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// `line` cut to fit in `width` columns with one to spare (a line as wide
/// as the terminal wraps on some terminals), marked with `~` when cut.
pub fn fit(line: &str, width: usize) -> String {
    let max = width.saturating_sub(1).max(1);
    if line.chars().count() <= max {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(max - 1).collect();
    cut.push('~');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy() -> Snapshot {
        Snapshot {
            header: format!(
                "Pulling registry.example.com/{}:v1 from http://10.0.0.5:5000",
                "a".repeat(60)
            ),
            totals: Some((151, 300 << 20)),
            blobs_done: 20,
            bytes_done: 100 << 20,
            rate: Some(5.0 * (1 << 20) as f64),
            active: (0..6).map(|i| (format!("{i:012}"), (i as u64) << 20, 10 << 20)).collect(),
            waiting: Some(("http://10.0.0.5:5000".into(), Duration::from_secs(3))),
            elapsed: Duration::from_secs(20),
        }
    }

    #[test]
    fn every_line_fits_an_80_column_terminal() {
        for width in [40, 80, 200] {
            for line in frame(&busy(), width) {
                assert!(line.chars().count() < width, "{width}: {line:?}");
            }
        }
    }

    #[test]
    fn the_frame_has_a_header_an_overall_line_and_a_few_bars() {
        let lines = frame(&busy(), 80);
        assert!(lines[0].starts_with("Pulling registry.example.com/"), "{lines:#?}");
        assert!(lines[0].ends_with('~'), "a long header is cut: {lines:#?}");
        assert_eq!(lines[1], "  100.0 MiB / 300.0 MiB  20/151 blobs  5.0 MiB/s  ETA 40s");
        assert_eq!(lines.len(), 2 + MAX_BARS + 2, "{lines:#?}");
        assert_eq!(lines[6], "  ... and 2 more downloading");
        assert_eq!(lines[7], "  waiting for http://10.0.0.5:5000: 3 s");
        assert!(lines[3].starts_with("  000000000001 [====> "), "{lines:#?}");
        assert!(lines[3].ends_with("]  1.0 MiB / 10.0 MiB"), "{lines:#?}");
    }

    #[test]
    fn before_the_totals_it_says_how_long_resolving_takes() {
        let s = Snapshot {
            header: "Resolving x".into(),
            elapsed: Duration::from_secs(7),
            ..Default::default()
        };
        assert_eq!(frame(&s, 80), ["Resolving x", "  resolving (7 s)"]);
        assert_eq!(log_progress(&s), "progress: resolving (7 s)");
    }

    #[test]
    fn durations_read_like_clocks() {
        assert_eq!(duration(Duration::from_secs(6)), "6s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }
}
