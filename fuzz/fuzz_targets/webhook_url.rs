//! Fuzz target `webhook_url`: untrusted webhook URLs through the API's URL policy.
//!
//! Invariants: never panics; an accepted URL is `https://` with a host (or, only when insecure
//! webhooks are allowed, `http://` to a loopback host), carries no credentials, and fits the
//! length limit — the properties the deliverer relies on when it connects.
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
        if lower.starts_with("http://") {
            // An IPv6 literal's own colons are no port separator: the name ends at its `]`.
            let name = match host.strip_prefix('[') {
                Some(_) => host.split_inclusive(']').next().unwrap_or(host),
                None => host.rsplit_once(':').map_or(host, |(h, _)| h),
            };
            assert!(
                name == "localhost" || name.starts_with("127.") || name == "[::1]",
                "accepted plain http to a non-loopback host: {url:?}"
            );
        }
    }
});
