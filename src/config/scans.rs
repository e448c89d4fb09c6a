//! Scan-analytics flags (part of `serve`): counting on or off, the flush window, how long
//! hourly buckets are kept, the pending-entry cap, and the proxies whose `X-Forwarded-For` is
//! believed.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::bail;

use super::parse_duration;

/// Flush window by default: what a `kill -9` may lose.
pub const DEFAULT_SCAN_FLUSH: Duration = Duration::from_secs(5);
/// Pending entries (an hour of a code, or a visitor of a day) held in memory at most: ~100
/// bytes each, so 10 MB under a flood of scans of many codes.
pub const DEFAULT_SCAN_PENDING_MAX: usize = 100_000;

#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// Count scans of merchant-redirect and merchant-callback QRs (`on`|`off`); off, the short
    /// links answer exactly as fast as without analytics and the scans API shows zeros.
    #[arg(long, env = "QR_ORIGIN_SCAN_COUNTING", default_value = "on", value_parser = parse_on_off)]
    pub scan_counting: OnOff,

    /// How often each instance adds what it counted to the store; a `kill -9` loses at most
    /// this window (SIGTERM flushes everything).
    #[arg(long, env = "QR_ORIGIN_SCAN_FLUSH", default_value = "5s", value_parser = parse_duration)]
    pub scan_flush: Duration,

    /// How long hourly buckets are kept; older hours are folded into their day.
    #[arg(long, env = "QR_ORIGIN_SCAN_RETENTION", default_value = "400d", value_parser = parse_duration)]
    pub scan_retention: Duration,

    /// Pending entries held in memory at most; half of it triggers an early flush, and while
    /// the store is down scans beyond it are dropped (`qr_origin_scans_dropped_total`).
    #[arg(long, env = "QR_ORIGIN_SCAN_PENDING_MAX", default_value_t = DEFAULT_SCAN_PENDING_MAX)]
    pub scan_pending_max: usize,

    /// A proxy or load balancer in front of this service, as an address or CIDR block
    /// (`10.0.0.0/8`, `::1`). Repeatable; in the env var, separate with commas. Only when the
    /// peer is one of them is `X-Forwarded-For` read for the visitor's address (its first
    /// hop, from the right, that is not one of them).
    #[arg(long = "trusted-proxy", env = "QR_ORIGIN_TRUSTED_PROXY", value_name = "CIDR", value_delimiter = ',', value_parser = Cidr::parse)]
    pub trusted_proxies: Vec<Cidr>,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnOff(pub bool);

fn parse_on_off(s: &str) -> Result<OnOff, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" => Ok(OnOff(true)),
        "off" | "false" => Ok(OnOff(false)),
        _ => Err(format!("{s:?}: expected on or off")),
    }
}

/// Validated scan settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettings {
    pub counting: bool,
    pub flush: Duration,
    pub retention: Duration,
    pub pending_max: usize,
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            counting: true,
            flush: DEFAULT_SCAN_FLUSH,
            retention: Duration::from_secs(400 * 86_400),
            pending_max: DEFAULT_SCAN_PENDING_MAX,
            trusted_proxies: Vec::new(),
        }
    }
}

impl ScanArgs {
    pub fn validate(&self) -> anyhow::Result<ScanSettings> {
        if !(Duration::from_millis(10)..=Duration::from_secs(3600)).contains(&self.scan_flush) {
            bail!("--scan-flush: must be from 10ms to 1h");
        }
        if !(Duration::from_secs(86_400)..=Duration::from_secs(100 * 365 * 86_400))
            .contains(&self.scan_retention)
        {
            bail!("--scan-retention: must be from 1d to 100 years");
        }
        if !(16..=100_000_000).contains(&self.scan_pending_max) {
            bail!("--scan-pending-max: must be within 16..=100000000");
        }
        Ok(ScanSettings {
            counting: self.scan_counting.0,
            flush: self.scan_flush,
            retention: self.scan_retention,
            pending_max: self.scan_pending_max,
            trusted_proxies: self.trusted_proxies.clone(),
        })
    }
}

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: expected an IP address or CIDR block"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0..={max}"))?,
        };
        Ok(Cidr { net, prefix })
    }

    /// Whether `ip` is in the block (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_contain_their_addresses() {
        let c = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(c.contains("10.1.2.3".parse().expect("ip")));
        assert!(c.contains("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!c.contains("11.0.0.1".parse().expect("ip")));
        let one = Cidr::parse("::1").expect("cidr");
        assert!(one.contains("::1".parse().expect("ip")));
        assert!(!one.contains("::2".parse().expect("ip")));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
