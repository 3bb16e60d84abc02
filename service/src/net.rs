//! Outbound HTTP to addresses that clients name (webhook endpoints, a job's `source_url`):
//! http(s) only, no credentials in the URL, and no loopback, private or link-local target unless
//! the configuration allows it. The name is resolved once and checked, and the request goes to
//! the address that was checked (so a second lookup cannot swap in a private one); redirects
//! are not followed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Checks that `url` is an http(s) URL with a host.
pub fn check_url(url: &str) -> std::result::Result<reqwest::Url, String> {
    if url.chars().any(char::is_control) {
        return Err("a URL with a control character in it".into());
    }
    let u = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("`{url}`: only http and https URLs are allowed"));
    }
    if u.host_str().is_none() {
        return Err(format!("`{url}` has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("`{url}`: credentials in the URL are not allowed"));
    }
    Ok(u)
}

/// Whether an address is one that outbound calls may not reach by default: anything but
/// global unicast. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4)
/// are judged by that address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || o[0] >= 240 // reserved
                || (o[0] == 100 && (o[1] & 0xC0) == 64) // 100.64/10, shared address space
                || (o[0] == 198 && (o[1] & 0xFE) == 18) // 198.18/15, benchmarking
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0/24, protocol assignments
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible).
            if let Some(v4) = v6.to_ipv4() {
                if !v6.is_loopback() && !v6.is_unspecified() {
                    return is_private(IpAddr::V4(v4));
                }
            }
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                is_private(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)))
            };
            if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return embedded(s[6], s[7]); // NAT64 64:ff9b::/96
            }
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]); // 6to4 2002::/16
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

/// Resolves the URL's host and picks an address it may reach.
pub async fn resolve_allowed(
    url: &reqwest::Url,
    allow_private: bool,
) -> std::result::Result<SocketAddr, String> {
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let lookup = tokio::net::lookup_host((host, port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(Duration::from_secs(10), lookup)
        .await
        .map_err(|_| format!("cannot resolve {host}: no answer within 10 s"))?
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(format!("{host} has no address"));
    };
    if allow_private {
        return Ok(first);
    }
    addrs
        .into_iter()
        .find(|a| !is_private(a.ip()))
        .ok_or_else(|| {
            format!(
                "{host} resolves to a private or loopback address, which this service does not call"
            )
        })
}

/// An HTTP client for `url` that connects only to the checked address, with no redirects.
pub async fn pinned_client(
    url: &reqwest::Url,
    allow_private: bool,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let addr = resolve_allowed(url, allow_private).await?;
    let host = url.host_str().unwrap_or_default().to_string();
    reqwest::Client::builder()
        .timeout(timeout)
        // A proxy would resolve the name itself, past the check above.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, addr)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(
                is_private(a.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
                "{a}"
            );
        }
        for a in [
            "8.8.8.8",
            "2001:4860::8888",
            "1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(
                !is_private(a.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{a}"
            );
        }
    }

    #[test]
    fn urls() {
        assert!(check_url("https://example.org/hook").is_ok());
        assert!(check_url("ftp://example.org/").is_err());
        assert!(check_url("http://user:pw@example.org/").is_err());
        assert!(check_url("not a url").is_err());
    }
}
