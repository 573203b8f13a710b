//! Which proxy, if any, a request went through: what reqwest reads from
//! the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, each also in
//! lowercase; `NO_PROXY`). Used only to say so when a connection fails: a
//! dead proxy must be named, not blamed on the registry behind it.

use url::Url;

/// The proxy for `url`, and the variable that named it.
pub fn proxy_for(url: &Url) -> Option<(String, &'static str)> {
    let env = |names: &[&'static str]| {
        names.iter().find_map(|n| {
            let v = std::env::var(n).ok().filter(|v| !v.trim().is_empty())?;
            Some((v, *n))
        })
    };
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if let Some((list, _)) = env(&["NO_PROXY", "no_proxy"])
        && excluded(&list, &host)
    {
        return None;
    }
    // A CGI program's HTTP_PROXY may come from a request header: reqwest
    // ignores it then, and so do we.
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    let scheme = match url.scheme() {
        "https" => env(&["HTTPS_PROXY", "https_proxy"]),
        _ if cgi => None,
        _ => env(&["HTTP_PROXY", "http_proxy"]),
    };
    scheme.or_else(|| env(&["ALL_PROXY", "all_proxy"]))
}

/// Does `NO_PROXY`'s list cover `host`: `*`, the host itself, a domain
/// it is in (`example.com` and `.example.com` both cover
/// `a.example.com`), or a network in CIDR notation that holds it.
fn excluded(list: &str, host: &str) -> bool {
    list.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).any(|e| {
        let domain = e.trim_start_matches('.');
        e == "*" || host == domain || host.ends_with(&format!(".{domain}")) || in_network(&e, host)
    })
}

fn in_network(cidr: &str, host: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else { return false };
    let (Ok(net), Ok(ip), Ok(bits)) =
        (net.parse::<std::net::IpAddr>(), host.parse::<std::net::IpAddr>(), bits.parse::<u32>())
    else {
        return false;
    };
    let (net, ip, width) = match (net, ip) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(i)) => {
            (u128::from(u32::from(n)) << 96, u128::from(u32::from(i)) << 96, 32)
        }
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    // Both are aligned to the top bits, so one mask serves v4 and v6.
    let bits = bits.min(width);
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    (net & mask) == (ip & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_covers_hosts_domains_and_networks() {
        for (list, host, covered) in [
            ("*", "anything.example", true),
            ("example.com", "example.com", true),
            ("example.com", "a.example.com", true),
            (".example.com", "a.example.com", true),
            ("example.com", "notexample.com", false),
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.1.2.3", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("::1", "::1", true),
        ] {
            assert_eq!(excluded(list, host), covered, "{list} {host}");
        }
    }
}
