//! Prometheus metrics, hand-rolled on atomics: the set is small and fixed, and a registry crate
//! would add a dependency and a hash-map lookup per label set anyway. A request touches no lock:
//! its route's stats are found in the list registered at start-up, its status in a few atomic
//! slots.
//!
//! Series (all prefixed `qr_origin_`):
//! - `http_requests_total{route,status}`, `http_request_duration_seconds{route}` (histogram)
//! - `cache_hits_total`, `cache_misses_total`, `cache_evictions_total`, `cache_bytes`,
//!   `cache_entries` (gauges sampled at scrape time)
//! - `render_duration_seconds{format}` (histogram; its `_count` is the number of renders)
//! - `token_rejections_total{reason}`, and any counter other modules add through
//!   [`Metrics::inc`].
//!
//! Labelled series a dashboard groups by are exported at 0 from start-up (every token-rejection
//! reason, every route via [`Metrics::register_routes`]; the render formats and webhook
//! outcomes are fixed sets), so a fresh server's panels show zeros, not "no data".
//! - `webhook_deliveries_total{outcome}`, `webhook_retries_total`, `webhook_failures_total`,
//!   `webhook_queue_depth`, `webhook_oldest_pending_age_seconds`: kept by the delivery worker
//!   ([`crate::webhooks::deliver::DeliveryStats`]) and appended by `/metrics` (`ops.rs`).
//! - `scans_total{platform}`, `scan_bots_total{platform}` (every platform from start-up),
//!   `scans_dropped_total`, `scan_flush_failures_total`: kept by the scan counter
//!   (`crate::analytics::ScanStats`) and appended by `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::render::Format;
use crate::token::TokenError;

/// Upper bounds (seconds) shared by the latency and render histograms: origin hits sit in the
/// tens of microseconds, renders in the hundreds, anything past 1 s is an incident.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
    5.0,
];

/// A fixed-bucket histogram of durations; lock-free.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per-bucket (non-cumulative) counts; the last slot is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(d.as_nanos() as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn encode(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.buckets[BUCKETS.len()].load(Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.sum_ns.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count.load(Relaxed));
    }
}

/// Status slots per route: the router's routes answer a handful of statuses each.
const STATUS_SLOTS: usize = 8;

/// One route's request counts by status and its latency histogram; lock-free but for statuses
/// past the slots.
#[derive(Debug, Default)]
struct RouteStats {
    /// `(status, count)`, a slot claimed by the first request with its status (0: free).
    statuses: [(AtomicU32, AtomicU64); STATUS_SLOTS],
    /// Statuses that found every slot taken.
    more: Mutex<BTreeMap<u16, u64>>,
    latency: Histogram,
}

impl RouteStats {
    /// Adds `n` (0 exports the status before its first request) to `status`'s count.
    fn count(&self, status: u16, n: u64) {
        let want = u32::from(status);
        for (slot, count) in &self.statuses {
            let mut held = slot.load(Relaxed);
            if held == 0 {
                held = match slot.compare_exchange(0, want, Relaxed, Relaxed) {
                    Ok(_) => want,
                    Err(other) => other,
                };
            }
            if held == want {
                count.fetch_add(n, Relaxed);
                return;
            }
        }
        *self
            .more
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_insert(0) += n;
    }

    fn observe(&self, status: u16, elapsed: Duration) {
        self.count(status, 1);
        self.latency.observe(elapsed);
    }

    fn by_status(&self) -> BTreeMap<u16, u64> {
        let mut all = self.more.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (slot, count) in &self.statuses {
            if let Ok(status) = u16::try_from(slot.load(Relaxed))
                && status != 0
            {
                *all.entry(status).or_insert(0) += count.load(Relaxed);
            }
        }
        all
    }
}

