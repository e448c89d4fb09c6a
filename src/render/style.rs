//! The branded-code style model: module shape, eye shape and colour, a centre logo, a
//! transparent background, inversion. [`Style::default`] is the plain code every existing token
//! and API call means; a style only ever adds to [`super::RenderOptions`].
//!
//! The rules a style must keep to scan that need no symbol (colour contrast, inversion) are
//! checked here; the ones that depend on the encoded symbol (logo area against the correction
//! budget, pixels per dot) are checked where the symbol is known.

use std::fmt;
use std::str::FromStr;

use super::text::Caption;
use super::{RenderError, Rgb};

/// How each dark data module is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Shape {
    #[default]
    Square,
    /// A module's corners round off where it has no dark neighbour, so runs read as bars.
    Rounded,
    /// Circles.
    Dots,
}

/// How the three 7×7 finder patterns ("eyes") are drawn: outer ring and inner ball as one
/// shape each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Eyes {
    #[default]
    Square,
    Rounded,
    Circle,
}

/// Share of the symbol's width a logo takes when the style names none, in thousandths.
pub const DEFAULT_LOGO_PERMILLE: u16 = 200;
/// Smallest luminance contrast ratio (WCAG's definition) between dark and light modules, and
/// between the eyes and the light modules, that phone cameras read reliably.
pub const MIN_CONTRAST: f64 = 3.0;

/// A centre logo: which upload, and how wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogoRef {
    /// The SHA-256 of the uploaded bytes (the logo's id in hex), so the render key, and with it
    /// the ETag, covers the logo's content.
    pub id: [u8; 32],
    /// Width of the logo's square as a share of the symbol's width (quiet zone excluded), in
    /// thousandths: 200 = 0.2.
    pub size_permille: u16,
}

impl LogoRef {
    /// The id as tokens, the API and the store spell it: lower-case hex.
    pub fn id_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.id {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Parses a 64-hex-digit logo id.
    pub fn parse_id(hex: &str) -> Option<[u8; 32]> {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0u8; 32];
        for (i, out) in id.iter_mut().enumerate() {
            *out = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(id)
    }
}

/// Everything about a branded code besides the two colours, size, ECC and border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Style {
    pub shape: Shape,
    pub eyes: Eyes,
    /// Colour of the three eyes; `None` draws them in the dark colour.
    pub eye_color: Option<Rgb>,
    pub logo: Option<LogoRef>,
    /// No background: PNG with alpha, SVG without a background rectangle. The light colour is
    /// still what the contrast rule measures against (the surface the code is printed on).
    pub transparent: bool,
    /// Light modules on a dark ground. Refused unless asked for: many older readers do not
    /// decode inverted codes.
    pub invert: bool,
    /// A frame around the code with a caption in a band below it ("Scan me").
    pub frame: Option<Frame>,
}

/// A call-to-action frame: the code (with its quiet zone) drawn inside a frame, the caption
/// centred in a band of the frame below it, all within the image's `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    pub caption: Caption,
    /// The frame and band; `None` draws them in the dark colour.
    pub frame_color: Option<Rgb>,
    /// The caption's letters; `None` draws them in the light colour.
    pub caption_color: Option<Rgb>,
}

/// Smallest contrast between the caption and its band: WCAG's ratio for normal text (1.4.3).
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

impl Frame {
    /// The frame's colour for a code of these colours.
    pub fn frame_colour(&self, dark: Rgb) -> Rgb {
        self.frame_color.unwrap_or(dark)
    }

    /// The caption's colour for a code of these colours.
    pub fn caption_colour(&self, light: Rgb) -> Rgb {
        self.caption_color.unwrap_or(light)
    }
}

impl Style {
    /// True for the plain square code (the one-pass 1-bit writers draw it).
    pub fn is_plain(&self) -> bool {
        *self == Style::default()
    }

    /// True when the code itself is plain, framed or not.
    pub fn is_plain_code(&self) -> bool {
        Style {
            frame: None,
            ..*self
        }
        .is_plain()
    }

