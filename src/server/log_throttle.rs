//! At most one log line a second for an event that can repeat at request rate.
//!
//! Under a flood every refused request is the same news: the render-flood campaign of
//! `scripts/abuse.sh` drew 12 000 `503`s a second, and a warning for each spent the server's
//! CPU on formatting and `write(2)` (the work the refusals exist to shed) and filled the disk at
//! the attacker's pace. The first event logs at once; later ones within the same second are
//! counted, and the next line that gets through says how many it stands for.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

#[derive(Debug)]
pub struct LogThrottle {
    /// Whole seconds since [`epoch`] at the last line logged, plus one (0 = never logged).
    last: AtomicU64,
    /// Events since the last line logged.
    suppressed: AtomicU64,
}

/// A process-wide monotonic origin for the throttles' seconds.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl LogThrottle {
    pub const fn new() -> LogThrottle {
        LogThrottle {
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Counts one event; `Some(n)` when this one should be logged, `n` being the events left
    /// unlogged since the last line.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(epoch().elapsed().as_secs() + 1)
    }

    fn admit_at(&self, second: u64) -> Option<u64> {
        let last = self.last.load(Relaxed);
        // Exactly one caller per second wins the exchange; the rest count themselves.
        if second > last
            && self
                .last
                .compare_exchange(last, second, Relaxed, Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Relaxed));
        }
        self.suppressed.fetch_add(1, Relaxed);
        None
    }
}

impl Default for LogThrottle {
    fn default() -> LogThrottle {
        LogThrottle::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_carrying_the_count_of_the_rest() {
        let t = LogThrottle::new();
        assert_eq!(t.admit_at(1), Some(0), "the first event logs at once");
        for _ in 0..999 {
            assert_eq!(
                t.admit_at(1),
                None,
                "the same second is counted, not logged"
            );
        }
        assert_eq!(
            t.admit_at(2),
            Some(999),
            "the next second's line says what it stands for"
        );
        assert_eq!(t.admit_at(2), None);
        assert_eq!(t.admit_at(5), Some(1));
        assert_eq!(t.admit_at(5), None);
    }

    #[test]
    fn a_quiet_spell_logs_the_next_event_at_once() {
        let t = LogThrottle::new();
        assert_eq!(t.admit_at(1), Some(0));
        assert_eq!(t.admit_at(100), Some(0));
    }

    #[test]
    fn concurrent_events_in_one_second_log_once() {
        let t = std::sync::Arc::new(LogThrottle::new());
        let logged: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let t = &t;
                    s.spawn(move || (0..1000).filter(|_| t.admit_at(7).is_some()).count() as u64)
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).sum()
        });
        assert_eq!(logged, 1);
        assert_eq!(t.admit_at(8), Some(7999));
    }
}