/// Counters added by name from any module: `(name, label name, label value)` → count.
type Counters = BTreeMap<(&'static str, &'static str, &'static str), u64>;

/// Gauges owned by other components, sampled when `/metrics` is scraped.
#[derive(Debug, Default, Clone, Copy)]
pub struct CacheGauges {
    pub bytes: u64,
    pub entries: u64,
    /// Counted by the cache's eviction listener, which cannot reach the metrics.
    pub evictions: u64,
}

/// All process metrics; one instance lives in the app state.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The router's routes, registered once at start-up, in its order (the image origin,
    /// most of the traffic, first): found by a short scan, no lock.
    routes: OnceLock<Vec<(&'static str, RouteStats)>>,
    /// Any other label (a second registration, a label the router does not list).
    other_routes: Mutex<BTreeMap<&'static str, Arc<RouteStats>>>,
    counters: Mutex<Counters>,
    helps: Mutex<BTreeMap<&'static str, &'static str>>,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    render_png: Histogram,
    render_svg: Histogram,
    render_text: Histogram,
    render_pdf: Histogram,
    /// Connections currently open (normal and reserve).
    pub connections_open: AtomicI64,
    /// Connections refused because even the reserve was full.
    pub connections_refused: AtomicU64,
}

/// The family [`Metrics::token_rejected`] counts into.
const TOKEN_REJECTIONS: &str = "qr_origin_token_rejections_total";
const TOKEN_REJECTIONS_HELP: &str = "Image tokens refused, by reason.";

/// The status every route is exported with at 0 before its first request: any route can answer
/// it (an internal error), and it is what an error-rate panel selects.
const ZERO_STATUS: u16 = 500;

impl Metrics {
    /// Metrics with every token-rejection reason at 0: a counter that appears only at its first
    /// increment leaves a fresh server's dashboard with "no data" instead of 0.
    pub fn new() -> Metrics {
        let m = Metrics::default();
        {
            let mut c = m.counters.lock().unwrap_or_else(|p| p.into_inner());
            for reason in TokenError::REJECTION_REASONS {
                c.insert((TOKEN_REJECTIONS, "reason", reason), 0);
            }
        }
        m.helps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(TOKEN_REJECTIONS, TOKEN_REJECTIONS_HELP);
        m
    }

    /// Exports `routes` (the router's labels) at 0 before their first request: a request count
    /// (`status="500"`) and an empty latency histogram each, for the same reason as [`new`].
    ///
    /// [`new`]: Metrics::new
    pub fn register_routes(&self, routes: impl IntoIterator<Item = &'static str>) {
        let mut fresh: Vec<(&'static str, RouteStats)> = Vec::new();
        for route in routes {
            if !fresh.iter().any(|(r, _)| *r == route) {
                fresh.push((route, RouteStats::default()));
            }
        }
        for (_, stats) in &fresh {
            stats.count(ZERO_STATUS, 0);
        }
        if let Err(again) = self.routes.set(fresh) {
            // Registered before: these labels go with the others.
            for (route, _) in again {
                self.route_stats(route).count(ZERO_STATUS, 0);
            }
        }
    }

    /// Records one finished request.
    pub fn observe_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        let registered = self.routes.get().and_then(|all| {
            all.iter()
                .find(|(r, _)| std::ptr::eq(*r, route) || *r == route)
        });
        match registered {
            Some((_, stats)) => stats.observe(status, elapsed),
            None => self.route_stats(route).observe(status, elapsed),
        }
    }

    /// The stats of a route missing from the registered list.
    fn route_stats(&self, route: &'static str) -> Arc<RouteStats> {
        let mut other = self.other_routes.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(other.entry(route).or_default())
    }

    /// Records one render of `format` that took `elapsed`.
    pub fn observe_render(&self, format: Format, elapsed: Duration) {
        self.render_histogram(format).observe(elapsed);
    }

    /// Renders done so far for `format`.
    pub fn renders(&self, format: Format) -> u64 {
        self.render_histogram(format).count()
    }

    fn render_histogram(&self, format: Format) -> &Histogram {
        match format {
            Format::Png => &self.render_png,
            Format::Svg => &self.render_svg,
            Format::Text => &self.render_text,
            Format::Pdf => &self.render_pdf,
        }
    }

    /// Adds one to the counter `name{label="value"}`; `help` documents the family on first use.
    pub fn inc(&self, name: &'static str, help: &'static str, label: (&'static str, &'static str)) {
        {
            let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            *c.entry((name, label.0, label.1)).or_insert(0) += 1;
        }
        let mut h = self.helps.lock().unwrap_or_else(|p| p.into_inner());
        h.entry(name).or_insert(help);
    }

    /// Counts a token refused for `reason` (a `TokenError::reason()`).
    pub fn token_rejected(&self, reason: &'static str) {
        self.inc(TOKEN_REJECTIONS, TOKEN_REJECTIONS_HELP, ("reason", reason));
    }

    /// The current value of a counter added with [`Metrics::inc`].
    pub fn counter(&self, name: &str, label_value: &str) -> u64 {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.iter()
            .filter(|((n, _, v), _)| *n == name && *v == label_value)
            .map(|(_, n)| *n)
            .sum()
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn encode(&self, cache: CacheGauges) -> String {
        let mut out = String::with_capacity(8 * 1024);
        {
            let other = self.other_routes.lock().unwrap_or_else(|p| p.into_inner());
            let mut routes: BTreeMap<&str, &RouteStats> = BTreeMap::new();
            for (route, s) in self.routes.get().into_iter().flatten() {
                routes.insert(*route, s);
            }
            for (route, s) in other.iter() {
                routes.entry(*route).or_insert(&**s);
            }
            family(
                &mut out,
                "qr_origin_http_requests_total",
                "counter",
                "HTTP requests answered, by route and status.",
            );
            for (route, s) in &routes {
                for (status, n) in &s.by_status() {
                    let _ = writeln!(
                        out,
                        "qr_origin_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
            family(
                &mut out,
                "qr_origin_http_request_duration_seconds",
                "histogram",
                "Time from request head to response head, by route.",
            );
            for (route, s) in &routes {
                s.latency.encode(
                    &mut out,
                    "qr_origin_http_request_duration_seconds",
                    &format!("route=\"{route}\""),
                );
            }
        }
        let simple = [
            (
                "qr_origin_cache_hits_total",
                "counter",
                "Image requests answered from the cache.",
                self.cache_hits.load(Relaxed),
            ),
            (
                "qr_origin_cache_misses_total",
                "counter",
                "Image requests that had to render (or wait for a render).",
                self.cache_misses.load(Relaxed),
            ),
            (
                "qr_origin_cache_evictions_total",
                "counter",
                "Images evicted from the cache for space.",
                cache.evictions,
            ),
            (
                "qr_origin_cache_bytes",
                "gauge",
                "Bytes held by the image cache (weighted size).",
                cache.bytes,
            ),
            (
                "qr_origin_cache_entries",
                "gauge",
                "Images held by the cache.",
                cache.entries,
            ),
            (
                "qr_origin_connections_open",
                "gauge",
                "Open client connections.",
                self.connections_open.load(Relaxed).max(0) as u64,
            ),
            (
                "qr_origin_connections_refused_total",
                "counter",
                "Connections closed at once because every slot was taken.",
                self.connections_refused.load(Relaxed),
            ),
        ];
        for (name, kind, help, v) in simple {
            single(&mut out, name, kind, help, v);
        }
        family(
            &mut out,
            "qr_origin_render_duration_seconds",
            "histogram",
            "Time to render one image, by format.",
        );
        for (f, h) in [
            ("png", &self.render_png),
            ("svg", &self.render_svg),
            ("text", &self.render_text),
            ("pdf", &self.render_pdf),
        ] {
            h.encode(
                &mut out,
                "qr_origin_render_duration_seconds",
                &format!("format=\"{f}\""),
            );
        }
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let helps = self.helps.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = "";
        for ((name, label, value), n) in counters.iter() {
            if *name != last {
                family(
                    &mut out,
                    name,
                    "counter",
                    helps.get(name).copied().unwrap_or(""),
                );
                last = name;
            }
            let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
        }
        out
    }
}

/// A family's `# HELP` and `# TYPE` lines; `kind` is `counter`, `gauge` or `histogram`.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A family of one unlabelled sample: for the series other components keep (the webhook
/// worker, the render pool, the in-flight budget) and `/metrics` appends.
pub fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(30));
        h.observe(Duration::from_micros(700));
        h.observe(Duration::from_secs(9));
        let mut out = String::new();
        h.encode(&mut out, "x", "a=\"b\"");
        assert!(
            out.contains("x_bucket{a=\"b\",le=\"0.00005\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"5\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3\n"), "{out}");
    }

    #[test]
    fn encodes_requests_and_counters() {
        let m = Metrics::new();
        m.observe_request("origin", 200, Duration::from_micros(80));
        m.observe_request("origin", 200, Duration::from_micros(80));
        m.observe_request("origin", 404, Duration::from_micros(80));
        m.token_rejected("expired");
        m.observe_render(Format::Svg, Duration::from_micros(100));
        let text = m.encode(CacheGauges {
            bytes: 1234,
            entries: 1,
            evictions: 0,
        });
        assert!(
            text.contains("qr_origin_http_requests_total{route=\"origin\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("qr_origin_http_requests_total{route=\"origin\",status=\"404\"} 1\n")
        );
        assert!(text.contains("qr_origin_token_rejections_total{reason=\"expired\"} 1\n"));
        assert!(text.contains("qr_origin_cache_bytes 1234\n"));
        assert!(text.contains("qr_origin_render_duration_seconds_count{format=\"svg\"} 1\n"));
        assert_eq!(m.renders(Format::Svg), 1);
        assert_eq!(m.counter("qr_origin_token_rejections_total", "expired"), 1);
    }

    #[test]
    fn labelled_series_are_exported_at_zero_before_their_first_event() {
        let m = Metrics::new();
        m.register_routes(["origin", "healthz"]);
        let text = m.encode(CacheGauges::default());
        for reason in TokenError::REJECTION_REASONS {
            let line = format!("qr_origin_token_rejections_total{{reason=\"{reason}\"}} 0\n");
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert!(text.contains("# HELP qr_origin_token_rejections_total Image tokens refused"));
        for route in ["origin", "healthz"] {
            let count =
                format!("qr_origin_http_requests_total{{route=\"{route}\",status=\"500\"}} 0\n");
            assert!(text.contains(&count), "{count} in\n{text}");
            let latency =
                format!("qr_origin_http_request_duration_seconds_count{{route=\"{route}\"}} 0\n");
            assert!(text.contains(&latency), "{latency} in\n{text}");
        }
        m.token_rejected("expired");
        m.observe_request("origin", 200, Duration::from_micros(80));
        let text = m.encode(CacheGauges::default());
        assert!(text.contains("qr_origin_token_rejections_total{reason=\"expired\"} 1\n"));
        assert!(text.contains("qr_origin_token_rejections_total{reason=\"malformed\"} 0\n"));
        assert!(
            text.contains("qr_origin_http_requests_total{route=\"origin\",status=\"200\"} 1\n")
        );
    }
}
