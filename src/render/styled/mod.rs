//! Branded codes: rounded or dot modules, drawn eyes, an eye colour, a centre logo, a
//! transparent background. The plain square code never comes here (its one-pass 1-bit writers
//! in [`super::png`] and [`super::svg`] keep their bytes and speed); [`super::render`] dispatches
//! on [`super::Style::is_plain`].
//!
//! # Layout (data flow order)
//! - [`rules`]: the scan rules that need the symbol (the ECC a logo forces, the modules it may
//!   remove, pixels per dot) → a [`Plan`].
//! - [`palette`]: the few colour levels of the anti-aliased raster.
//! - [`stamps`] → [`canvas`]: module stamps and eyes drawn into a frame of palette levels.
//! - [`png`]: the frame as a palette PNG, 4 bits per pixel, 8 with a logo's colours added (RGB/RGBA
//!   for a logo of more colours than a palette holds).
//! - [`shapes`]: the modules and eyes as vector shapes, for the SVG and PDF writers.
//! - [`svg`]: the same code as one module path, one eye path and an embedded logo.
//! - [`frame`]: a frame and caption around any of these codes (PNG and SVG), and the layout
//!   the PDF writer shares.

use super::matrix::{self, QrMatrix};
use super::raster::Geometry;
use super::{Format, RenderError, RenderOptions, Rendered, Shape};

mod canvas;
mod delta;
pub(crate) mod frame;
mod palette;
mod png;
pub(crate) mod rules;
pub(crate) mod shapes;
mod stamps;
mod svg;
pub(crate) mod window;

/// Renders a styled code as PNG or SVG (`Text` draws the PNG, like [`super::render_matrix`]),
/// `logo` already scaled to [`Plan::logo_side`]. Without a pixmap the logo's square stays
/// empty: the code scans the same.
pub(crate) fn render(
    content: &[u8],
    opts: &RenderOptions,
    logo: Option<&tiny_skia::Pixmap>,
) -> Result<Rendered, RenderError> {
    if let Some(frame) = &opts.style.frame {
        let bytes = match opts.format {
            Format::Svg => frame::svg(content, opts, frame, logo)?,
            _ => frame::png(content, opts, frame, logo)?,
        };
        return Ok(Rendered {
            bytes,
            content_type: opts.format.image().content_type(),
        });
    }
    let plan = Plan::new(content, opts)?;
    Ok(match opts.format {
        Format::Svg => Rendered {
            bytes: svg::write(&plan, opts, logo),
            content_type: Format::Svg.content_type(),
        },
        Format::Png | Format::Text | Format::Pdf => {
            let palette = palette::Palette::new(opts);
            let canvas = canvas::Canvas::paint(&plan, &opts.style, &palette);
            let windowed = window::through(&plan, opts, logo);
            Rendered {
                bytes: png::write(&plan, &canvas, &palette, windowed.as_ref().or(logo)),
                content_type: Format::Png.content_type(),
            }
        }
    })
}

use rules::LogoArea;

/// A styled code that passed every rule: the symbol (built at the ECC the style forces), its
/// pixel geometry and the modules a logo replaces.
pub(crate) struct Plan {
    pub matrix: QrMatrix,
    pub geometry: Geometry,
    pub logo: Option<LogoArea>,
}

impl Plan {
    /// Checks `opts` and every rule for `content`, and encodes the symbol.
    pub fn new(content: &[u8], opts: &RenderOptions) -> Result<Plan, RenderError> {
        opts.validate()?;
        let (matrix, logo) = symbol(content, opts)?;
        Plan::at(matrix, logo, opts, opts.size)
    }

    /// The plan of an encoded symbol drawn on `size` px (a framed code's square is smaller
    /// than the image).
    pub fn at(
        matrix: QrMatrix,
        logo: Option<LogoArea>,
        opts: &RenderOptions,
        size: u32,
    ) -> Result<Plan, RenderError> {
        let geometry = Geometry::new(&matrix, opts.border, size)?;
        if opts.style.shape == Shape::Dots && size / geometry.total < rules::DOT_MIN_PX {
            return Err(RenderError::DotsTooSmall {
                modules: geometry.total,
                size,
                min_size: geometry.total * rules::DOT_MIN_PX,
            });
        }
        Ok(Plan {
            matrix,
            geometry,
            logo,
        })
    }

    /// The logo square's side in pixels: the span of its modules (whole pixels, like every
    /// module's).
    pub fn logo_side(&self) -> Option<u32> {
        self.logo_box().map(|(_, _, side)| side as u32)
    }

    /// The centre module (x = y) of the alignment pattern the logo covers, if it covers one
    /// ([`window`] draws it back).
    pub fn covered_alignment(&self) -> Option<usize> {
        rules::covered_alignment(self.matrix.version(), self.logo?)
    }

