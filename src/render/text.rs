//! Caption text: the one embedded font, the rules a caption must keep, and its shaping into
//! outlines.
//!
//! The font is Open Sans Semibold (Apache-2.0, `assets/fonts/`), subset to Basic Latin,
//! Latin-1, Latin Extended-A and a few punctuation marks (`assets/fonts/README.md` has the
//! command), with its `kern` table. That table holds all of this font's kerning (its `GPOS` has
//! no features) and Latin-1/Extended-A letters are precomposed in its `cmap`, so shaping is
//! cmap → advance + kern pair, all read by `ttf-parser`; a full shaper would add nothing for
//! this text (the crate choice and its measurement are in `PERFORMANCE.md`).
//!
//! Glyph outlines become one [`tiny_skia::Path`] in pixel (or point) space, y down: the PNG
//! fills it, the SVG and PDF writers print its segments, so the three formats draw the same
//! shapes.

use std::fmt;

use tiny_skia::{Path, PathBuilder};
use ttf_parser::{Face, GlyphId, OutlineBuilder};

/// The subset font file.
static FONT: &[u8] = include_bytes!("../../assets/fonts/OpenSans-Semibold-subset.ttf");

/// Most characters in a caption: a call to action, not a paragraph.
pub const MAX_CAPTION_CHARS: usize = 40;
/// Bytes a caption can take: every character the font draws is at most 3 bytes of UTF-8.
const MAX_CAPTION_BYTES: usize = MAX_CAPTION_CHARS * 3;

/// A caption that keeps every text rule: 1..=40 characters, no control characters or line
/// breaks, each drawn by the embedded font. Held inline (no heap) so it can live in the `Copy`
/// render options that key the cache.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caption {
    len: u8,
    bytes: [u8; MAX_CAPTION_BYTES],
}

/// Why a caption was refused; every variant names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptionError {
    #[error("caption is empty: at least 1 character is required")]
    Empty,
    #[error("caption is {chars} characters: at most 40 are allowed")]
    TooLong { chars: usize },
    #[error("caption has a control character or line break (U+{code:04X}) at character {at}")]
    Control { code: u32, at: usize },
    #[error(
        "caption has {ch:?} (U+{code:04X}) at character {at}, which the caption font does not \
         draw: it has Latin-1, Latin Extended-A and common punctuation"
    )]
    Missing { ch: char, code: u32, at: usize },
}

impl Caption {
    /// Checks `text` against every caption rule.
    pub fn new(text: &str) -> Result<Caption, CaptionError> {
        let chars = text.chars().count();
        if chars == 0 {
            return Err(CaptionError::Empty);
        }
        if chars > MAX_CAPTION_CHARS {
            return Err(CaptionError::TooLong { chars });
        }
        let face = face();
        for (at, ch) in text.chars().enumerate() {
            let code = u32::from(ch);
            // Unicode's line and paragraph separators break lines as surely as a newline.
            if ch.is_control() || ch == '\u{2028}' || ch == '\u{2029}' {
                return Err(CaptionError::Control { code, at: at + 1 });
            }
            if face.glyph_index(ch).is_none() {
                return Err(CaptionError::Missing {
                    ch,
                    code,
                    at: at + 1,
                });
            }
        }
        // Every character the font draws is in the BMP below U+FFFF and at most 3 bytes.
        let mut bytes = [0u8; MAX_CAPTION_BYTES];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Caption {
            len: text.len() as u8,
            bytes,
        })
    }

    /// The caption's text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize])
            .expect("built from a &str cut at its end")
    }
}

impl fmt::Debug for Caption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The embedded font, parsed: a table directory read, a few hundred instructions, so each
/// render parses it rather than keeping a global.
fn face() -> Face<'static> {
    Face::parse(FONT, 0).expect("the embedded font is a valid TrueType file")
}

/// A caption laid out on one line: glyphs with their pen positions, in font units.
pub(crate) struct Line {
    face: Face<'static>,
    glyphs: Vec<(GlyphId, i32)>,
    /// Advance width of the whole line, kerning included.
    pub width: i32,
    pub units_per_em: u16,
    /// Height of a capital letter, the height the band centres.
    pub cap_height: i32,
}

impl Line {
    /// Shapes `caption`: each glyph's advance, plus the `kern` pair with the glyph before it.
    pub fn shape(caption: &Caption) -> Line {
        let face = face();
        let kern = face.tables().kern;
        let pair = |l: GlyphId, r: GlyphId| -> i32 {
            kern.into_iter()
                .flat_map(|k| k.subtables)
                .filter(|s| s.horizontal && !s.variable && !s.has_cross_stream)
                .find_map(|s| s.glyphs_kerning(l, r))
                .map_or(0, i32::from)
        };
        let mut glyphs = Vec::with_capacity(caption.as_str().len());
        let mut x = 0i32;
        let mut prev: Option<GlyphId> = None;
        for ch in caption.as_str().chars() {
            // Caption::new checked every character against this font.
            let g = face.glyph_index(ch).unwrap_or(GlyphId(0));
            if let Some(p) = prev {
                x += pair(p, g);
            }
            glyphs.push((g, x));
            x += i32::from(face.glyph_hor_advance(g).unwrap_or(0));
            prev = Some(g);
        }
        let units_per_em = face.units_per_em();
        let cap_height = i32::from(face.capital_height().unwrap_or(face.ascender()));
        Line {
            face,
            glyphs,
            width: x,
            units_per_em,
            cap_height,
        }
    }

