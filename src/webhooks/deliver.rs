//! The delivery worker: takes events from the store's outbox and POSTs them, signed, to the
//! merchants' webhooks.
//!
//! # Guarantees
//! - **At least once.** An event leaves the outbox only when a receiver answered 2xx, when it is
//!   given up (after [`RetryPolicy::give_up_after`], default 7 days), or when its webhook is
//!   deleted. A crash between the POST and the bookkeeping means one more POST later (receivers
//!   can drop duplicates by the `webhook-id` header, the event id).
//! - **Per-webhook order.** The store only hands out the oldest pending event of a webhook, so
//!   a later event waits until the earlier one is delivered or given up.
//! - **Isolation.** At most [`DeliveryConfig::concurrency`] attempts run at once, each bounded
//!   by [`DeliveryConfig::timeout`], and a webhook never has more than one attempt in flight:
//!   a slow or dead receiver holds one slot, never the queue.
//! - **Crash safety.** Claims are leases ([`DeliveryConfig::lease`]): events a dead worker held
//!   become claimable again when the lease lapses, by this or any other instance.
//!
//! # Driving it
//! [`Deliverer::run`] is the background task: it claims whenever a slot is free and something
//! is due, wakes on the scan handler's signal, polls as a fallback (other instances' events,
//! retries coming due), and stops on the shutdown signal. [`Deliverer::step`] is one synchronous
//! pass (claim, attempt all, record), which tests drive with a `ManualClock`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use super::backoff::RetryPolicy;
use super::sign::sign;
use crate::clock::SharedClock;
use crate::metrics;
use crate::secret::random_bytes;
use crate::store::{Delivery, DeliveryResult, Store, StoreError};

/// How long finished events (and expired scans) are kept for operators to look at before
/// [`Deliverer::run`] prunes them.
pub const FINISHED_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// Longest receiver answer read (and thrown away) so its connection can be reused.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// How often [`Deliverer::run`] prunes.
const PRUNE_EVERY_MS: i64 = 3600 * 1000;

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Retry schedule and give-up window.
    pub policy: RetryPolicy,
    /// Longest one attempt may take, connecting included; past it the attempt failed.
    pub timeout: Duration,
    /// Attempts in flight at once, across all webhooks.
    pub concurrency: usize,
    /// How long a claim keeps other workers off an event. Longer than `timeout`, so a live
    /// worker always finishes (or times out) before its lease lapses.
    pub lease: Duration,
    /// Fallback poll interval: retries coming due, and events other instances enqueued.
    pub poll_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            policy: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
            concurrency: 32,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Counters and gauges for `/metrics`, updated by the worker.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Attempts answered 2xx.
    pub delivered: AtomicU64,
    /// Attempts that failed and were scheduled again.
    pub retried: AtomicU64,
    /// Events given up after the retry window.
    pub failed: AtomicU64,
    /// Attempts whose claim was gone when they finished (webhook deleted meanwhile, or the
    /// lease lapsed and another worker took over).
    pub abandoned: AtomicU64,
    /// Pending events in the outbox at the last sample.
    pub queue_depth: AtomicU64,
    /// Age in ms of the oldest pending event at the last sample (0 when empty).
    pub oldest_pending_age_ms: AtomicI64,
}