    /// The logo square in pixels: first column, first row and side (the same in x and y: one
    /// table of module edges serves both).
    pub fn logo_box(&self) -> Option<(usize, usize, usize)> {
        let area = self.logo?;
        let starts = self.geometry.pixel_starts();
        let first = (self.geometry.border + area.start) as usize;
        let (lo, hi) = (starts.at(first), starts.at(first + area.side as usize));
        Some((lo, lo, hi - lo))
    }
}

/// The symbol a code of `content` with this style is drawn as (a logo raises the ECC, maybe the
/// version) and the square the logo removes; the size-independent part of [`Plan::new`].
pub(crate) fn symbol(
    content: &[u8],
    opts: &RenderOptions,
) -> Result<(QrMatrix, Option<LogoArea>), RenderError> {
    Ok(match opts.style.logo {
        None => (matrix::encode(content, opts.ecc)?, None),
        Some(logo) => {
            rules::check_permille(logo.size_permille)?;
            let ecc = rules::logo_ecc(opts.ecc, logo.size_permille);
            let Some((version, area)) = rules::logo_version(content, ecc, logo.size_permille)?
            else {
                let version = matrix::version_for(content, ecc)?;
                let ecc = matrix::ecc_at(content, ecc, version);
                return Err(match rules::largest_permille(content, opts.ecc)? {
                    Some(largest) => RenderError::LogoTooLarge {
                        requested: logo.size_permille,
                        largest,
                        version,
                        ecc,
                    },
                    None => RenderError::NoRoomForLogo {
                        version,
                        ecc,
                        function_pattern: rules::max_radius(version, ecc).function_bound,
                    },
                });
            };
            (matrix::encode_at(content, ecc, version), Some(area))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Ecc, LogoRef, Style};

    const SHORT: &[u8] = b"https://qr.example.com/r/DI5bjNA0";

    fn with_logo(permille: u16) -> RenderOptions {
        RenderOptions {
            style: Style {
                logo: Some(LogoRef {
                    id: [7; 32],
                    size_permille: permille,
                }),
                ..Style::default()
            },
            ..RenderOptions::default()
        }
    }

    #[test]
    fn a_logo_plans_at_q_or_h_and_sizes_its_square() {
        let largest = rules::largest_permille(SHORT, Ecc::M).unwrap().unwrap();
        let plan = Plan::new(SHORT, &with_logo(100)).unwrap();
        // Q is the floor; the symbol the logo needs holds the content at H too, so H it is.
        assert_eq!((plan.matrix.version(), plan.matrix.ecc()), (4, Ecc::H));
        let side = plan.logo_side().unwrap();
        assert!(side > 0 && side < 800 / 4, "{side}");
        let plan = Plan::new(SHORT, &with_logo(largest)).unwrap();
        assert!(plan.logo.is_some());
        let err = Plan::new(SHORT, &with_logo(largest + 1)).err().unwrap();
        assert!(
            matches!(err, RenderError::LogoTooLarge { requested, largest: l, .. }
                if requested == largest + 1 && l == largest),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("{}", crate::render::style::Permille(largest)))
        );
        assert!(matches!(
            Plan::new(SHORT, &with_logo(0)).err().unwrap(),
            RenderError::InvalidOption {
                name: "logoSize",
                ..
            }
        ));
    }

    #[test]
    fn dots_need_four_pixels_per_module() {
        let opts = |size| RenderOptions {
            size,
            style: Style {
                shape: Shape::Dots,
                ..Style::default()
            },
            ..RenderOptions::default()
        };
        // Version 3 at ECC M: 29 + 8 modules, so 148 px is exactly 4 px each.
        assert!(Plan::new(SHORT, &opts(148)).is_ok());
        let err = Plan::new(SHORT, &opts(147)).err().unwrap();
        assert_eq!(
            err,
            RenderError::DotsTooSmall {
                modules: 37,
                size: 147,
                min_size: 148
            }
        );
        assert!(err.to_string().contains("at least 148 px"), "{err}");
    }

    #[test]
    fn content_with_a_centre_alignment_pattern_takes_a_logo_over_it() {
        // 100 bytes at ECC Q need version 8: an alignment pattern on the centre module, which
        // the logo's square covers.
        let content = [b'a'; 100];
        let plan = Plan::new(&content, &with_logo(100)).unwrap();
        assert_eq!(plan.matrix.version(), 8);
        let area = plan.logo.unwrap();
        let c = plan.geometry.modules / 2;
        assert!(area.removes(c - 2, c - 2) && area.removes(c + 2, c + 2));
        // ...and the writers draw it back: its centre, and the 5x5 square with its ring
        assert_eq!(plan.covered_alignment(), Some(c as usize));
        let (plate, dark) = window::rects(&plan).unwrap();
        let b = 2 * plan.geometry.border as i32;
        assert_eq!((plate.x, plate.w), (b + 2 * (c as i32 - 2), 10));
        assert_eq!(dark.map(|r| r.w), [10, 6, 2]);
        // a short link's symbol (below version 7) has no pattern there
        let short = Plan::new(SHORT, &with_logo(100)).unwrap();
        assert_eq!(short.covered_alignment(), None);
        assert!(window::rects(&short).is_none());
    }
}
