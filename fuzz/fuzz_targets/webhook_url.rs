//! Fuzz target `webhook_url`: untrusted webhook URLs through the API's URL policy.
//!
//! Invariants: never panics; an accepted URL is `https://` with a host (or, only when insecure
//! webhooks are allowed, `http://` to a loopback host), an IPv6 literal followed by nothing but
//! a port, carries no credentials, and fits the length limit — the properties the deliverer
//! relies on when it connects.
//!
//! Run: `cargo +nightly fuzz run webhook_url`; build only: `cargo build --manifest-path fuzz/Cargo.toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qr_origin::api::webhooks::validate_url;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(url) = std::str::from_utf8(rest) else {
        return;
    };
    let insecure = mode & 1 == 1;
    if validate_url(url, insecure).is_ok() {
        let lower = url.to_ascii_lowercase();
        let authority = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://").filter(|_| insecure))
            .unwrap_or_else(|| {
                panic!("accepted a URL that is neither https nor allowed http: {url:?}")
            });
        let host = authority.split(['/', '?', '#']).next().unwrap_or("");
        assert!(!host.is_empty(), "accepted a URL without a host: {url:?}");
        assert!(!host.contains('@'), "accepted credentials in {url:?}");
        // An IPv6 literal's own colons are no port separator: it ends at its `]`, and only a
        // port may follow.
        let v6 = host.strip_prefix('[').map(|v6| {
            let (inner, after) = v6.split_once(']').expect("an accepted literal closes");
            assert!(
                after.is_empty() || after.starts_with(':'),
                "accepted text after an IPv6 literal: {url:?}"
            );
            inner
        });
        if lower.starts_with("http://") {
            let loopback = match v6 {
                Some(inner) => inner
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|ip| ip.is_loopback()),
                None => {
                    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
                    name == "localhost" || name.starts_with("127.")
                }
            };
            assert!(
                loopback,
                "accepted plain http to a non-loopback host: {url:?}"
            );
        }
    }
});
