//! The scan rules of a styled code that need the encoded symbol: the ECC a logo forces, the
//! square of modules a logo removes and the correction budget it must stay within, and the
//! pixels a dot needs.
//!
//! A removed module reads as light, so each one is a possible error in the codeword it carries.
//! What decoders correct is whole codewords per Reed–Solomon block, so the excavation is counted
//! that way: every codeword with at least one removed module counts as wrong, and no block may
//! have more than half the codewords it can correct wrong. The other half is left for what a
//! camera adds (blur, glare, a crease), so a logo never uses up the margin the ECC level was
//! chosen for.

use crate::render::codewords::{Blocks, raw_data_modules};
use crate::render::matrix::{
    alignment_centres, ecc_at, function_modules, module_codewords, version_for,
};
use crate::render::{Ecc, RenderError};

/// Fewest whole pixels per module for [`crate::render::Shape::Dots`]: below that a dot is a
/// blob of anti-aliased pixels that decoders binarise unpredictably.
pub(crate) const DOT_MIN_PX: u32 = 4;
/// The widest logo, in thousandths of the symbol, that ECC Q carries; wider ones force H.
pub(crate) const Q_LOGO_MAX_PERMILLE: u16 = 200;
/// `logoSize` is a share of the symbol: at most all of it (the budget refuses far less).
const MAX_PERMILLE: u16 = 1000;

/// The ECC a code with a logo of `permille` is built with: the stronger of what was asked and
/// Q (H above [`Q_LOGO_MAX_PERMILLE`]). Raised rather than refused, and from the options alone,
/// so one token always means one image.
pub(crate) fn logo_ecc(asked: Ecc, permille: u16) -> Ecc {
    let floor = if permille > Q_LOGO_MAX_PERMILLE {
        Ecc::H
    } else {
        Ecc::Q
    };
    if rank(asked) >= rank(floor) {
        asked
    } else {
        floor
    }
}

fn rank(e: Ecc) -> u8 {
    match e {
        Ecc::L => 0,
        Ecc::M => 1,
        Ecc::Q => 2,
        Ecc::H => 3,
    }
}

/// Checks `permille` is a share of the symbol at all (the budget decides how much).
pub(crate) fn check_permille(permille: u16) -> Result<(), RenderError> {
    if permille == 0 || permille > MAX_PERMILLE {
        return Err(RenderError::InvalidOption {
            name: "logoSize",
            allowed: "greater than 0 and at most 1 (a share of the symbol's width)",
        });
    }
    Ok(())
}

/// The centred square of modules a logo is drawn into, in module coordinates of the symbol
/// (quiet zone excluded). Its side is odd, like every symbol's, so it is centred on a module.
/// One light module round it is removed too (the margin that keeps the logo's edge off the
/// neighbouring modules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogoArea {
    /// First module of the square, in x and in y.
    pub start: u32,
    /// Modules on a side of the square (odd).
    pub side: u32,
}

impl LogoArea {
    /// The square for a logo `permille` of a `modules`-wide symbol: the odd side nearest to
    /// `modules · permille / 1000` (⌊t/2⌋·2 + 1 for t modules).
    pub fn new(modules: u32, permille: u16) -> LogoArea {
        let side = 2 * (modules * u32::from(permille) / 2000) + 1;
        let side = side.min(modules);
        LogoArea {
            start: (modules - side) / 2,
            side,
        }
    }

    /// Chebyshev radius of the removed square, margin included: the removed modules are those
    /// at most this far from the centre module in x and in y.
    pub fn radius(&self) -> u32 {
        self.side.div_ceil(2)
    }

    /// Whether module (`x`, `y`) of the symbol is removed (under the logo or its margin).
    #[inline]
    pub fn removes(&self, x: u32, y: u32) -> bool {
        let (lo, hi) = (self.start.wrapping_sub(1), self.start + self.side);
        (lo..=hi).contains(&x) && (lo..=hi).contains(&y)
    }
}

/// The largest `logoSize` (thousandths) whose square keeps to [`max_radius`] in a
/// `modules`-wide symbol: the largest p with ⌊modules·p/2000⌋ ≤ radius − 1.
fn largest_permille_for(modules: u32, radius: u32) -> Option<u16> {
    if radius == 0 {
        return None;
    }
    let side = 2 * radius - 1;
    let p = ((side + 1) * 1000 - 1) / modules;
    Some(p.min(u32::from(MAX_PERMILLE)) as u16)
}

/// What limits the excavation of a `version`/`ecc` symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// Largest radius ([`LogoArea::radius`]) that may be removed; 0 when not even the centre
    /// module may go.
    pub radius: u32,
    /// Whether a function pattern set the limit, rather than the correction capacity.
    pub function_bound: bool,
}

/// The alignment pattern nearest the centre (versions 7 and up), which may go under a logo:
/// its modules carry no data, and the writers draw it back over the logo ([`super::window`]:
/// ZXing-family readers do without it, zbar does not). Every other function module stays, the
/// bottom-right pattern of versions 2–6 included.
#[derive(Debug, Clone, Copy)]
struct AlignmentPattern {
    at: usize,
}

