//! The colours of a styled raster: every pixel is a palette level — the light ground, the dark
//! colour at a few coverages (the anti-aliased edge quantised), and the eye colour at a few
//! coverages when it differs. Sixteen entries at most, so the PNG is 4 bits per pixel.

use crate::render::{RenderOptions, Rgb};

/// Most palette entries: what 4 bits per pixel index.
pub(crate) const MAX_ENTRIES: usize = 16;

/// The levels of one render and the colour of each.
pub(crate) struct Palette {
    /// Coverage (0..=255) → level of the dark colour (0 = the ground).
    pub dark: [u8; 256],
    /// Coverage → level of the eye colour (the dark levels when the eyes have no own colour).
    pub eye: [u8; 256],
    /// RGBA, not premultiplied, per level.
    pub entries: Vec<[u8; 4]>,
    /// Whether any entry is not opaque (a transparent ground): the PNG needs tRNS or alpha.
    pub alpha: bool,
}

impl Palette {
    /// Dark levels 1..=15 without an eye colour; with one, 1..=8 dark and 9..=15 eye: seven
    /// or more shades per edge, enough that a quantised edge looks smooth at ≥ 4 px per module.
    pub fn new(opts: &RenderOptions) -> Palette {
        let eye = opts.style.eye_color.filter(|&c| c != opts.dark);
        let dark_steps = if eye.is_some() { 8 } else { 15 };
        let eye_steps = 15 - dark_steps;
        let transparent = opts.style.transparent;
        let shade = |c: Rgb, k: u32, steps: u32| -> [u8; 4] {
            if transparent {
                [c.0, c.1, c.2, (k * 255 / steps) as u8]
            } else {
                let mix = |d: u8, l: u8| {
                    ((u32::from(d) * k + u32::from(l) * (steps - k) + steps / 2) / steps) as u8
                };
                let l = opts.light;
                [mix(c.0, l.0), mix(c.1, l.1), mix(c.2, l.2), 255]
            }
        };
        let mut entries = vec![shade(opts.dark, 0, 1)];
        entries.extend((1..=dark_steps).map(|k| shade(opts.dark, k, dark_steps)));
        let quantise = |steps: u32, first: u32| -> [u8; 256] {
            std::array::from_fn(|c| {
                let k = (c as u32 * steps + 127) / 255;
                if k == 0 { 0 } else { (first + k - 1) as u8 }
            })
        };
        let dark = quantise(dark_steps, 1);
        let eye_levels = match eye {
            Some(c) => {
                entries.extend((1..=eye_steps).map(|k| shade(c, k, eye_steps)));
                quantise(eye_steps, dark_steps + 1)
            }
            None => dark,
        };
        debug_assert!(entries.len() <= MAX_ENTRIES);
        Palette {
            dark,
            eye: eye_levels,
            entries,
            alpha: transparent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Style;

    #[test]
    fn levels_span_ground_to_colour() {
        let p = Palette::new(&RenderOptions::default());
        assert_eq!(p.entries.len(), 16);
        assert_eq!(p.entries[0], [255, 255, 255, 255]);
        assert_eq!(p.entries[15], [0, 0, 0, 255]);
        assert_eq!((p.dark[0], p.dark[255]), (0, 15));
        assert_eq!(p.eye, p.dark);
        let opts = RenderOptions {
            style: Style {
                eye_color: Some(Rgb(0x20, 0x40, 0xa0)),
                transparent: true,
                ..Style::default()
            },
            ..RenderOptions::default()
        };
        let p = Palette::new(&opts);
        assert_eq!(p.entries.len(), 16);
        assert_eq!((p.dark[255], p.eye[255], p.eye[0]), (8, 15, 0));
        assert_eq!(p.entries[0][3], 0, "transparent ground");
        assert_eq!(p.entries[15], [0x20, 0x40, 0xa0, 255]);
        assert!(p.alpha);
    }
}
