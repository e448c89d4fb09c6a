//! When to retry a failed webhook delivery, and when to give up.
//!
//! Exponential backoff with "equal jitter": the n-th retry waits between half and all of
//! `initial · 2ⁿ` (capped at `max_delay`), so a receiver that comes back is not hit by every
//! queued delivery at the same instant, and no retry is ever sooner than half its nominal delay.

use std::time::Duration;

/// Retry schedule for one event. Pure: the caller supplies time and randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Nominal delay before the first retry.
    pub initial: Duration,
    /// Longest wait between two attempts.
    pub max_delay: Duration,
    /// An event still undelivered this long after it was created is marked failed.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    /// 5 s doubling to at most 1 h between attempts, for 7 days (as published).
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The delay after `failed_attempts` failures (≥ 1), with `unit` ∈ [0, 1) the jitter draw.
    pub fn delay(&self, failed_attempts: u32, unit: f64) -> Duration {
        let exp = failed_attempts.saturating_sub(1).min(32);
        let nominal = self
            .initial
            .saturating_mul(1u32 << exp.min(31))
            .min(self.max_delay);
        let unit = unit.clamp(0.0, 1.0);
        nominal / 2 + nominal.mul_f64(unit / 2.0)
    }

    /// When to try again, in ms since the epoch, or `None` when the event has to be given up:
    /// the next attempt would fall after `created_ms + give_up_after`.
    pub fn next_attempt_ms(
        &self,
        created_ms: i64,
        failed_attempts: u32,
        now_ms: i64,
        unit: f64,
    ) -> Option<i64> {
        let deadline = created_ms.saturating_add(self.give_up_after.as_millis() as i64);
        let next = now_ms.saturating_add(self.delay(failed_attempts, unit).as_millis() as i64);
        (next <= deadline).then_some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_then_cap() {
        let p = RetryPolicy::default();
        // With the top jitter draw the delay is the nominal one.
        let top = |n| p.delay(n, 1.0).as_secs();
        assert_eq!([top(1), top(2), top(3), top(4)], [5, 10, 20, 40]);
        assert_eq!(top(11), 3600, "capped at max_delay");
        assert_eq!(top(1000), 3600, "no overflow for huge attempt counts");
    }

    #[test]
    fn jitter_stays_within_half_to_full() {
        let p = RetryPolicy::default();
        for n in 1..20 {
            let full = p.delay(n, 1.0);
            assert_eq!(p.delay(n, 0.0), full / 2);
            let mid = p.delay(n, 0.5);
            assert!(
                mid > full / 2 && mid < full,
                "attempt {n}: {mid:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn gives_up_after_seven_days() {
        let p = RetryPolicy::default();
        let created = 1_000_000;
        let day = 24 * 3600 * 1000;
        assert!(p.next_attempt_ms(created, 3, created + day, 0.5).is_some());
        // An hour before the deadline a capped retry (30–60 min) may still fit...
        assert!(
            p.next_attempt_ms(created, 50, created + 7 * day - 3_600_000, 0.0)
                .is_some()
        );
        // ...but a retry that would land after the deadline is not scheduled.
        assert_eq!(
            p.next_attempt_ms(created, 50, created + 7 * day - 60_000, 0.0),
            None
        );
    }

    #[test]
    fn a_full_schedule_spans_seven_days_then_stops() {
        let p = RetryPolicy::default();
        let (created, mut now, mut attempts) = (0i64, 0i64, 0u32);
        while let Some(next) = p.next_attempt_ms(created, attempts + 1, now, 0.5) {
            assert!(next > now);
            now = next;
            attempts += 1;
        }
        let week = 7 * 24 * 3600 * 1000;
        assert!(
            now <= week && now > week - 3_600_000,
            "last attempt {now} near the deadline"
        );
        assert!(
            (150..=250).contains(&attempts),
            "{attempts} attempts in a week"
        );
    }
}