impl AlignmentPattern {
    /// Whether module (`x`, `y`) is one of the pattern's 5×5.
    fn holds(&self, x: usize, y: usize) -> bool {
        x.abs_diff(self.at) <= 2 && y.abs_diff(self.at) <= 2
    }
}

/// The centre module (x = y) of the alignment pattern the logo `area` of a `version` symbol
/// covers, if it covers one: the pattern [`super::window`] draws back over the logo.
pub(crate) fn covered_alignment(version: u8, area: LogoArea) -> Option<usize> {
    let p = centre_alignment(version)?;
    let modules = (p.at - 2..=p.at + 2).flat_map(|y| (p.at - 2..=p.at + 2).map(move |x| (x, y)));
    modules
        .into_iter()
        .any(|(x, y)| area.removes(x as u32, y as u32))
        .then_some(p.at)
}

fn centre_alignment(version: u8) -> Option<AlignmentPattern> {
    let c = (17 + 4 * usize::from(version)) / 2;
    let (centres, n) = alignment_centres(version);
    // Neither the first coordinate (6: the timing row, no pattern on the diagonal) nor the
    // last (the bottom-right pattern decoders use); the grid is symmetric, so the nearest
    // pattern sits on the diagonal.
    let inner = centres.get(1..n.saturating_sub(1)).unwrap_or(&[]);
    let at = inner.iter().copied().min_by_key(|&a| a.abs_diff(c))?;
    Some(AlignmentPattern { at })
}

/// The largest centred square that keeps clear of every function module but a centre
/// alignment pattern and leaves each block at most ⌊correctable/2⌋ damaged codewords. One walk over the data modules: each
/// codeword's nearest module (Chebyshev distance from the centre) decides from which radius on
/// it is damaged, so per block the (budget+1)-th nearest codeword bounds the radius.
pub(crate) fn max_radius(version: u8, ecc: Ecc) -> Budget {
    let modules = modules_of(version);
    let c = modules / 2;
    let dist = |x: usize, y: usize| (x as u32).abs_diff(c).max((y as u32).abs_diff(c));
    let func = function_modules(version);
    let centre = centre_alignment(version);
    let mut function_min = u32::MAX;
    for y in 0..modules as usize {
        for x in 0..modules as usize {
            if func.get(x, y) && !centre.is_some_and(|p| p.holds(x, y)) {
                function_min = function_min.min(dist(x, y));
            }
        }
    }
    let blocks = Blocks::new(version, ecc);
    // One slot per codeword, plus one for the remainder bits (in no block).
    let mut nearest = vec![u32::MAX; raw_data_modules(version) / 8 + 1];
    module_codewords(version, &func, |x, y, i| {
        nearest[i] = nearest[i].min(dist(x, y));
    });
    let budget = blocks.correctable() / 2;
    let mut per_block: Vec<Vec<u32>> = vec![Vec::new(); blocks.count];
    for (i, &d) in nearest.iter().enumerate() {
        if let Some(b) = blocks.block_of(i) {
            per_block[b].push(d);
        }
    }
    // A block with more codewords than its budget: the radius must stay below the distance of
    // its (budget+1)-th nearest codeword.
    let correction_bound = per_block
        .iter_mut()
        .filter(|d| d.len() > budget)
        .map(|d| *d.select_nth_unstable(budget).1)
        .min()
        .unwrap_or(u32::MAX);
    let function_bound = function_min <= correction_bound;
    // A square of radius r removes every module at distance ≤ r from the centre.
    let radius = function_min.min(correction_bound).saturating_sub(1);
    Budget {
        radius,
        function_bound,
    }
}

/// How many versions above the smallest that holds the content a logo may raise the symbol
/// to: enough that the default `logoSize` (0.2) fits a short link (version 4 at Q takes at
/// most 0.181, version 5 0.216), few enough that modules stay large.
pub(crate) const MAX_VERSION_RAISE: u8 = 4;

/// The versions a code of `content` at `ecc` with a logo may use, smallest first.
fn logo_versions(content: &[u8], ecc: Ecc) -> Result<std::ops::RangeInclusive<u8>, RenderError> {
    let smallest = version_for(content, ecc)?;
    Ok(smallest..=(smallest + MAX_VERSION_RAISE).min(40))
}

fn modules_of(version: u8) -> u32 {
    17 + 4 * u32::from(version)
}

/// The smallest version (within [`MAX_VERSION_RAISE`] of the smallest that holds `content`)
/// whose correction budget takes a logo of `permille` at `ecc` or the stronger level that
/// version holds the content at ([`ecc_at`], the level it is drawn with), and the logo's square
/// there; `None` when none does.
pub(crate) fn logo_version(
    content: &[u8],
    ecc: Ecc,
    permille: u16,
) -> Result<Option<(u8, LogoArea)>, RenderError> {
    Ok(logo_versions(content, ecc)?.find_map(|version| {
        let area = LogoArea::new(modules_of(version), permille);
        let budget = max_radius(version, ecc_at(content, ecc, version));
        (area.radius() <= budget.radius).then_some((version, area))
    }))
}

