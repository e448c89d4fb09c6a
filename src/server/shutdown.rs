//! Graceful shutdown in two phases, so a load balancer sees the instance leave before its
//! connections do:
//! 1. **draining**: `/readyz` answers 503 but requests are still served and accepted;
//! 2. **stopping**: the listener closes and in-flight connections get a deadline to finish.
//!
//! SIGTERM runs phase 1 for the configured delay, then phase 2; Ctrl-C (an operator at a terminal)
//! goes straight to phase 2.
//!
//! During phase 1 clients are moved off before the listener closes (`server.rs`): every HTTP/1
//! response carries `Connection: close` and every HTTP/2 connection gets a GOAWAY, so each
//! client's next request opens a new connection (to another instance, once the load balancer has
//! seen `/readyz`) instead of meeting a closed one.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::watch;

/// The shared shutdown state. Cheap to query on every `/readyz`.
#[derive(Debug)]
pub struct Shutdown {
    draining: watch::Sender<bool>,
    /// The same as `draining`, read on every response without touching the watch's lock.
    draining_now: AtomicBool,
    stopping: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            draining: watch::Sender::new(false),
            draining_now: AtomicBool::new(false),
            stopping: watch::Sender::new(false),
        }
    }

    /// Phase 1: report not-ready from now on.
    pub fn start_draining(&self) {
        self.draining_now.store(true, Relaxed);
        self.draining.send_replace(true);
    }

    /// Phase 2: stop accepting and drain. Implies phase 1.
    pub fn stop(&self) {
        self.start_draining();
        self.stopping.send_replace(true);
    }

    /// Whether `/readyz` should say 503.
    pub fn is_draining(&self) -> bool {
        self.draining_now.load(Relaxed)
    }

    /// Resolves once draining has begun (immediately if it already has).
    pub async fn draining(&self) {
        let mut rx = self.draining.subscribe();
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// Resolves once [`Shutdown::stop`] has been called (immediately if it already was).
    pub async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        // An error means the sender is gone, which cannot happen while `self` is borrowed.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Waits for SIGTERM or Ctrl-C and walks the phases: SIGTERM drains for `delay` first.
    pub async fn on_signals(&self, delay: Duration) {
        match wait_for_signal().await {
            Signal::Terminate => {
                tracing::warn!(
                    delay_ms = delay.as_millis() as u64,
                    "SIGTERM: /readyz now 503, serving on until the delay ends"
                );
                self.start_draining();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = wait_for_signal() => tracing::warn!("second signal: skipping the delay"),
                }
            }
            Signal::Interrupt => tracing::warn!("Ctrl-C: stopping"),
        }
        self.stop();
    }
}

enum Signal {
    Terminate,
    Interrupt,
}

async fn wait_for_signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => Signal::Terminate,
                _ = tokio::signal::ctrl_c() => Signal::Interrupt,
            },
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                Signal::Interrupt
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_are_ordered() {
        let s = Shutdown::new();
        assert!(!s.is_draining());
        s.start_draining();
        assert!(s.is_draining());
        let stopped_now = tokio::select! {
            biased;
            _ = s.stopped() => true,
            _ = std::future::ready(()) => false,
        };
        assert!(!stopped_now, "draining alone must not stop the server");
        s.stop();
        s.stopped().await;
    }
}