    /// The colour rules: `dark` must differ from `light` by [`MIN_CONTRAST`], and be the darker
    /// of the two unless `invert`; the same for the eye colour.
    pub fn check_colours(&self, dark: Rgb, light: Rgb) -> Result<(), RenderError> {
        check_pair("fg", dark, light, self.invert)?;
        if let Some(eye) = self.eye_color {
            check_pair("eyeColor", eye, light, self.invert)?;
        }
        if let Some(frame) = self.frame {
            let (text, band) = (frame.caption_colour(light), frame.frame_colour(dark));
            let ratio = contrast_ratio(text.luminance(), band.luminance());
            if ratio < MIN_TEXT_CONTRAST {
                return Err(RenderError::LowCaptionContrast {
                    caption: text,
                    frame: band,
                    ratio_centi: (ratio * 100.0) as u32,
                });
            }
        }
        Ok(())
    }
}

fn check_pair(name: &'static str, dark: Rgb, light: Rgb, invert: bool) -> Result<(), RenderError> {
    let (ld, ll) = (dark.luminance(), light.luminance());
    // Readers take an inverted code by inverting the picture before they threshold it, so its
    // contrast is what the negative has. WCAG's ratio is generous near black: red eyes
    // (#e51e04) on a black ground pass it at 4.5:1 yet neither ZXing reader found them once
    // inverted (tests/it/render/props.rs drew that case); on the negative they are 1.6:1 and refused.
    let ratio = if invert {
        contrast_ratio(dark.negative().luminance(), light.negative().luminance())
    } else {
        contrast_ratio(ld, ll)
    };
    if ratio < MIN_CONTRAST {
        return Err(RenderError::LowContrast {
            name,
            dark,
            light,
            ratio_centi: (ratio * 100.0) as u32,
            inverted: invert,
        });
    }
    if (ld > ll) != invert {
        return Err(RenderError::Inversion {
            name,
            dark,
            light,
            invert,
        });
    }
    Ok(())
}

/// WCAG 2 contrast ratio of two relative luminances: (lighter + 0.05) / (darker + 0.05).
fn contrast_ratio(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

impl Rgb {
    /// The colour's photographic negative, channel by channel.
    pub fn negative(self) -> Rgb {
        Rgb(255 - self.0, 255 - self.1, 255 - self.2)
    }

    /// Relative luminance (sRGB → linear, Rec. 709 weights), 0 for black to 1 for white.
    pub fn luminance(self) -> f64 {
        fn linear(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }
}

/// A ratio in hundredths, printed as `2.41:1`.
pub struct Ratio(pub u32);

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}:1", self.0 / 100, self.0 % 100)
    }
}

/// A share in thousandths, printed as a fraction: `0.185`.
pub struct Permille(pub u16);

impl fmt::Display for Permille {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

impl FromStr for Shape {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "square" => Ok(Shape::Square),
            "rounded" => Ok(Shape::Rounded),
            "dots" => Ok(Shape::Dots),
            _ => Err(RenderError::InvalidOption {
                name: "shape",
                allowed: "square | rounded | dots",
            }),
        }
    }
}

impl FromStr for Eyes {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "square" => Ok(Eyes::Square),
            "rounded" => Ok(Eyes::Rounded),
            "circle" => Ok(Eyes::Circle),
            _ => Err(RenderError::InvalidOption {
                name: "eyes",
                allowed: "square | rounded | circle",
            }),
        }
    }
}

impl Shape {
    /// The name tokens, the API and the CLI use.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Square => "square",
            Shape::Rounded => "rounded",
            Shape::Dots => "dots",
        }
    }
}

impl Eyes {
    /// The name tokens, the API and the CLI use.
    pub fn as_str(self) -> &'static str {
        match self {
            Eyes::Square => "square",
            Eyes::Rounded => "rounded",
            Eyes::Circle => "circle",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_on_white_is_21_to_1_and_passes() {
        let r = contrast_ratio(Rgb::BLACK.luminance(), Rgb::WHITE.luminance());
        assert!((r - 21.0).abs() < 1e-9, "{r}");
        Style::default()
            .check_colours(Rgb::BLACK, Rgb::WHITE)
            .unwrap();
    }

    #[test]
    fn low_contrast_is_refused_with_the_colours_and_the_ratio() {
        let err = Style::default()
            .check_colours(Rgb(0x77, 0x77, 0x77), Rgb(0x99, 0x99, 0x99))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("#777777") && msg.contains("#999999"), "{msg}");
        assert!(msg.contains("1.5"), "{msg}");
    }