/// The largest `logoSize` (thousandths) a code of `content` with these options may carry, or
/// `None` when it leaves no room for any logo: the most any version [`logo_version`] may pick
/// takes. Tries both ECC classes a logo can force: up to [`Q_LOGO_MAX_PERMILLE`] at the
/// stronger of `asked` and Q, above it at H (a bigger symbol, maybe a larger logo).
pub(crate) fn largest_permille(content: &[u8], asked: Ecc) -> Result<Option<u16>, RenderError> {
    let class = |permille: u16| -> Result<Option<u16>, RenderError> {
        let ecc = logo_ecc(asked, permille);
        Ok(logo_versions(content, ecc)?
            .filter_map(|v| {
                let budget = max_radius(v, ecc_at(content, ecc, v));
                largest_permille_for(modules_of(v), budget.radius)
            })
            .max())
    };
    let q = class(1)?.map(|p| p.min(Q_LOGO_MAX_PERMILLE));
    // Content that does not fit at H still may at Q: only then is the H class absent.
    let h = class(MAX_PERMILLE)
        .unwrap_or(None)
        .filter(|&p| p > Q_LOGO_MAX_PERMILLE);
    Ok(q.max(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logo_raises_the_ecc_never_lowers_it() {
        assert_eq!(logo_ecc(Ecc::L, 100), Ecc::Q);
        assert_eq!(logo_ecc(Ecc::M, 200), Ecc::Q);
        assert_eq!(logo_ecc(Ecc::M, 201), Ecc::H);
        assert_eq!(logo_ecc(Ecc::H, 100), Ecc::H);
        assert_eq!(logo_ecc(Ecc::Q, 300), Ecc::H);
    }

    #[test]
    fn the_logo_square_is_odd_and_centred() {
        for modules in [21u32, 33, 57, 177] {
            for p in [1u16, 100, 200, 333, 1000] {
                let a = LogoArea::new(modules, p);
                assert_eq!(a.side % 2, 1);
                assert_eq!(2 * a.start + a.side, modules, "{modules} {p}");
            }
        }
        // 0.2 of 33 modules is 6.6: the odd side nearest is 7.
        assert_eq!(LogoArea::new(33, 200), LogoArea { start: 13, side: 7 });
        let a = LogoArea::new(33, 200);
        assert!(a.removes(12, 12) && a.removes(20, 20) && !a.removes(11, 16));
        assert_eq!(a.radius(), 4);
    }

    #[test]
    fn largest_permille_inverts_the_square() {
        for modules in [21u32, 45, 177] {
            for radius in 1..10 {
                let p = largest_permille_for(modules, radius).unwrap();
                assert!(LogoArea::new(modules, p).radius() <= radius);
                if p < MAX_PERMILLE {
                    assert!(LogoArea::new(modules, p + 1).radius() > radius);
                }
            }
        }
        assert_eq!(largest_permille_for(21, 0), None);
    }

    /// Counts the damaged codewords per block of a removed square the slow way: module by
    /// module, against the budget.
    fn within_budget(version: u8, ecc: Ecc, radius: u32) -> bool {
        let modules = 17 + 4 * u32::from(version);
        let c = modules / 2;
        let func = function_modules(version);
        let mut hit = std::collections::BTreeSet::new();
        let mut clear = true;
        for y in 0..modules {
            for x in 0..modules {
                let d = x.abs_diff(c).max(y.abs_diff(c));
                let (cx, cy) = (x as usize, y as usize);
                let covered = centre_alignment(version).is_some_and(|p| p.holds(cx, cy));
                if d <= radius && func.get(cx, cy) && !covered {
                    clear = false;
                }
            }
        }
        module_codewords(version, &func, |x, y, i| {
            if (x as u32).abs_diff(c).max((y as u32).abs_diff(c)) <= radius {
                hit.insert(i);
            }
        });
        let blocks = Blocks::new(version, ecc);
        let mut per = vec![0; blocks.count];
        for i in hit {
            if let Some(b) = blocks.block_of(i) {
                per[b] += 1;
            }
        }
        clear && per.iter().all(|&n| n <= blocks.correctable() / 2)
    }

    #[test]
    fn the_radius_is_the_largest_within_budget() {
        for version in 1..=40u8 {
            for ecc in [Ecc::L, Ecc::M, Ecc::Q, Ecc::H] {
                let b = max_radius(version, ecc);
                if b.radius > 0 {
                    assert!(within_budget(version, ecc, b.radius), "v{version} {ecc:?}");
                }
                assert!(
                    !within_budget(version, ecc, b.radius + 1),
                    "v{version} {ecc:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn a_centre_alignment_pattern_may_go_under_the_logo() {
        // Version 7 has an alignment pattern on its centre module; version 14 has none there.
        // Both take a logo wider than that pattern; version 14's is bounded by the
        // alignment patterns beside the centre, version 7's by the correction capacity.
        for version in [7, 14, 40] {
            let b = max_radius(version, Ecc::H);
            assert!(b.radius > 2, "v{version} {b:?}");
        }
        assert!(!max_radius(7, Ecc::H).function_bound);
    }
}
