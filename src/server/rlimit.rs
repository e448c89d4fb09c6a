//! The file-descriptor limit and what it allows.
//!
//! The default connection cap (4 096) is four times the common soft `RLIMIT_NOFILE` (1 024). At
//! the limit `accept` fails with `EMFILE` before the cap or its health reserve can engage, and
//! every probe times out. So at start-up the soft limit is raised to the hard one, and the
//! connection cap is clamped to what is left once every other descriptor the process needs is
//! counted, with a warning that names the numbers.

use crate::config::Config;

/// Descriptors the process holds besides connections: stdio, the runtime's epoll and wakers,
/// the listeners, the SQLite writer, readers and their WAL/shm files, logs, and slack for
/// the blocking pool.
pub const BASE_FDS: u64 = 48;

/// What [`fit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    /// The soft limit in force after raising it.
    pub soft: u64,
    /// Descriptors set aside for everything but normal public connections.
    pub reserved: u64,
    /// `max_connections` before clamping, if it was clamped.
    pub clamped_from: Option<usize>,
}

/// Descriptors needed besides public connections (normal and reserve).
pub fn reserved_fds(config: &Config) -> u64 {
    BASE_FDS + ops_fds(config) + config.webhooks.delivery.concurrency as u64
}

fn ops_fds(config: &Config) -> u64 {
    if config.ops_listen.is_some() {
        config.ops_connections as u64
    } else {
        0
    }
}

/// Raises the soft limit to the hard limit and clamps `config.max_connections` and its health
/// reserve to fit. Logs a warning when it clamps. No-op (and `None`) where the limit cannot be
/// read.
pub fn fit(config: &mut Config) -> Option<Fitted> {
    let soft = raise_soft_limit()?;
    Some(clamp(config, soft))
}

/// [`fit`] for a given soft limit.
pub fn clamp(config: &mut Config, soft: u64) -> Fitted {
    let reserved = reserved_fds(config);
    let room = soft.saturating_sub(reserved).max(2);
    let wanted = (config.max_connections + config.reserve_connections) as u64;
    if wanted <= room {
        return Fitted {
            soft,
            reserved,
            clamped_from: None,
        };
    }
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    let was = (config.max_connections, config.reserve_connections);
    // The same share as at start-up (a sixteenth), at least one slot each.
    config.reserve_connections = (room / 16).clamp(1, config.reserve_connections.max(1));
    config.max_connections = room - config.reserve_connections;
    tracing::warn!(
        "--max-connections {} (+{} reserve) does not fit RLIMIT_NOFILE {soft}: {reserved} \
         descriptors are set aside (ops {}, webhooks {}, store and process {BASE_FDS}); serving at \
         most {} connections (+{} reserve). Raise the hard limit (ulimit -Hn, LimitNOFILE=) to \
         allow more",
        was.0,
        was.1,
        ops_fds(config),
        config.webhooks.delivery.concurrency,
        config.max_connections,
        config.reserve_connections,
    );
    Fitted {
        soft,
        reserved,
        clamped_from: Some(was.0),
    }
}

/// Sets the soft `RLIMIT_NOFILE` to the hard one; returns the soft limit now in force.
#[cfg(target_os = "linux")]
fn raise_soft_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let soft = limit.current?;
    match limit.maximum {
        Some(hard) if hard > soft => {
            limit.current = Some(hard);
            match setrlimit(Resource::Nofile, limit) {
                Ok(()) => {
                    tracing::debug!(from = soft, to = hard, "raised the soft RLIMIT_NOFILE");
                    Some(hard)
                }
                Err(e) => {
                    tracing::warn!(error = %e, soft, hard, "cannot raise RLIMIT_NOFILE");
                    Some(soft)
                }
            }
        }
        // Already at the hard limit, or the hard limit is unlimited (`None`): raise to it.
        Some(_) => Some(soft),
        None => {
            limit.current = None;
            setrlimit(Resource::Nofile, limit).ok().map(|()| u64::MAX)
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn raise_soft_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut c = Config::local("/tmp/unused");
        c.max_connections = 4096;
        c.reserve_connections = 256;
        c.ops_listen = Some("127.0.0.1:0".parse().unwrap());
        c.ops_connections = 16;
        c.webhooks.delivery.concurrency = 32;
        c
    }

    #[test]
    fn a_low_limit_clamps_connections_and_reserve() {
        let mut c = config();
        let f = clamp(&mut c, 1024);
        assert_eq!(f.reserved, BASE_FDS + 16 + 32);
        assert_eq!(f.clamped_from, Some(4096));
        let room = 1024 - (BASE_FDS + 48) as usize;
        assert_eq!(c.reserve_connections, room / 16);
        assert_eq!(c.max_connections + c.reserve_connections, room);
    }

    #[test]
    fn a_high_limit_changes_nothing() {
        let mut c = config();
        let f = clamp(&mut c, 1 << 20);
        assert_eq!(f.clamped_from, None);
        assert_eq!((c.max_connections, c.reserve_connections), (4096, 256));
    }

    #[test]
    fn a_tiny_limit_still_leaves_one_slot_each() {
        let mut c = config();
        clamp(&mut c, 10);
        assert_eq!((c.max_connections, c.reserve_connections), (1, 1));
    }
}
