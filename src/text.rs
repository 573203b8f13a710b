//! Text that a server controls, made safe to show: error codes and
//! messages, media types, platform fields, header values. A mirror is a
//! stranger, so none of it reaches a terminal or a log as it came: control
//! characters (escape sequences that retitle a window, recolour or move the
//! cursor) are spelled out, and length is capped, so a 4 MB platform name
//! cannot make a 4 MB error line.
//!
//! Every string that came from the network goes through `shown` before it
//! is printed or put into an error message. JSON output carries the same
//! sanitised text: a script piping `--json` into a terminal is protected too.

/// The most characters of one server-controlled value that are shown.
pub const MAX_SHOWN: usize = 200;

/// How many items of a server-controlled list are shown (e.g. the platforms
/// an index offers), after duplicates are removed.
pub const MAX_LISTED: usize = 20;

/// `s` as it may be shown: control characters escaped (`\x1b`, `\n`, ...),
/// at most `MAX_SHOWN` characters, with `…` where it was cut.
pub fn shown(s: &str) -> String {
    shown_max(s, MAX_SHOWN)
}

/// `shown` with another length cap.
pub fn shown_max(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars + 8));
    for (count, c) in s.chars().enumerate() {
        if count == max_chars {
            out.push('…');
            break;
        }
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // C0, DEL and C1 controls: C1 (U+0080..U+009F) includes CSI, which
        // some terminals honour on its own.
        c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        // Bidirectional overrides reorder what the user reads.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            out.push_str(&format!("\\u{{{:x}}}", c as u32))
        }
        c => out.push(c),
    }
}

/// Items of a server-controlled list for a message: each `shown`,
/// duplicates dropped (first kept), at most `MAX_LISTED`, then `(N more)`.
pub fn shown_list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut seen = std::collections::HashSet::new();
    let mut listed = Vec::new();
    let mut more = 0usize;
    for item in items {
        let item = shown(item.as_ref());
        if !seen.insert(item.clone()) {
            continue;
        }
        if listed.len() < MAX_LISTED {
            listed.push(item);
        } else {
            more += 1;
        }
    }
    let mut text = listed.join(", ");
    if more > 0 {
        text.push_str(&format!(" ({more} more)"));
    }
    text
}

/// A URL as it may be quoted in a message or in JSON: any user name and
/// password replaced (`https://***@host/...`), then `shown`. Works on text
/// that does not parse as a URL too (a malformed mirror URL is quoted in
/// the error that refuses it).
pub fn redacted_url(url: &str) -> String {
    shown(&redact_userinfo(url))
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        // No scheme (or a mangled one, `http//u:p@host`): where the host
        // starts cannot be told, so everything before the last `@` goes.
        let end = url.find(['?', '#']).unwrap_or(url.len());
        return redact_authority(&url[..end]) + &url[end..];
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!(
        "{}{}{}",
        &url[..scheme_end],
        redact_authority(&rest[..authority_end]),
        &rest[authority_end..]
    )
}

fn redact_authority(authority: &str) -> String {
    match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_string(),
    }
}

/// A parser's message without the value it quotes (`invalid type: string
/// "s3cret", expected a boolean` -> `invalid type: string, expected a
/// boolean`): it comes from a file that may hold secrets. serde puts the
/// value after one of a few phrases and before ", expected ..."; the value
/// may itself hold quotes, so everything from its opening quote to the
/// last ", expected" goes (or to the end, without one). Key names and the
/// expected values (the schema's own words) stay.
pub fn without_values(message: &str) -> String {
    const BEFORE_A_VALUE: [&str; 3] = ["invalid type: ", "invalid value: ", "unknown variant "];
    let Some((at, phrase)) = BEFORE_A_VALUE
        .iter()
        .filter_map(|p| message.find(p).map(|i| (i, *p)))
        .min_by_key(|&(i, _)| i)
    else {
        return message.to_string();
    };
    let after = &message[at + phrase.len()..];
    let tail_at = after.rfind(", expected");
    let head = &after[..tail_at.unwrap_or(after.len())];
    // The value starts at its first quote; before it, its kind ("string").
    let Some(quote) = head.find(['"', '`']) else {
        return message.to_string();
    };
    let kind = head[..quote].trim_end();
    let mut out = format!("{}{}", &message[..at], phrase.trim_end());
    if !kind.is_empty() {
        out.push(' ');
        out.push_str(kind);
    }
    if let Some(t) = tail_at {
        out.push_str(&after[t..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_spelled_out() {
        let cases = [
            ("plain text", "plain text"),
            ("\u{1b}]0;owned\u{7}", "\\u{1b}]0;owned\\u{7}"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("a\nb\r\tc", "a\\nb\\r\\tc"),
            ("\u{9b}2J", "\\u{9b}2J"),
            ("\u{7f}", "\\u{7f}"),
            ("abc\u{202e}gpj.exe", "abc\\u{202e}gpj.exe"),
            ("linux/amd64 ünïcödé", "linux/amd64 ünïcödé"),
        ];
        for (raw, want) in cases {
            assert_eq!(shown(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn length_is_capped() {
        let huge = "x".repeat(4 << 20);
        let s = shown(&huge);
        assert_eq!(s.chars().count(), MAX_SHOWN + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shown(&"y".repeat(MAX_SHOWN)), "y".repeat(MAX_SHOWN), "no mark when not cut");
        assert_eq!(shown_max("abcdef", 3), "abc…");
    }

    #[test]
    fn lists_are_deduplicated_and_capped() {
        let same = std::iter::repeat_n("linux/amd64", 150);
        assert_eq!(shown_list(same), "linux/amd64");
        let many: Vec<String> = (0..30).map(|i| format!("os{i}/arch")).collect();
        let text = shown_list(&many);
        assert!(text.starts_with("os0/arch, os1/arch"), "{text}");
        assert!(text.ends_with("os19/arch (10 more)"), "{text}");
        assert_eq!(shown_list(["a\u{1b}", "a\u{1b}", "b"]), "a\\u{1b}, b");
    }

    #[test]
    fn urls_lose_their_credentials() {
        let cases = [
            ("https://user:s3cret@mirror.example/v2", "https://***@mirror.example/v2"),
            ("http://tok@127.0.0.1:5000", "http://***@127.0.0.1:5000"),
            ("https://mirror.example/a@b", "https://mirror.example/a@b"),
            ("user:s3cret@mirror.example:5000/x", "***@mirror.example:5000/x"),
            ("http//u:p@host:5000", "***@host:5000"),
            ("https://a:b@c@d.example?x=@", "https://***@d.example?x=@"),
        ];
        for (raw, want) in cases {
            assert_eq!(redacted_url(raw), want, "{raw}");
        }
    }
}
