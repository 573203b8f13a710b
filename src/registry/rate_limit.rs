//! Rate-limit headers as registries send them: the IETF draft's
//! `RateLimit-Limit: 100` and `RateLimit-Remaining: 42` (with an optional
//! `RateLimit-Reset: 30`), and Docker Hub's `ratelimit-limit: 100;w=21600`
//! and `ratelimit-remaining: 76;w=21600` (the window in seconds). What a
//! host said last is kept per endpoint, for the report, `-v` and `mirrors
//! check`, and a warning when little is left.

use serde::Serialize;

/// Below this many requests left, or a tenth of the limit, a run warns.
const LOW_REMAINING: u64 = 10;

/// What a host said about its rate limit, on its latest answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: u64,
    /// The window the limit counts over, in seconds (`w=`), if said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u64>,
    /// Seconds until the window resets (`RateLimit-Reset`), if said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_secs: Option<u64>,
}

impl RateLimit {
    /// From the response's headers; `None` without a usable `remaining`.
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<RateLimit> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        parse(get("ratelimit-limit"), get("ratelimit-remaining"), get("ratelimit-reset"))
    }

    /// Little left: under ten requests, or under a tenth of the limit.
    pub fn is_low(&self) -> bool {
        self.remaining < LOW_REMAINING
            || self.limit.is_some_and(|l| self.remaining.saturating_mul(10) < l)
    }

    /// `42 of 100 requests left (per 6h 0m)`, for people.
    pub fn describe(&self) -> String {
        let mut text = match self.limit {
            Some(l) => format!("{} of {l} requests left", self.remaining),
            None => format!("{} requests left", self.remaining),
        };
        if let Some(w) = self.window_secs {
            text.push_str(&format!(
                " per {}",
                crate::units::span(std::time::Duration::from_secs(w))
            ));
        }
        if let Some(r) = self.reset_secs {
            text.push_str(&format!(
                ", resets in {}",
                crate::units::span(std::time::Duration::from_secs(r))
            ));
        }
        text
    }
}

/// The headers' values, each `N` or `N;w=S` (other parameters ignored).
fn parse(limit: Option<&str>, remaining: Option<&str>, reset: Option<&str>) -> Option<RateLimit> {
    let (remaining, w_remaining) = quota(remaining?)?;
    let (limit, w_limit) = match limit.and_then(quota) {
        Some((l, w)) => (Some(l), w),
        None => (None, None),
    };
    Some(RateLimit {
        limit,
        remaining,
        window_secs: w_limit.or(w_remaining),
        reset_secs: reset.and_then(|r| r.trim().parse().ok()),
    })
}

/// `100;w=21600` as (100, Some(21600)); `100` as (100, None).
fn quota(value: &str) -> Option<(u64, Option<u64>)> {
    // A list (`100, 100;w=60`): the first policy is the one in force.
    let mut parts = value.split(',').next()?.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let window =
        parts.filter_map(|p| p.trim().strip_prefix("w=")).find_map(|w| w.trim().parse().ok());
    Some((n, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_in_both_spellings() {
        let hub = parse(Some("100;w=21600"), Some("76;w=21600"), None).unwrap();
        assert_eq!(
            hub,
            RateLimit {
                limit: Some(100),
                remaining: 76,
                window_secs: Some(21600),
                reset_secs: None
            }
        );
        assert!(!hub.is_low());
        assert_eq!(hub.describe(), "76 of 100 requests left per 6h 0m");
        let ietf = parse(Some("5000"), Some("400"), Some("30")).unwrap();
        assert_eq!(ietf.describe(), "400 of 5000 requests left, resets in 30s");
        assert!(ietf.is_low(), "under a tenth");
        // (limit, remaining) -> low?
        let table = [
            (Some("100"), "9", Some(true)),
            (Some("100"), "10", Some(false)),
            (None, "5", Some(true)),
            (Some("1000"), "99", Some(true)),
            (Some("junk"), "50", Some(false)),
            (Some("100"), "junk", None),
            (Some("100"), "-1", None),
        ];
        for (limit, remaining, low) in table {
            assert_eq!(
                parse(limit, Some(remaining), None).map(|r| r.is_low()),
                low,
                "{limit:?} {remaining}"
            );
        }
        assert_eq!(parse(Some("100"), None, None), None);
        assert_eq!(quota("100, 100;w=60"), Some((100, None)));
    }
}
