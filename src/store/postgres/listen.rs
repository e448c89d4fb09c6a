//! The `LISTEN` connection: tells this instance what the others wrote, and whether the
//! database is there at all.
//!
//! One connection outside the pool `LISTEN`s on the link and outbox channels and turns each
//! notification into a [`Change`]. Notifications sent while it is disconnected are lost for
//! good, so every (re)connect first sends [`Change::Resync`]: caches drop everything and
//! workers look for due events. While it is down (or a periodic `SELECT 1` times out) the
//! store reports itself unavailable, which turns `/readyz` to 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{LINKS_CHANNEL, OUTBOX_CHANNEL};
use crate::store::Change;

/// How often the connection is probed, and how long a probe may take.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between reconnection attempts.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);

/// What the task needs.
pub(super) struct Listener {
    pub config: Config,
    pub tls: Option<MakeRustlsConnect>,
    pub instance: Arc<str>,
    pub changes: broadcast::Sender<Change>,
    pub available: Arc<AtomicBool>,
    /// Signalled once `LISTEN` is in place, so a freshly connected store hears every change
    /// committed after `connect` returned.
    pub listening: Arc<tokio::sync::Notify>,
}

/// Aborts the task when the store is dropped.
pub(super) struct Guard(JoinHandle<()>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn spawn(l: Listener) -> Guard {
    Guard(tokio::spawn(async move { l.run().await }))
}

impl Listener {
    async fn run(self) {
        let mut was_up = true;
        loop {
            match self.session().await {
                Ok(()) => {}
                Err(e) => {
                    if was_up {
                        tracing::warn!(error = %e, "PostgreSQL notification connection lost");
                    }
                }
            }
            was_up = false;
            self.available.store(false, Ordering::Relaxed);
            tokio::time::sleep(RECONNECT_EVERY).await;
        }
    }

    /// One connection's life: connect, `LISTEN`, forward until it fails.
    async fn session(&self) -> Result<(), String> {
        let (client, messages) = match &self.tls {
            Some(tls) => connect(&self.config, tls.clone()).await?,
            None => connect(&self.config, NoTls).await?,
        };
        let mut messages = messages;
        client
            .batch_execute(&format!("LISTEN {LINKS_CHANNEL}; LISTEN {OUTBOX_CHANNEL};"))
            .await
            .map_err(|e| e.to_string())?;
        if !self.available.swap(true, Ordering::Relaxed) {
            tracing::info!("PostgreSQL reachable again");
        }
        let _ = self.changes.send(Change::Resync);
        self.listening.notify_one();
        let mut probe = tokio::time::interval(PROBE_EVERY);
        loop {
            tokio::select! {
                m = messages.recv() => match m {
                    Some(n) => self.forward(&n.0, &n.1),
                    None => return Err("connection closed".into()),
                },
                _ = probe.tick() => {
                    match tokio::time::timeout(PROBE_TIMEOUT, client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(e.to_string()),
                        Err(_) => return Err("probe timed out".into()),
                    }
                }
            }
        }
    }

    fn forward(&self, channel: &str, payload: &str) {
        let (from, rest) = payload.split_once(' ').unwrap_or((payload, ""));
        if from == &*self.instance {
            // Our own write: this instance already updated its cache and woke its worker.
            return;
        }
        let change = match channel {
            LINKS_CHANNEL => Change::Link(rest.to_owned()),
            OUTBOX_CHANNEL => Change::Outbox,
            _ => return,
        };
        let _ = self.changes.send(change);
    }
}

/// Connects and spawns the task driving the connection; notifications come out of the
/// returned channel, which closes when the connection ends.
async fn connect<T>(
    config: &Config,
    tls: T,
) -> Result<(Client, tokio::sync::mpsc::Receiver<(String, String)>), String>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    let (client, mut conn) = config.connect(tls).await.map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    tokio::spawn(async move {
        while let Some(m) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx
                        .send((n.channel().to_owned(), n.payload().to_owned()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    Ok((client, rx))
}
