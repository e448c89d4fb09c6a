//! A scan series as the API answers it: the stored hour rows of one code gathered into
//! zero-filled buckets of an hour or a day over `[from, to)`, and their total.
//!
//! Every bucket of the range is present and the buckets add up to the total, `uniqueVisitors`
//! included: a stored hour holds the day's visitors first seen in it, so hours and days both
//! sum to "distinct visitors per day, summed over the days".

use crate::clock::{civil_from_days, days_from_civil};
use crate::store::scans::{DAY_MS, HOUR_MS, ScanCounts};

/// Most buckets one answer may hold (the API's 400 beyond it).
pub const MAX_BUCKETS: i64 = 10_000;

/// The bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "hour" => Some(Interval::Hour),
            "day" => Some(Interval::Day),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            Interval::Hour => HOUR_MS,
            Interval::Day => DAY_MS,
        }
    }

    /// `ms` moved down to the start of its bucket.
    pub fn floor(self, ms: i64) -> i64 {
        ms - ms.rem_euclid(self.ms())
    }

    /// `ms` moved up to the next bucket start (itself when it is one).
    pub fn ceil(self, ms: i64) -> i64 {
        let f = self.floor(ms);
        if f == ms {
            ms
        } else {
            f.saturating_add(self.ms())
        }
    }
}

/// Buckets of one code over a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Bucket-aligned start (inclusive) and end (exclusive).
    pub from_ms: i64,
    pub to_ms: i64,
    pub interval: Interval,
    /// (bucket start, counts), every bucket of the range in order.
    pub buckets: Vec<(i64, ScanCounts)>,
    pub total: ScanCounts,
}

impl Series {
    /// Gathers hour rows (`rows`, any order, each within `[from_ms, to_ms)`) into buckets.
    /// `from_ms` and `to_ms` must be aligned to `interval` with at most [`MAX_BUCKETS`]
    /// between them.
    pub fn gather(
        rows: &[(i64, ScanCounts)],
        from_ms: i64,
        to_ms: i64,
        interval: Interval,
    ) -> Series {
        let step = interval.ms();
        let n = usize::try_from((to_ms - from_ms) / step).unwrap_or(0);
        let mut buckets: Vec<(i64, ScanCounts)> = (0..n)
            .map(|i| (from_ms + i as i64 * step, ScanCounts::default()))
            .collect();
        let mut total = ScanCounts::default();
        for (hour, counts) in rows {
            let i = usize::try_from((hour - from_ms).div_euclid(step)).ok();
            if let Some(slot) = i.and_then(|i| buckets.get_mut(i)) {
                slot.1.add(counts);
                total.add(counts);
            }
        }
        Series {
            from_ms,
            to_ms,
            interval,
            buckets,
            total,
        }
    }
}

/// Parses an RFC 3339 date-time (`2026-12-01T00:00:00Z`, `2026-12-01T01:00:00.5+01:00`) to
/// ms since the epoch; `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i.min(start + 3)];
        millis = digits.parse::<i64>().ok()? * 10_i64.pow(3 - digits.len() as u32);
    }
    let offset_min = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hh = num(i + 1..i + 3)?;
            let mm = num(i + 4..i + 6)?;
            if hh > 23 || mm > 59 {
                return None;
            }
            let m = hh * 60 + mm;
            if *sign == b'-' { -m } else { m }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// `2026-12-01T00:00:00Z`: UTC, whole seconds.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `12-01` or `12-01 14h`: a bucket's short label on the chart's axis.
pub fn short_label(ms: i64, interval: Interval) -> String {
    let days = ms.div_euclid(DAY_MS);
    let (_, m, d) = civil_from_days(days);
    match interval {
        Interval::Day => format!("{m:02}-{d:02}"),
        Interval::Hour => format!("{m:02}-{d:02} {:02}h", ms.rem_euclid(DAY_MS) / HOUR_MS),
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_takes_offsets() {
        let t = parse_rfc3339("2026-12-01T00:00:00Z").expect("utc");
        assert_eq!(format_rfc3339(t), "2026-12-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-12-01T01:00:00+01:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-30T23:30:00-00:30"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-01T00:00:00.250Z"), Some(t + 250));
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00Z")
                .map(format_rfc3339)
                .as_deref(),
            Some("2024-02-29T12:00:00Z")
        );
        for bad in [
            "",
            "yesterday",
            "2026-12-01",
            "2026-12-01T00:00:00",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T00:00:00.Z",
            "2026-12-01T00:00:00+1:00",
            "+026-12-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn buckets_are_zero_filled_and_sum_to_the_total() {
        let day0 = parse_rfc3339("2026-12-01T00:00:00Z").expect("t");
        let c = |ios, bots, visitors| ScanCounts {
            ios,
            bots,
            visitors,
            ..ScanCounts::default()
        };
        let rows = [
            (day0 + HOUR_MS, c(2, 1, 1)),
            (day0 + 5 * HOUR_MS, c(3, 0, 2)),
            (day0 + 2 * DAY_MS, c(1, 0, 1)),
        ];
        let days = Series::gather(&rows, day0, day0 + 3 * DAY_MS, Interval::Day);
        assert_eq!(days.buckets.len(), 3);
        assert_eq!(days.buckets[0].1, c(5, 1, 3));
        assert_eq!(days.buckets[1].1, ScanCounts::default());
        assert_eq!(days.total, c(6, 1, 4));
        let hours = Series::gather(&rows, day0, day0 + 3 * DAY_MS, Interval::Hour);
        assert_eq!(hours.buckets.len(), 72);
        assert_eq!(hours.total, days.total);
        assert_eq!(Interval::Day.ceil(day0 + 1), day0 + DAY_MS);
        assert_eq!(Interval::Day.ceil(day0), day0);
        assert_eq!(
            short_label(day0 + 14 * HOUR_MS, Interval::Hour),
            "12-01 14h"
        );
    }
}