impl DeliveryStats {
    /// Appends the webhook series in Prometheus text format.
    pub fn encode(&self, out: &mut String) {
        use std::fmt::Write as _;
        metrics::family(
            out,
            "qr_origin_webhook_deliveries_total",
            "counter",
            "Webhook delivery attempts, by outcome.",
        );
        for (outcome, n) in [
            ("delivered", &self.delivered),
            ("retry", &self.retried),
            ("failed", &self.failed),
            ("abandoned", &self.abandoned),
        ] {
            let _ = writeln!(
                out,
                "qr_origin_webhook_deliveries_total{{outcome=\"{outcome}\"}} {}",
                n.load(Relaxed)
            );
        }
        let age_secs = self.oldest_pending_age_ms.load(Relaxed) as f64 / 1000.0;
        let singles: [(&str, &str, &str, &dyn std::fmt::Display); 4] = [
            (
                "qr_origin_webhook_retries_total",
                "counter",
                "Failed attempts scheduled for a retry.",
                &self.retried.load(Relaxed),
            ),
            (
                "qr_origin_webhook_failures_total",
                "counter",
                "Events given up after the retry window.",
                &self.failed.load(Relaxed),
            ),
            (
                "qr_origin_webhook_queue_depth",
                "gauge",
                "Webhook events waiting in the outbox.",
                &self.queue_depth.load(Relaxed),
            ),
            (
                "qr_origin_webhook_oldest_pending_age_seconds",
                "gauge",
                "Age of the oldest waiting event.",
                &age_secs,
            ),
        ];
        for (name, kind, help, value) in singles {
            metrics::single(out, name, kind, help, value);
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: done.
    Delivered,
    /// Failed; the next attempt is due at `at_ms`. `attempts` counts this one.
    Retry { at_ms: i64, attempts: u32 },
    /// Failed, and the next attempt would fall outside the retry window: given up.
    Failed,
    /// The claim was gone when the attempt finished (webhook deleted, or lease lost).
    Abandoned,
}

/// One attempt, as [`Deliverer::step`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub event_id: String,
    pub webhook_id: String,
    pub outcome: Outcome,
    /// Why it failed (status or network error), for failed attempts.
    pub error: Option<String>,
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The delivery worker. Cheap to share (`Arc`); [`Deliverer::run`] takes one.
pub struct Deliverer {
    store: Arc<dyn Store>,
    clock: SharedClock,
    client: HttpClient,
    config: DeliveryConfig,
    stats: Arc<DeliveryStats>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    /// A worker over `store`; `wake` is what the scan handler signals after enqueuing.
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        config: DeliveryConfig,
        wake: Arc<Notify>,
        stats: Arc<DeliveryStats>,
    ) -> Deliverer {
        let mut http = HttpConnector::new();
        // `http://` only reaches loopback receivers the API allowed with
        // `--allow-insecure-webhooks`; everything else is https (rustls, Mozilla's roots).
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(https);
        Deliverer {
            store,
            clock,
            client,
            config,
            stats,
            wake,
        }
    }

    /// The counters and gauges this worker updates.
    pub fn stats(&self) -> &Arc<DeliveryStats> {
        &self.stats
    }

    /// One pass: claims every due event (up to `concurrency`, one per webhook), attempts them
    /// all at once, records each outcome, and refreshes the queue gauges.
    pub async fn step(self: &Arc<Self>) -> Result<Vec<Attempt>, StoreError> {
        let claimed = self.claim(self.config.concurrency).await?;
        let mut tasks = JoinSet::new();
        for d in claimed {
            let this = Arc::clone(self);
            tasks.spawn(async move { this.attempt(d).await });
        }
        let mut done = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok(a)) => done.push(a),
                Ok(Err(e)) => return Err(e),
                Err(e) => return Err(StoreError::Backend(format!("delivery task failed: {e}"))),
            }
        }
        self.sample_queue().await?;
        Ok(done)
    }

    /// Runs until `stop` resolves: claims whenever a slot is free, sleeping until woken by a
    /// scan, by a finished attempt, or by the poll interval. In-flight attempts are awaited
    /// (each is bounded by the timeout) before it returns.
    pub async fn run(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut stop = std::pin::pin!(stop);
        let mut last_prune_ms = i64::MIN;
        loop {
            let now = self.clock.now_ms();
            if now.saturating_sub(last_prune_ms) >= PRUNE_EVERY_MS {
                last_prune_ms = now;
                match self.store.prune_outbox(now - FINISHED_RETENTION_MS).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "pruned finished webhook events"),
                    Err(e) => tracing::warn!(error = %e, "pruning the webhook outbox failed"),
                }
            }
            let free = slots.available_permits();
            if free > 0 {
                match self.claim(free).await {
                    Ok(claimed) => {
                        for d in claimed {
                            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                                break;
                            };
                            let this = Arc::clone(&self);
                            tasks.spawn(async move {
                                let _slot = permit;
                                if let Err(e) = this.attempt(d).await {
                                    tracing::error!(error = %e, "recording a webhook delivery failed");
                                }
                            });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            if let Err(e) = self.sample_queue().await {
                tracing::warn!(error = %e, "sampling the webhook outbox failed");
            }
            tokio::select! {
                () = &mut stop => break,
                () = self.wake.notified() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn claim(&self, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let lease = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        self.store
            .claim_deliveries(self.clock.now_ms(), lease, limit)
            .await
    }

    async fn sample_queue(&self) -> Result<(), StoreError> {
        let s = self.store.outbox_stats().await?;
        self.stats.queue_depth.store(s.pending, Relaxed);
        let age = s
            .oldest_pending_created_at_ms
            .map_or(0, |t| (self.clock.now_ms() - t).max(0));
        self.stats.oldest_pending_age_ms.store(age, Relaxed);
        Ok(())
    }

    /// POSTs one claimed event and records the outcome in the store.
    async fn attempt(&self, d: Delivery) -> Result<Attempt, StoreError> {
        let sent = self.post(&d).await;
        let now = self.clock.now_ms();
        let (result, outcome, error) = match sent {
            Ok(()) => (DeliveryResult::Delivered, Outcome::Delivered, None),
            Err(error) => {
                let attempts = d.attempts.saturating_add(1);
                match self.config.policy.next_attempt_ms(
                    d.created_at_ms,
                    attempts,
                    now,
                    jitter_unit(),
                ) {
                    Some(at_ms) => (
                        DeliveryResult::Retry {
                            next_attempt_at_ms: at_ms,
                            error: error.clone(),
                        },
                        Outcome::Retry { at_ms, attempts },
                        Some(error),
                    ),
                    None => (
                        DeliveryResult::Failed {
                            error: error.clone(),
                        },
                        Outcome::Failed,
                        Some(error),
                    ),
                }
            }
        };
        let recorded = self.store.finish_delivery(&d, &result, now).await?;
        let outcome = if recorded {
            outcome
        } else {
            Outcome::Abandoned
        };
        let counter = match &outcome {
            Outcome::Delivered => &self.stats.delivered,
            Outcome::Retry { .. } => &self.stats.retried,
            Outcome::Failed => &self.stats.failed,
            Outcome::Abandoned => &self.stats.abandoned,
        };
        counter.fetch_add(1, Relaxed);
        match (&outcome, &error) {
            (Outcome::Failed, Some(e)) => tracing::warn!(
                event = %d.id, webhook = %d.webhook_id, error = %e,
                "webhook event given up after the retry window"
            ),
            (Outcome::Retry { at_ms, attempts }, Some(e)) => tracing::info!(
                event = %d.id, webhook = %d.webhook_id, error = %e, attempts, retry_at_ms = at_ms,
                "webhook delivery failed; will retry"
            ),
            _ => {}
        }
        Ok(Attempt {
            event_id: d.id,
            webhook_id: d.webhook_id,
            outcome,
            error,
        })
    }

    /// One signed POST; `Err` carries a short reason (status or network error).
    async fn post(&self, d: &Delivery) -> Result<(), String> {
        let uri: Uri = d
            .url
            .parse()
            .map_err(|e| format!("invalid webhook URL: {e}"))?;
        let now = UNIX_EPOCH
            + Duration::from_millis(u64::try_from(self.clock.now_ms()).unwrap_or_default());
        let date = httpdate::fmt_http_date(now);
        let sig = sign(&d.secret, &uri, d.body.as_bytes(), &date).map_err(|e| e.to_string())?;
        let value = |s: &str| HeaderValue::from_str(s).map_err(|e| format!("bad header: {e}"));
        let req = Request::post(uri)
            // The signed host, exactly: the receiver recomputes the signature from `Host`.
            .header(header::HOST, value(&sig.host)?)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "qr-origin-webhooks/1")
            .header("x-ms-date", value(&sig.date)?)
            .header("x-ms-content-sha256", value(&sig.content_sha256)?)
            .header(header::AUTHORIZATION, value(&sig.authorization)?)
            .header("webhook-id", value(&d.id)?)
            .header("webhook-event", value(&d.event)?)
            .body(Full::new(Bytes::from(d.body.clone())))
            .map_err(|e| format!("cannot build request: {e}"))?;
        let exchange = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("network error: {}", error_chain(&e)))?;
            let status = res.status();
            // The answer's body means nothing to us, but reading a small one lets the
            // connection go back to the pool; a large one is cut off (and its connection closed).
            let _ = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await;
            Ok::<_, String>(status)
        };
        let status = tokio::time::timeout(self.config.timeout, exchange)
            .await
            .map_err(|_| format!("timed out after {:?}", self.config.timeout))??;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

/// The error and its sources on one line (hyper's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        s.push_str(": ");
        s.push_str(&src.to_string());
        cur = src.source();
    }
    s
}

/// A uniform draw in [0, 1) for the backoff jitter. A failing OS random source only loses the
/// jitter (0.5 is the middle of the window), never a retry.
fn jitter_unit() -> f64 {
    random_bytes::<8>().map_or(0.5, |b| {
        (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_a_unit_draw() {
        for _ in 0..1000 {
            let u = jitter_unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }

    #[test]
    fn stats_render_as_prometheus_text() {
        let s = DeliveryStats::default();
        s.delivered.fetch_add(3, Relaxed);
        s.queue_depth.store(7, Relaxed);
        s.oldest_pending_age_ms.store(1_500, Relaxed);
        let mut out = String::new();
        s.encode(&mut out);
        assert!(out.contains("qr_origin_webhook_deliveries_total{outcome=\"delivered\"} 3"));
        assert!(out.contains("qr_origin_webhook_queue_depth 7"));
        assert!(out.contains("qr_origin_webhook_oldest_pending_age_seconds 1.5"));
    }
}