    #[test]
    fn light_on_dark_needs_invert() {
        let err = Style::default()
            .check_colours(Rgb::WHITE, Rgb::BLACK)
            .unwrap_err();
        assert!(matches!(err, RenderError::Inversion { .. }), "{err}");
        let inverted = Style {
            invert: true,
            ..Style::default()
        };
        inverted.check_colours(Rgb::WHITE, Rgb::BLACK).unwrap();
        // invert on a normal code is as wrong as a silent inversion.
        assert!(inverted.check_colours(Rgb::BLACK, Rgb::WHITE).is_err());
    }

    #[test]
    fn the_eye_colour_keeps_contrast_too() {
        let style = Style {
            eye_color: Some(Rgb(0xdd, 0xdd, 0xdd)),
            ..Style::default()
        };
        let err = style.check_colours(Rgb::BLACK, Rgb::WHITE).unwrap_err();
        assert!(err.to_string().contains("eyeColor"), "{err}");
    }

    #[test]
    fn an_inverted_code_keeps_contrast_in_its_negative() {
        let inverted = Style {
            invert: true,
            eye_color: Some(Rgb(0xe5, 0x1e, 0x04)),
            ..Style::default()
        };
        // 4.5:1 on black as drawn, 1.6:1 once a reader inverts it.
        let black = Rgb::BLACK.luminance();
        assert!(contrast_ratio(Rgb(0xe5, 0x1e, 0x04).luminance(), black) > 4.4);
        let err = inverted.check_colours(Rgb::WHITE, Rgb::BLACK).unwrap_err();
        assert!(
            matches!(
                err,
                RenderError::LowContrast {
                    name: "eyeColor",
                    inverted: true,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("1.59") && err.to_string().contains("negative"),
            "{err}"
        );
        // A grey as light in the negative as the red is in the drawing passes.
        let grey = Style {
            eye_color: Some(Rgb(0x8c, 0x8c, 0x8c)),
            ..inverted
        };
        grey.check_colours(Rgb::WHITE, Rgb::BLACK).unwrap();
    }

    #[test]
    fn the_caption_needs_text_contrast_on_its_band() {
        let frame = |caption_color| Style {
            frame: Some(Frame {
                caption: Caption::new("Scan me").unwrap(),
                frame_color: None,
                caption_color,
            }),
            ..Style::default()
        };
        frame(None).check_colours(Rgb::BLACK, Rgb::WHITE).unwrap();
        // #767676 on black is 4.69:1, #707070 4.3:1.
        frame(Some(Rgb(0x76, 0x76, 0x76)))
            .check_colours(Rgb::BLACK, Rgb::WHITE)
            .unwrap();
        let err = frame(Some(Rgb(0x70, 0x70, 0x70)))
            .check_colours(Rgb::BLACK, Rgb::WHITE)
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("captionColor #707070") && msg.contains("4.5:1"),
            "{msg}"
        );
        // fg #595959 on white passes the code's 3:1 but leaves white text on it at 7:1; a grey
        // at 3.5:1 is fine for modules and refused for text.
        let err = frame(None)
            .check_colours(Rgb(0x90, 0x90, 0x90), Rgb::WHITE)
            .unwrap_err();
        assert!(
            matches!(err, RenderError::LowCaptionContrast { .. }),
            "{err}"
        );
    }

    #[test]
    fn logo_ids_round_trip_through_hex() {
        let id = [0xab; 32];
        let logo = LogoRef {
            id,
            size_permille: DEFAULT_LOGO_PERMILLE,
        };
        assert_eq!(LogoRef::parse_id(&logo.id_hex()), Some(id));
        assert_eq!(LogoRef::parse_id("ab"), None);
        assert_eq!(LogoRef::parse_id(&"g".repeat(64)), None);
    }
}
