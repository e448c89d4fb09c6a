//! The visitor's address: the socket peer, or, when the peer is a trusted proxy, the first hop
//! of `X-Forwarded-For` (read from the right) that is not one.
//!
//! SECURITY: anyone can send `X-Forwarded-For`; it is believed only from a `--trusted-proxy`,
//! and only as far back as the chain of trusted proxies goes, so a client cannot pose as many
//! visitors by inventing hops.

use std::net::IpAddr;

use http::HeaderMap;

use crate::config::scans::Cidr;

/// The address a scan is attributed to.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    // Later headers were appended by proxies nearer to us: read the last one first.
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            return client;
        };
        for hop in value.rsplit(',') {
            let Some(ip) = parse_hop(hop.trim()) else {
                return client;
            };
            client = ip;
            if !is_trusted(ip) {
                return ip;
            }
        }
    }
    client
}

/// An address as proxies write them: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]`, optionally
/// with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(sock) = hop.parse::<std::net::SocketAddr>() {
        return Some(sock.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = [Cidr::parse("10.0.0.0/8").expect("cidr")];
        let h = xff(&["203.0.113.7, 10.0.0.2"]);
        // An untrusted peer: its header is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
        // A trusted peer: the first untrusted hop from the right.
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.7"));
        // A forged hop before the real client is not reached.
        let h = xff(&["1.1.1.1", "203.0.113.7"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.7"));
        // Only trusted hops: the leftmost.
        let h = xff(&["10.0.0.9, 10.0.0.8"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.9"));
        // Garbage stops the walk at the last good hop; ports and brackets are understood.
        let h = xff(&["junk, 10.0.0.5"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.5"));
        let h = xff(&["[2001:db8::1]:443"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("2001:db8::1"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        // No trusted proxies at all: always the peer.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &xff(&["1.2.3.4"]), &[]),
            ip("10.0.0.1")
        );
    }
}
