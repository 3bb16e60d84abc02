//! A job's video fetched from its `source_url`, by the worker that runs the job.
//!
//! Only hosts on the configuration's allow-list (empty by default: the field is refused), over
//! http(s), with the outbound rules of [`crate::net`]: no private or loopback target unless
//! allowed, the checked address is the one called, no redirects. The body is streamed to an
//! upload folder of its own and counted against the same size limit as an upload.

use std::path::Path;

use crate::config::SourceSettings;
use crate::upload::{self, Upload};

/// Checks a `source_url` against the allow-list; answers why not.
pub fn check(url: &str, settings: &SourceSettings) -> Result<reqwest::Url, String> {
    if url.chars().any(char::is_control) {
        return Err("a URL with a control character in it".into());
    }
    if settings.allow.is_empty() {
        return Err(
            "`source_url` is not allowed by this service's configuration (its allow-list is empty): upload the file"
                .into(),
        );
    }
    let u = crate::net::check_url(url)?;
    let host = u.host_str().unwrap_or_default();
    if !settings.allow.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        return Err(format!(
            "`source_url`'s host `{host}` is not on this service's allow-list: upload the file"
        ));
    }
    Ok(u)
}

/// The file name a URL gives its video: its last path segment, made safe (an extension is
/// sniffed from the first bytes when it has none).
pub fn file_name(url: &reqwest::Url) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("source");
    let decoded = percent_encoding::percent_decode_str(last)
        .decode_utf8_lossy()
        .into_owned();
    let name = upload::file_name(Some(&decoded), &[]);
    if name.starts_with("upload.") {
        // No extension in the URL: keep the name and let the bytes say the container.
        decoded
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(100)
            .collect()
    } else {
        name
    }
}

/// Fetches `url` into a new upload under `root` (removed when the value is dropped).
pub async fn fetch(
    url: &str,
    name: &str,
    settings: &SourceSettings,
    root: &Path,
    limit: u64,
) -> Result<Upload, String> {
    let u = check(url, settings)?;
    let client = crate::net::pinned_client(&u, settings.allow_private, settings.timeout).await?;
    let resp = client.get(u).send().await.map_err(|e| {
        if e.is_timeout() {
            format!(
                "no answer within {} s",
                settings.timeout.as_secs_f64().round()
            )
        } else {
            format!("the request failed: {}", crate::error_chain(&e))
        }
    })?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(format!(
            "the server answered {status} (a redirect); redirects are not followed: give the final URL"
        ));
    }
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(format!(
            "the file is larger than this service's limit of {limit} bytes"
        ));
    }
    upload::from_response(root, resp, Some(name), limit)
        .await
        .map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(hosts: &[&str]) -> SourceSettings {
        SourceSettings {
            allow: hosts.iter().map(|h| h.to_string()).collect(),
            ..SourceSettings::default()
        }
    }

    #[test]
    fn only_allowed_hosts() {
        assert!(check("https://media.example.org/a.mp4", &allow(&[])).is_err());
        assert!(
            check(
                "https://media.example.org/a.mp4",
                &allow(&["media.example.org"])
            )
            .is_ok()
        );
        assert!(
            check(
                "https://MEDIA.example.org/a.mp4",
                &allow(&["media.example.org"])
            )
            .is_ok()
        );
        assert!(
            check(
                "https://other.example.org/a.mp4",
                &allow(&["media.example.org"])
            )
            .is_err()
        );
        assert!(
            check(
                "ftp://media.example.org/a.mp4",
                &allow(&["media.example.org"])
            )
            .is_err()
        );
        assert!(
            check(
                "https://u:p@media.example.org/a.mp4",
                &allow(&["media.example.org"])
            )
            .is_err()
        );
    }

    #[test]
    fn names_from_urls() -> Result<(), Box<dyn std::error::Error>> {
        let n = |s: &str| -> Result<String, Box<dyn std::error::Error>> {
            Ok(file_name(&reqwest::Url::parse(s)?))
        };
        assert_eq!(n("https://h/clips/a%20b.mp4?x=1")?, "a_b.mp4");
        assert_eq!(n("https://h/")?, "source");
        assert_eq!(n("https://h/v/12345")?, "12345");
        assert_eq!(n("https://h/../../etc/passwd")?, "passwd");
        assert_eq!(n("https://h/a%2F..%2Fb.mp4")?, "b.mp4");
        Ok(())
    }
}
