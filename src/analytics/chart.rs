//! A [`Series`] drawn as an SVG bar chart: one stacked bar per bucket (iOS, Android, other),
//! a y axis with its maximum, the first, middle and last bucket named on the x axis, and a
//! legend with the totals. 600 × 320 user units, so it reads as is at 600 px.
//!
//! SECURITY: the only text from a merchant is the QR's id in the title, and it is escaped; the
//! document has no script, no external reference, nothing but shapes and text.

use std::fmt::Write as _;

use super::series::{Series, format_rfc3339, short_label};
use crate::http::escape_markup;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 320.0;
/// Plot area: room on the left for the y labels, at the bottom for the x labels, on top for
/// the title and legend.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 40.0;
/// Platform colours (a colour-blind-safe trio) in stacking order: iOS, Android, other.
const COLOURS: [&str; 3] = ["#0072b2", "#009e73", "#e69f00"];

/// The chart of `series` for the QR `id`.
pub fn svg(id: &str, series: &Series) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = series
        .buckets
        .iter()
        .map(|(_, c)| c.scans())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = series.buckets.len().max(1) as f64;
    let slot = plot_w / n;
    // A gap between bars while they are wide enough to show one.
    let bar = if slot >= 4.0 { slot * 0.8 } else { slot };
    let t = &series.total;

    let mut out = String::with_capacity(2048 + series.buckets.len() * 200);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>Scans of {}</title>\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Scans of {} per {}</text>\n",
        escape_markup(id),
        escape_markup(id),
        series.interval.as_str()
    );
    let legend = [("iOS", t.ios), ("Android", t.android), ("other", t.other)];
    let mut x = LEFT;
    for ((label, value), colour) in legend.iter().zip(COLOURS) {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"39\">{label} {value}</text>",
            x + 14.0
        );
        x += 110.0;
    }
    let _ = writeln!(
        out,
        "<text x=\"{x}\" y=\"39\">bots {} · visitors {}</text>",
        t.bots, t.visitors
    );

    // Axes and the y scale.
    let base = TOP + plot_h;
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{base}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{}\" y2=\"{TOP}\" stroke=\"#ddd\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        WIDTH - RIGHT,
        WIDTH - RIGHT,
        LEFT - 6.0,
        TOP + 4.0,
        LEFT - 6.0,
        base + 4.0,
    );

    // The bars: stacked platform segments, bottom up.
    for (i, (_, c)) in series.buckets.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut y = base;
        for (value, colour) in [c.ios, c.android, c.other].into_iter().zip(COLOURS) {
            if value == 0 {
                continue;
            }
            let h = value as f64 / max as f64 * plot_h;
            y -= h;
            let _ = writeln!(
                out,
                "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{bar:.2}\" height=\"{h:.2}\" fill=\"{colour}\"/>"
            );
        }
    }

    // x labels: first, middle and last bucket.
    let last = series.buckets.len().saturating_sub(1);
    let mut shown: Vec<usize> = vec![0, last / 2, last];
    shown.dedup();
    for i in shown {
        let Some((start, _)) = series.buckets.get(i) else {
            continue;
        };
        let x = LEFT + (i as f64 + 0.5) * slot;
        let anchor = match i {
            0 if last > 0 => "start",
            i if i == last && last > 0 => "end",
            _ => "middle",
        };
        let x = match anchor {
            "start" => LEFT,
            "end" => WIDTH - RIGHT,
            _ => x,
        };
        let _ = writeln!(
            out,
            "<text x=\"{x:.2}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            base + 18.0,
            short_label(*start, series.interval)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{} – {} (UTC)</text>\n</svg>",
        LEFT + plot_w / 2.0,
        HEIGHT - 6.0,
        format_rfc3339(series.from_ms),
        format_rfc3339(series.to_ms)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::series::Interval;
    use crate::store::scans::{DAY_MS, ScanCounts};

    #[test]
    fn the_chart_is_plain_svg_with_the_id_escaped() {
        let rows = [(
            DAY_MS,
            ScanCounts {
                ios: 3,
                android: 2,
                other: 1,
                bots: 4,
                visitors: 2,
            },
        )];
        let s = Series::gather(&rows, 0, 7 * DAY_MS, Interval::Day);
        let svg = svg("<script>alert(1)</script>", &s);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("iOS 3") && svg.contains("Android 2") && svg.contains("bots 4"));
        assert!(svg.contains(">01-01<") && svg.contains(">01-07<"), "{svg}");
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 3 + 3,
            "background, legend, bars"
        );
    }
}