    /// The outlines at `px` pixels per em with the pen's start at (`x`, `baseline`), y down;
    /// `None` for a caption of spaces only (nothing to fill).
    pub fn outline(&self, px: f32, x: f32, baseline: f32) -> Option<Path> {
        let scale = px / f32::from(self.units_per_em);
        let mut pen = Pen {
            pb: PathBuilder::new(),
            scale,
            x: 0.0,
            y: baseline,
        };
        for &(g, at) in &self.glyphs {
            pen.x = x + at as f32 * scale;
            self.face.outline_glyph(g, &mut pen);
        }
        pen.pb.finish()
    }
}

/// Glyph outlines (font units, y up) → the path (pixels, y down).
struct Pen {
    pb: PathBuilder,
    scale: f32,
    x: f32,
    y: f32,
}

impl Pen {
    #[inline]
    fn at(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.scale, self.y - y * self.scale)
    }
}

impl OutlineBuilder for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.at(x, y);
        self.pb.move_to(x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.at(x, y);
        self.pb.line_to(x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let ((x1, y1), (x, y)) = (self.at(x1, y1), self.at(x, y));
        self.pb.quad_to(x1, y1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let ((x1, y1), (x2, y2), (x, y)) = (self.at(x1, y1), self.at(x2, y2), self.at(x, y));
        self.pb.cubic_to(x1, y1, x2, y2, x, y);
    }
    fn close(&mut self) {
        self.pb.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nordic_german_and_french_captions_pass() {
        for text in [
            "Scan me",
            "Skann meg",
            "Skanna mig",
            "Scanne mich – Straße",
            "Scannez-moi, ça œuvre",
        ] {
            assert_eq!(Caption::new(text).unwrap().as_str(), text);
        }
        // every letter of Latin-1 and Latin Extended-A
        let all: String = (0xc0u32..=0x17f)
            .filter_map(char::from_u32)
            .filter(|c| *c != '×' && *c != '÷')
            .collect();
        for chunk in all.chars().collect::<Vec<_>>().chunks(40) {
            let s: String = chunk.iter().collect();
            Caption::new(&s).unwrap();
        }
    }

    #[test]
    fn every_rule_names_what_broke_it() {
        assert_eq!(Caption::new(""), Err(CaptionError::Empty));
        assert_eq!(
            Caption::new(&"a".repeat(41)),
            Err(CaptionError::TooLong { chars: 41 })
        );
        Caption::new(&"ä".repeat(40)).unwrap();
        assert_eq!(
            Caption::new("Scan\nme"),
            Err(CaptionError::Control { code: 10, at: 5 })
        );
        assert_eq!(
            Caption::new("a\u{2028}"),
            Err(CaptionError::Control {
                code: 0x2028,
                at: 2
            })
        );
        let err = Caption::new("Scan 📷").unwrap_err();
        assert_eq!(
            err,
            CaptionError::Missing {
                ch: '📷',
                code: 0x1f4f7,
                at: 6
            }
        );
        assert!(err.to_string().contains("U+1F4F7"), "{err}");
        assert!(matches!(
            Caption::new("Скан"),
            Err(CaptionError::Missing { at: 1, .. })
        ));
    }

    #[test]
    fn kerning_tightens_av_and_to() {
        let width = |s: &str| Line::shape(&Caption::new(s).unwrap()).width;
        let solo = |s: &str| s.chars().map(|c| width(&c.to_string())).sum::<i32>();
        for pair in ["AV", "To", "Wa"] {
            assert!(width(pair) < solo(pair), "{pair}: no kerning");
        }
        assert_eq!(width("HH"), solo("HH"));
    }

    #[test]
    fn outlines_sit_on_the_baseline_at_the_requested_size() {
        let line = Line::shape(&Caption::new("H").unwrap());
        let path = line.outline(100.0, 10.0, 200.0).unwrap();
        let b = path.bounds();
        let cap = line.cap_height as f32 * 100.0 / f32::from(line.units_per_em);
        assert!((b.bottom() - 200.0).abs() < 0.5, "{b:?}");
        assert!((b.top() - (200.0 - cap)).abs() < 0.5, "{b:?}");
        assert!(b.left() > 10.0 && b.right() < 10.0 + 100.0, "{b:?}");
        assert!(
            Line::shape(&Caption::new("   ").unwrap())
                .outline(10.0, 0.0, 0.0)
                .is_none()
        );
    }
}
