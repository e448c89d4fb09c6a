//! The one URL policy of the API: what a `redirectUrl`, a one-time payment `url` and a webhook
//! `url` may be. One function, so the rules cannot drift apart between the fields.
//!
//! Compared with the published pattern `^https:\/\/[\w\.]+([\w#!:.?+=&%@\-\/]+)?$`:
//! - stricter, for security: no userinfo (`https://bank.example:pw@evil.example/` shows a
//!   trusted name but opens `evil.example`, a phishing link printed on a QR), and only
//!   printable ASCII (a valid `Location` header that cannot carry line breaks or markup);
//! - looser, for real URLs: every RFC 3986 character is allowed, so `~ , ; ( ) ' * $ [ ]`
//!   in paths and queries (common in tracking links and encoded deeplinks) are fine.

/// What a URL field accepts besides the common rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Longest URL, in characters.
    pub max_chars: usize,
    /// Also accept `http://` to a loopback host (local development and tests only).
    pub loopback_http: bool,
}

/// Characters RFC 3986 allows in a URI (unreserved, reserved, and `%` of escapes).
fn is_url_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// Checks `url` against `policy`; the error is a reason for an `invalidParams` entry.
pub fn check(url: &str, policy: UrlPolicy) -> Result<(), String> {
    let chars = url.chars().count();
    if chars > policy.max_chars {
        return Err(format!("must be at most {} characters", policy.max_chars));
    }
    if let Some(bad) = url
        .chars()
        .find(|&c| !(c.is_ascii() && is_url_char(c as u8)))
    {
        return Err(format!(
            "contains {bad:?}, which is not allowed in a URL (percent-encode it)"
        ));
    }
    let (rest, insecure) = if let Some(rest) = strip_scheme(url, "https://") {
        (rest, false)
    } else if let Some(rest) = strip_scheme(url, "http://").filter(|_| policy.loopback_http) {
        (rest, true)
    } else {
        return Err("must be an https:// URL".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // SECURITY: userinfo makes a URL read as one host and open another (phishing), and would
    // put credentials into logs.
    if authority.contains('@') {
        return Err("must not contain user:password@ before the host".to_owned());
    }
    let host = host_of(authority).ok_or_else(|| "must name a host after the scheme".to_owned())?;
    if insecure && !is_loopback(host) {
        return Err(
            "may use http:// only for a loopback host (localhost, 127.0.0.1, [::1]); use https://"
                .to_owned(),
        );
    }
    Ok(())
}

fn strip_scheme<'u>(url: &'u str, scheme: &str) -> Option<&'u str> {
    url.get(..scheme.len())
        .filter(|s| s.eq_ignore_ascii_case(scheme))
        .map(|_| &url[scheme.len()..])
}

/// The host of `host[:port]` or `[v6][:port]`, if both parts are well formed.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inner, after) = v6.split_once(']')?;
        let ok = !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b":.".contains(&b));
        // After the `]` only a port may follow: `[::1]evil.example` is not the loopback host
        // with junk ignored, it is no URL (and an HTTP client would read it otherwise).
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        (ok.then_some(&authority[..inner.len() + 2])?, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let name_ok = host.starts_with('[')
        || (host
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    (name_ok && port_ok).then_some(host)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTPS: UrlPolicy = UrlPolicy {
        max_chars: 100,
        loopback_http: false,
    };
    const DEV: UrlPolicy = UrlPolicy {
        max_chars: 100,
        loopback_http: true,
    };

    #[test]
    fn https_urls_with_any_rfc3986_characters_pass() {
        for good in [
            "https://example.com",
            "HTTPS://example.com/x",
            "https://a.example:8443/p?q=1#frag",
            "https://my-shop.example/~user/(a),b;c*d'e$f!g",
            "https://[::1]:8443/",
            "https://example.com/@handle",
            "https://api.vipps.no/dwo-api-application/v1/deeplink/vippsgateway?v=2&token=eyJ.a-b_c",
        ] {
            assert_eq!(check(good, HTTPS), Ok(()), "{good}");
        }
    }

    #[test]
    fn userinfo_is_refused_whatever_the_scheme() {
        for bad in [
            "https://bank.example:pw@evil.example/",
            "https://user@example.com/",
            "http://user:pw@127.0.0.1/",
        ] {
            let err = check(bad, DEV).expect_err(bad);
            assert!(err.contains("user:password@"), "{bad}: {err}");
        }
    }

    #[test]
    fn everything_else_that_is_not_an_https_url_with_a_host_is_refused() {
        for bad in [
            "http://example.com",
            "ftp://example.com",
            "example.com",
            "https://",
            "https:///path",
            "https://:443/",
            "https://-a.example/",
            "https://a.example:port/",
            "https://a.example:/",
            "https://[zz]/",
            "https://[::1]evil.example/",
            "https://[::1]8443/",
            "https://exa mple.com",
            "https://example.com/\r\nSet-Cookie: x",
            "https://example.com/<script>",
            "https://example.com/\"quote",
            "https://exämple.com",
            "https://a%2e.example/",
        ] {
            assert!(check(bad, HTTPS).is_err(), "{bad:?}");
        }
        assert!(check(&format!("https://e.x/{}", "a".repeat(100)), HTTPS).is_err());
    }

    #[test]
    fn http_only_to_loopback_and_only_when_allowed() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost:8080/",
            "http://[::1]:1/x",
            "HTTP://[::01]",
        ] {
            assert_eq!(check(url, DEV), Ok(()), "{url}");
            assert!(check(url, HTTPS).is_err(), "{url}");
        }
        for url in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://127.0.0.1.nip.io/",
            // Found by the webhook_url fuzz target: text after an IPv6 literal was ignored.
            "HTTP://[::01]T",
            "http://[::1]evil.example/",
        ] {
            assert!(check(url, DEV).is_err(), "{url}");
        }
    }
}
