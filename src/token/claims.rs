//! The image-token payload: what one image URL may ask the renderer for, and until when.
//!
//! The wire shape is the seed API's, e.g.
//! `{"format":"image/png","size":"800","url":"https://qr.example.com/r/DI5bjNA0","iss":"qr-origin","nbf":1648598709,"exp":1648602309,"iat":1648598709}`,
//! plus optional extensions `ecc`, `border`, `fg`, `bg`, and the branded-code style (README "Branded QR codes"):
//! `shape`, `eyes`, `eyeColor`, `logo`, `logoSize`, `bg: "transparent"`, `invert`, and a
//! framed code's `caption`, `frameColor`, `captionColor` (README "Framed codes"). Unknown
//! claims (`jti`, `sub`, …) are ignored so other issuers' tokens still render; a claim we know
//! with the wrong type is an error, never silently dropped.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::RangeInclusive;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::TokenError;
use crate::render::style::DEFAULT_LOGO_PERMILLE;
use crate::render::{
    Caption, CaptionError, DEFAULT_BORDER, DEFAULT_SIZE, Ecc, Eyes, Format, Frame, LogoRef,
    MAX_BORDER, MAX_SIZE, MIN_SIZE, RenderOptions, Rgb, Shape, Style,
};

/// Longest `url` accepted, in bytes: the most any QR symbol holds (7 089 digits in numeric mode,
/// version 40, ECC L). Whether a content fits at the requested ECC level is the renderer's call
/// (its segments decide: 2 953 bytes of any kind fit); this cap only keeps content that can
/// never render from going further.
pub const MAX_URL_BYTES: usize = 7089;

/// What a verified token asks for. Built by [`ImageClaims::new`] (then adjust the public fields)
/// for signing, or returned by [`Keyring::verify`](super::Keyring::verify), which guarantees every
/// field is within range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageClaims {
    /// The QR content (usually a short link), in the segments that take fewest bits.
    pub url: String,
    /// [`Format::Png`], [`Format::Svg`] or [`Format::Pdf`]; `Text` is not an image and never
    /// verifies.
    pub format: Format,
    /// Edge in pixels, `100..=2000`.
    pub size: u32,
    pub ecc: Ecc,
    /// Quiet zone in modules, `0..=16`.
    pub border: u32,
    pub dark: Rgb,
    /// The light colour; with `style.transparent` always white (the wire form `bg:"transparent"`
    /// carries no colour, and the contrast rule measures against a white surface).
    pub light: Rgb,
    /// Module and eye shapes, eye colour, logo, transparency, inversion; the default is the
    /// plain code, and adds nothing to the wire form.
    pub style: Style,
    /// Issuer, informational (the origin trusts the key, not this claim).
    pub iss: Option<String>,
    /// Not before, seconds since the Unix epoch.
    pub nbf: Option<i64>,
    /// Expiry, seconds since the Unix epoch; `None` means the image may be served forever.
    pub exp: Option<i64>,
    /// Issued at, seconds since the Unix epoch; informational.
    pub iat: Option<i64>,
}

/// A token's validity window, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
}

impl Validity {
    /// Refuses the token outside its validity window, `leeway_secs` of clock skew allowed on both
    /// ends. Expired once `now >= exp + leeway` (RFC 7519: not accepted "on or after" `exp`); not
    /// yet valid while `now + leeway < nbf`. Saturating, so extreme values cannot overflow.
    pub fn check(&self, now_unix: i64, leeway_secs: i64) -> Result<(), TokenError> {
        if let Some(exp) = self.exp
            && now_unix >= exp.saturating_add(leeway_secs)
        {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = self.nbf
            && now_unix.saturating_add(leeway_secs) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }
}

impl ImageClaims {
    /// Claims for `url` rendered as `format` at `size` px with the default style (ECC M, 4-module
    /// quiet zone, black on white) and no issuer or time claims.
    pub fn new(url: impl Into<String>, format: Format, size: u32) -> Self {
        ImageClaims {
            url: url.into(),
            format,
            size,
            ecc: Ecc::default(),
            border: DEFAULT_BORDER,
            dark: Rgb::BLACK,
            light: Rgb::WHITE,
            style: Style::default(),
            iss: None,
            nbf: None,
            exp: None,
            iat: None,
        }
    }

    /// The renderer's view of these claims (everything but the content and the time claims).
    pub fn render_options(&self) -> RenderOptions {
        RenderOptions {
            format: self.format,
            size: self.size,
            ecc: self.ecc,
            border: self.border,
            dark: self.dark,
            light: self.light,
            style: self.style,
        }
    }

    /// Checks every field against the range [`Keyring::verify`](super::Keyring::verify) accepts.
    /// [`Keyring::sign`](super::Keyring::sign) does not check (it cannot fail), so a minting
    /// command calls this first to refuse claims that would never verify.
    pub fn validate(&self) -> Result<(), TokenError> {
        check_url(&self.url)?;
        format_mime(self.format)?;
        in_range("size", i64::from(self.size), SIZE_RANGE, SIZE_REASON)?;
        in_range(
            "border",
            i64::from(self.border),
            BORDER_RANGE,
            BORDER_REASON,
        )?;
        if self.style.transparent && self.light != Rgb::WHITE {
            return Err(invalid("bg", TRANSPARENT_REASON));
        }
        if let Some(logo) = self.style.logo
            && !(1..=1000).contains(&logo.size_permille)
        {
            return Err(invalid("logoSize", LOGO_SIZE_REASON));
        }
        Ok(())
    }

    /// The time window (`nbf`, `exp`), all a verified token still needs checking on later use.
    pub fn validity(&self) -> Validity {
        Validity {
            nbf: self.nbf,
            exp: self.exp,
        }
    }

    /// [`Validity::check`] of this token's window.
    pub fn check_time(&self, now_unix: i64, leeway_secs: i64) -> Result<(), TokenError> {
        self.validity().check(now_unix, leeway_secs)
    }

    /// Parses and range-checks a decoded payload. Only ever called on MAC-verified bytes, but
    /// written to take hostile input anyway (the fuzz target feeds it directly).
    pub fn from_json(payload: &[u8]) -> Result<Self, TokenError> {
        // A derived struct also deserialises from a JSON array; a claims set is an object.
        if first_non_space(payload) != Some(b'{') {
            return Err(TokenError::Malformed("payload is not a JSON object"));
        }
        // Duplicate claim names are refused here too (serde's derive rejects duplicate fields),
        // so no two parsers can disagree about which `exp` counts.
        let raw: RawClaims<'_> = serde_json::from_slice(payload)
            .map_err(|_| TokenError::Malformed("payload is not a valid JSON claims object"))?;
        raw.into_claims()
    }

    /// The payload JSON [`Keyring::sign`](super::Keyring::sign) signs: the seed API's shape
    /// (`size` as a string), style extensions only when they differ from the defaults, so a
    /// plain token keeps the bytes it had before styles existed.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let def = ImageClaims::new("", self.format, self.size);
        let Style {
            shape,
            eyes,
            eye_color,
            logo,
            transparent,
            invert,
            frame,
        } = self.style;
        let bg = if transparent {
            Some(TRANSPARENT.to_owned())
        } else {
            (self.light != def.light).then(|| self.light.to_string())
        };
        let wire = WireClaims {
            format: self.format.content_type(),
            size: self.size.to_string(),
            url: &self.url,
            ecc: (self.ecc != def.ecc).then(|| ecc_str(self.ecc)),
            border: (self.border != def.border).then_some(self.border),
            fg: (self.dark != def.dark).then(|| self.dark.to_string()),
            bg,
            shape: (shape != Shape::default()).then(|| shape.as_str()),
            eyes: (eyes != Eyes::default()).then(|| eyes.as_str()),
            eye_color: eye_color.map(|c| c.to_string()),
            logo: logo.map(|l| l.id_hex()),
            logo_size: logo
                .filter(|l| l.size_permille != DEFAULT_LOGO_PERMILLE)
                .map(|l| f64::from(l.size_permille) / 1000.0),
            invert: invert.then_some(true),
            caption: frame.as_ref().map(|f| f.caption.as_str()),
            frame_color: frame.and_then(|f| f.frame_color).map(|c| c.to_string()),
            caption_color: frame.and_then(|f| f.caption_color).map(|c| c.to_string()),
            iss: self.iss.as_deref(),
            nbf: self.nbf,
            exp: self.exp,
            iat: self.iat,
        };
        serde_json::to_vec(&wire).expect("a struct of strings and integers always serialises")
    }
}

const SIZE_RANGE: RangeInclusive<i64> = MIN_SIZE as i64..=MAX_SIZE as i64;
const SIZE_REASON: &str = "must be an integer 100..=2000 (JSON number or decimal string)";
const BORDER_RANGE: RangeInclusive<i64> = 0..=MAX_BORDER as i64;
const BORDER_REASON: &str = "must be an integer 0..=16 (JSON number or decimal string)";
const TIME_REASON: &str = "must be a JSON number (seconds since the Unix epoch)";
const FORMAT_REASON: &str = "must be \"image/png\", \"image/svg+xml\" or \"application/pdf\"";
const COLOUR_REASON: &str = "must be a colour \"#rrggbb\"";
const BG_REASON: &str = "must be a colour \"#rrggbb\" or \"transparent\"";
const TRANSPARENT_REASON: &str =
    "\"transparent\" carries no colour: the light colour must be white";
const SHAPE_REASON: &str = "must be \"square\", \"rounded\" or \"dots\"";
const EYES_REASON: &str = "must be \"square\", \"rounded\" or \"circle\"";
const LOGO_REASON: &str = "must be a logo id: 64 hex digits (the SHA-256 of the logo)";
const LOGO_SIZE_REASON: &str =
    "must be a number greater than 0 and at most 1 (the logo's share of the symbol's width)";
const LOGO_SIZE_ALONE: &str = "needs a logo: name one with the logo claim";
const INVERT_REASON: &str = "must be true or false";
const CAPTION_TYPE: &str = "must be a string of 1 to 40 characters";
const CAPTION_EMPTY: &str = "must not be empty: 1 to 40 characters";
const CAPTION_LONG: &str = "is too long: at most 40 characters";
const CAPTION_CONTROL: &str = "must not contain control characters or line breaks";
const CAPTION_GLYPH: &str = "has a character the caption font does not draw (it draws Latin-1, \
                             Latin Extended-A and common punctuation)";
const CAPTION_ALONE: &str = "needs a caption: name one with the caption claim";
/// `bg`'s value for no background.
const TRANSPARENT: &str = "transparent";

fn first_non_space(bytes: &[u8]) -> Option<u8> {
    bytes
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

fn check_url(url: &str) -> Result<(), TokenError> {
    let bad = |reason| TokenError::InvalidClaim {
        name: "url",
        reason,
    };
    if url.is_empty() {
        return Err(bad("must not be empty"));
    }
    if url.len() > MAX_URL_BYTES {
        return Err(bad(
            "longer than 7089 bytes, the most any QR code holds (as digits)",
        ));
    }
    Ok(())
}

fn format_mime(format: Format) -> Result<&'static str, TokenError> {
    match format {
        Format::Png | Format::Svg | Format::Pdf => Ok(format.content_type()),
        Format::Text => Err(TokenError::InvalidClaim {
            name: "format",
            reason: FORMAT_REASON,
        }),
    }
}

fn in_range(
    name: &'static str,
    v: i64,
    range: RangeInclusive<i64>,
    reason: &'static str,
) -> Result<u32, TokenError> {
    if range.contains(&v) {
        u32::try_from(v).map_err(|_| TokenError::InvalidClaim { name, reason })
    } else {
        Err(TokenError::InvalidClaim { name, reason })
    }
}

fn ecc_str(ecc: Ecc) -> &'static str {
    match ecc {
        Ecc::L => "L",
        Ecc::M => "M",
        Ecc::Q => "Q",
        Ecc::H => "H",
    }
}

/// The signed wire form; field order follows the seed API.
#[derive(serde::Serialize)]
struct WireClaims<'a> {
    format: &'static str,
    size: String,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ecc: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    border: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eyes: Option<&'static str>,
    #[serde(rename = "eyeColor", skip_serializing_if = "Option::is_none")]
    eye_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo: Option<String>,
    #[serde(rename = "logoSize", skip_serializing_if = "Option::is_none")]
    logo_size: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<&'a str>,
    #[serde(rename = "frameColor", skip_serializing_if = "Option::is_none")]
    frame_color: Option<String>,
    #[serde(rename = "captionColor", skip_serializing_if = "Option::is_none")]
    caption_color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
}

/// Every claim we know, each as whatever JSON value it held: the type checks happen in
/// [`RawClaims::into_claims`] with the claim's name in the error, and `null` stays distinct from
/// absent (a `"exp": null` is an error, not a token that never expires).
#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(default, borrow)]
    url: Json<'a>,
    #[serde(default, borrow)]
    format: Json<'a>,
    #[serde(default, borrow)]
    size: Json<'a>,
    #[serde(default, borrow)]
    ecc: Json<'a>,
    #[serde(default, borrow)]
    border: Json<'a>,
    #[serde(default, borrow)]
    fg: Json<'a>,
    #[serde(default, borrow)]
    bg: Json<'a>,
    #[serde(default, borrow)]
    shape: Json<'a>,
    #[serde(default, borrow)]
    eyes: Json<'a>,
    #[serde(default, borrow, rename = "eyeColor")]
    eye_color: Json<'a>,
    #[serde(default, borrow)]
    logo: Json<'a>,
    #[serde(default, borrow, rename = "logoSize")]
    logo_size: Json<'a>,
    #[serde(default, borrow)]
    invert: Json<'a>,
    #[serde(default, borrow)]
    caption: Json<'a>,
    #[serde(default, borrow, rename = "frameColor")]
    frame_color: Json<'a>,
    #[serde(default, borrow, rename = "captionColor")]
    caption_color: Json<'a>,
    #[serde(default, borrow)]
    iss: Json<'a>,
    #[serde(default, borrow)]
    nbf: Json<'a>,
    #[serde(default, borrow)]
    exp: Json<'a>,
    #[serde(default, borrow)]
    iat: Json<'a>,
}

impl RawClaims<'_> {
    fn into_claims(self) -> Result<ImageClaims, TokenError> {
        let url = match self.url {
            Json::Str(s) => {
                check_url(&s)?;
                s.into_owned()
            }
            Json::Absent => return Err(invalid("url", "is required")),
            _ => return Err(invalid("url", "must be a string")),
        };
        let format = match self.format {
            Json::Str(s) if s == "image/png" => Format::Png,
            Json::Str(s) if s == "image/svg+xml" => Format::Svg,
            Json::Str(s) if s == "application/pdf" => Format::Pdf,
            _ => return Err(invalid("format", FORMAT_REASON)),
        };
        let size = match self.size {
            Json::Absent => DEFAULT_SIZE,
            v => int_or_decimal("size", v, SIZE_RANGE, SIZE_REASON)?,
        };
        let border = match self.border {
            Json::Absent => DEFAULT_BORDER,
            v => int_or_decimal("border", v, BORDER_RANGE, BORDER_REASON)?,
        };
        let ecc = match self.ecc {
            Json::Absent => Ecc::default(),
            Json::Str(s) => match &*s {
                "L" => Ecc::L,
                "M" => Ecc::M,
                "Q" => Ecc::Q,
                "H" => Ecc::H,
                _ => return Err(invalid("ecc", "must be \"L\", \"M\", \"Q\" or \"H\"")),
            },
            _ => return Err(invalid("ecc", "must be \"L\", \"M\", \"Q\" or \"H\"")),
        };
        let dark = colour("fg", self.fg, Rgb::BLACK)?;
        let (light, transparent) = match self.bg {
            Json::Str(s) if s == TRANSPARENT => (Rgb::WHITE, true),
            Json::Str(s) => (s.parse().map_err(|_| invalid("bg", BG_REASON))?, false),
            Json::Absent => (Rgb::WHITE, false),
            _ => return Err(invalid("bg", BG_REASON)),
        };
        let style = Style {
            shape: named("shape", self.shape, SHAPE_REASON)?,
            eyes: named("eyes", self.eyes, EYES_REASON)?,
            eye_color: match self.eye_color {
                Json::Absent => None,
                v => Some(colour("eyeColor", v, Rgb::BLACK)?),
            },
            logo: logo_ref(self.logo, self.logo_size)?,
            transparent,
            invert: match self.invert {
                Json::Absent => false,
                Json::Bool(b) => b,
                _ => return Err(invalid("invert", INVERT_REASON)),
            },
            frame: frame(self.caption, self.frame_color, self.caption_color)?,
        };
        let iss = match self.iss {
            Json::Absent => None,
            Json::Str(s) => Some(s.into_owned()),
            _ => return Err(invalid("iss", "must be a string")),
        };
        Ok(ImageClaims {
            url,
            format,
            size,
            ecc,
            border,
            dark,
            light,
            style,
            iss,
            // Fractions round towards the narrower window: valid no earlier, expired no later.
            nbf: numeric_date("nbf", self.nbf, f64::ceil)?,
            exp: numeric_date("exp", self.exp, f64::floor)?,
            iat: numeric_date("iat", self.iat, f64::floor)?,
        })
    }
}

fn invalid(name: &'static str, reason: &'static str) -> TokenError {
    TokenError::InvalidClaim { name, reason }
}

/// `exp`/`nbf`/`iat`: a JSON number or absent. RFC 7519 NumericDates may be fractional (PyJWT
/// users write `"exp": time.time() + 600`); `round` makes them whole seconds. A string is refused
/// rather than coerced: a type-confused `"exp":"…"` must never read as "no expiry".
fn numeric_date(
    name: &'static str,
    v: Json<'_>,
    round: fn(f64) -> f64,
) -> Result<Option<i64>, TokenError> {
    match v {
        Json::Absent => Ok(None),
        Json::Int(n) => Ok(Some(n)),
        // In range by construction (see `Json::Fraction`), so the cast cannot saturate.
        Json::Fraction(f) => Ok(Some(round(f) as i64)),
        _ => Err(invalid(name, TIME_REASON)),
    }
}

/// `size`/`border`: the seed API sends `"800"`, other issuers `800`; both are fine. A decimal
/// string is plain ASCII digits (no sign, spaces or exponent), at most 10 of them.
fn int_or_decimal(
    name: &'static str,
    v: Json<'_>,
    range: RangeInclusive<i64>,
    reason: &'static str,
) -> Result<u32, TokenError> {
    let n = match v {
        Json::Int(n) => n,
        Json::Str(s) if !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<i64>().map_err(|_| invalid(name, reason))?
        }
        _ => return Err(invalid(name, reason)),
    };
    in_range(name, n, range, reason)
}

/// `fg`/`eyeColor`: `"#rrggbb"` (the `#` optional).
fn colour(name: &'static str, v: Json<'_>, default: Rgb) -> Result<Rgb, TokenError> {
    match v {
        Json::Absent => Ok(default),
        Json::Str(s) => s.parse().map_err(|_| invalid(name, COLOUR_REASON)),
        _ => Err(invalid(name, COLOUR_REASON)),
    }
}

/// `shape`/`eyes`: one of the names [`Shape::as_str`] / [`Eyes::as_str`] spell; absent is
/// the default.
fn named<T: std::str::FromStr + Default>(
    name: &'static str,
    v: Json<'_>,
    reason: &'static str,
) -> Result<T, TokenError> {
    match v {
        Json::Absent => Ok(T::default()),
        Json::Str(s) => s.parse().map_err(|_| invalid(name, reason)),
        _ => Err(invalid(name, reason)),
    }
}

/// `caption` (1..=40 characters the font draws, no control characters) with its optional
/// `frameColor` and `captionColor`; the colours alone are refused, not ignored.
fn frame(caption: Json<'_>, frame: Json<'_>, text: Json<'_>) -> Result<Option<Frame>, TokenError> {
    let caption = match caption {
        Json::Absent => {
            return match (frame, text) {
                (Json::Absent, Json::Absent) => Ok(None),
                (Json::Absent, _) => Err(invalid("captionColor", CAPTION_ALONE)),
                _ => Err(invalid("frameColor", CAPTION_ALONE)),
            };
        }
        Json::Str(s) => Caption::new(&s).map_err(|e| {
            invalid(
                "caption",
                match e {
                    CaptionError::Empty => CAPTION_EMPTY,
                    CaptionError::TooLong { .. } => CAPTION_LONG,
                    CaptionError::Control { .. } => CAPTION_CONTROL,
                    CaptionError::Missing { .. } => CAPTION_GLYPH,
                },
            )
        })?,
        _ => return Err(invalid("caption", CAPTION_TYPE)),
    };
    let optional = |name, v| match v {
        Json::Absent => Ok(None),
        v => colour(name, v, Rgb::BLACK).map(Some),
    };
    Ok(Some(Frame {
        caption,
        frame_color: optional("frameColor", frame)?,
        caption_color: optional("captionColor", text)?,
    }))
}

/// `logo` (64 hex digits) and `logoSize` (0 < x ≤ 1, kept in thousandths: a finer size would
/// not change a pixel and would split the cache).
fn logo_ref(logo: Json<'_>, size: Json<'_>) -> Result<Option<LogoRef>, TokenError> {
    let id = match logo {
        Json::Absent => {
            return match size {
                Json::Absent => Ok(None),
                _ => Err(invalid("logoSize", LOGO_SIZE_ALONE)),
            };
        }
        Json::Str(s) => LogoRef::parse_id(&s).ok_or_else(|| invalid("logo", LOGO_REASON))?,
        _ => return Err(invalid("logo", LOGO_REASON)),
    };
    let share = match size {
        Json::Absent => {
            return Ok(Some(LogoRef {
                id,
                size_permille: DEFAULT_LOGO_PERMILLE,
            }));
        }
        Json::Int(n) => n as f64,
        Json::Fraction(f) => f,
        _ => return Err(invalid("logoSize", LOGO_SIZE_REASON)),
    };
    match permille(share) {
        Some(size_permille) => Ok(Some(LogoRef { id, size_permille })),
        None => Err(invalid("logoSize", LOGO_SIZE_REASON)),
    }
}

/// A share in (0, 1] as thousandths 1..=1000, or `None` outside that range (also when it rounds
/// to 0).
pub fn permille(share: f64) -> Option<u16> {
    if !(share > 0.0 && share <= 1.0) {
        return None;
    }
    let p = (share * 1000.0).round() as u16;
    (p >= 1).then_some(p)
}

/// One JSON value, reduced to what claim checks need. Arrays and objects are skipped without
/// building them (serde_json's recursion limit bounds nesting).
#[derive(Debug, Default, PartialEq)]
enum Json<'a> {
    #[default]
    Absent,
    Null,
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A fraction well within `i64` range (|x| < 2^62).
    Fraction(f64),
    /// An integer beyond `i64`, or a number too large to be a time.
    OtherNumber,
    Str(Cow<'a, str>),
    Compound,
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor(PhantomData))
    }
}

struct JsonVisitor<'a>(PhantomData<Json<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for JsonVisitor<'a> {
    type Value = Json<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Json::OtherNumber, Json::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        const LIMIT: f64 = (1u64 << 62) as f64;
        Ok(if v.is_finite() && v.abs() < LIMIT {
            Json::Fraction(v)
        } else {
            Json::OtherNumber
        })
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Json::Compound)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Json::Compound)
    }
}

/// Asserts that `c` holds the claims of the seed API's example token: its URL, issuer and times,
/// and the plain 800 px PNG with the default colours, ECC and quiet zone. The parser's and the
/// key ring's tests both read that token; `case` names the variant in a failure.
/// The claims of the seed API's example token, built field by field: what signing and the wire
/// form must turn back into that token.
#[cfg(test)]
pub(super) fn seed_claims() -> ImageClaims {
    let mut c = ImageClaims::new("https://qr.example.com/r/DI5bjNA0", Format::Png, 800);
    c.iss = Some("qr-origin".into());
    c.nbf = Some(1648598709);
    c.exp = Some(1648602309);
    c.iat = Some(1648598709);
    c
}

#[cfg(test)]
pub(super) fn assert_seed_claims(c: &ImageClaims, case: &str) {
    assert_eq!(c.url, "https://qr.example.com/r/DI5bjNA0", "{case}");
    assert_eq!(c.iss.as_deref(), Some("qr-origin"), "{case}");
    let times = (Some(1648598709), Some(1648602309), Some(1648598709));
    assert_eq!((c.nbf, c.exp, c.iat), times, "{case}");
    let plain = RenderOptions {
        format: Format::Png,
        size: 800,
        ecc: Ecc::M,
        border: 4,
        dark: Rgb::BLACK,
        light: Rgb::WHITE,
        style: Style::default(),
    };
    assert_eq!(c.render_options(), plain, "{case}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"{"format":"image/png","size":"800","url":"https://qr.example.com/r/DI5bjNA0","iss":"qr-origin","nbf":1648598709,"exp":1648602309,"iat":1648598709}"#;

    fn parse(json: &str) -> Result<ImageClaims, TokenError> {
        ImageClaims::from_json(json.as_bytes())
    }

    fn with(claim: &str) -> String {
        format!(r#"{{"format":"image/png","url":"https://x.test/r/1",{claim}}}"#)
    }

    #[test]
    fn seed_payload_parses_to_the_right_claims() {
        assert_seed_claims(&parse(SEED).unwrap(), "the seed payload");
    }

    #[test]
    fn size_as_number_or_string_and_default() {
        assert_eq!(parse(&with(r#""size":250"#)).unwrap().size, 250);
        assert_eq!(parse(&with(r#""size":"2000""#)).unwrap().size, 2000);
        assert_eq!(parse(&with(r#""iss":"a""#)).unwrap().size, 800);
    }

    #[test]
    fn size_out_of_range_or_odd_forms_are_refused() {
        for bad in [
            r#""size":99"#,
            r#""size":2001"#,
            r#""size":"99""#,
            r#""size":"-800""#,
            r#""size":" 800""#,
            r#""size":"8e2""#,
            r#""size":"""#,
            r#""size":800.5"#,
            r#""size":null"#,
            r#""size":true"#,
            r#""size":[800]"#,
            r#""size":18446744073709551615"#,
            r#""size":"99999999999""#,
        ] {
            assert_eq!(
                parse(&with(bad)).unwrap_err(),
                invalid("size", SIZE_REASON),
                "{bad}"
            );
        }
    }

    #[test]
    fn style_extensions_parse() {
        let c = parse(&with(
            r##""ecc":"H","border":0,"fg":"#112233","bg":"fffefd""##,
        ))
        .unwrap();
        assert_eq!(
            (c.ecc, c.border, c.dark, c.light),
            (Ecc::H, 0, Rgb(0x11, 0x22, 0x33), Rgb(0xff, 0xfe, 0xfd))
        );
        assert_eq!(parse(&with(r#""border":"16""#)).unwrap().border, 16);
    }

    #[test]
    fn bad_style_extensions_are_refused_with_their_name() {
        for (claim, name) in [
            (r#""ecc":"X""#, "ecc"),
            (r#""ecc":1"#, "ecc"),
            (r#""border":17"#, "border"),
            (r#""border":-1"#, "border"),
            (r##""fg":"#12345""##, "fg"),
            (r#""bg":0"#, "bg"),
            (r#""iss":5"#, "iss"),
        ] {
            match parse(&with(claim)) {
                Err(TokenError::InvalidClaim { name: n, .. }) => assert_eq!(n, name, "{claim}"),
                other => panic!("{claim}: {other:?}"),
            }
        }
    }

    #[test]
    fn time_claims_must_be_numbers() {
        for name in ["exp", "nbf", "iat"] {
            for v in [
                "\"1648602309\"",
                "\"1648602309.5\"",
                "null",
                "true",
                "{}",
                "1e30",
            ] {
                assert_eq!(
                    parse(&with(&format!(r#""{name}":{v}"#))).unwrap_err(),
                    invalid(name, TIME_REASON),
                    "{name}={v}"
                );
            }
        }
        assert_eq!(parse(&with(r#""exp":-5"#)).unwrap().exp, Some(-5));
        // Fractions (RFC 7519 allows them) narrow the window to whole seconds.
        let c = parse(&with(
            r#""exp":1648602309.9,"nbf":1648598709.1,"iat":1648598709.7"#,
        ))
        .expect("fractional NumericDates");
        assert_eq!(
            (c.exp, c.nbf, c.iat),
            (Some(1648602309), Some(1648598710), Some(1648598709))
        );
        assert_eq!(parse(&with(r#""exp":-0.5"#)).unwrap().exp, Some(-1));
    }

    #[test]
    fn url_is_required_non_empty_and_capped() {
        let no_url = r#"{"format":"image/png","size":800}"#;
        assert_eq!(parse(no_url).unwrap_err(), invalid("url", "is required"));
        let empty = r#"{"format":"image/png","url":""}"#;
        assert_eq!(
            parse(empty).unwrap_err(),
            invalid("url", "must not be empty")
        );
        let max = format!(
            r#"{{"format":"image/png","url":"{}"}}"#,
            "a".repeat(MAX_URL_BYTES)
        );
        assert_eq!(parse(&max).unwrap().url.len(), MAX_URL_BYTES);
        let over = format!(
            r#"{{"format":"image/png","url":"{}"}}"#,
            "a".repeat(MAX_URL_BYTES + 1)
        );
        assert!(matches!(
            parse(&over),
            Err(TokenError::InvalidClaim { name: "url", .. })
        ));
        let number = r#"{"format":"image/png","url":5}"#;
        assert_eq!(
            parse(number).unwrap_err(),
            invalid("url", "must be a string")
        );
    }

    #[test]
    fn format_must_be_png_svg_or_pdf_mime() {
        let svg = r#"{"format":"image/svg+xml","url":"x"}"#;
        assert_eq!(parse(svg).unwrap().format, Format::Svg);
        let pdf = r#"{"format":"application/pdf","url":"x"}"#;
        assert_eq!(parse(pdf).unwrap().format, Format::Pdf);
        for f in [
            r#""png""#,
            r#""text/targetUrl""#,
            r#""image/gif""#,
            r#""IMAGE/PNG""#,
            "null",
            "1",
        ] {
            let json = format!(r#"{{"format":{f},"url":"x"}}"#);
            assert_eq!(
                parse(&json).unwrap_err(),
                invalid("format", FORMAT_REASON),
                "{f}"
            );
        }
        assert_eq!(
            parse(r#"{"url":"x"}"#).unwrap_err(),
            invalid("format", FORMAT_REASON)
        );
    }

    #[test]
    fn caption_claims_parse_and_every_rule_names_its_claim() {
        let c = parse(&with(
            r##""caption":"Skann og betal – nå","frameColor":"#1a237e","captionColor":"fff59d""##,
        ))
        .unwrap();
        let frame = c.style.frame.unwrap();
        assert_eq!(frame.caption.as_str(), "Skann og betal – nå");
        assert_eq!(frame.frame_color, Some(Rgb(0x1a, 0x23, 0x7e)));
        assert_eq!(frame.caption_color, Some(Rgb(0xff, 0xf5, 0x9d)));
        let plain = parse(&with(r#""caption":"Scan me""#)).unwrap();
        assert_eq!(plain.style.frame.unwrap().frame_color, None);
        let long = format!(r#""caption":"{}""#, "a".repeat(41));
        for (claim, name, reason) in [
            (r#""caption":"""#, "caption", CAPTION_EMPTY),
            (long.as_str(), "caption", CAPTION_LONG),
            (r#""caption":"Scan\tme""#, "caption", CAPTION_CONTROL),
            (r#""caption":"Scan\u2028me""#, "caption", CAPTION_CONTROL),
            (r#""caption":"扫码""#, "caption", CAPTION_GLYPH),
            (r#""caption":["Scan"]"#, "caption", CAPTION_TYPE),
            (r#""caption":null"#, "caption", CAPTION_TYPE),
            (r##""frameColor":"#000000""##, "frameColor", CAPTION_ALONE),
            (
                r##""captionColor":"#ffffff""##,
                "captionColor",
                CAPTION_ALONE,
            ),
            (
                r#""caption":"a","frameColor":"black""#,
                "frameColor",
                COLOUR_REASON,
            ),
        ] {
            assert_eq!(
                parse(&with(claim)).unwrap_err(),
                invalid(name, reason),
                "{claim}"
            );
        }
    }

    #[test]
    fn non_objects_duplicates_and_garbage_are_malformed() {
        let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for bad in [
            "",
            "null",
            r#"["https://x","image/png"]"#,
            r#""{}""#,
            "{",
            r#"{"format":"image/png","url":"x"} trailing"#,
            r#"{"format":"image/png","url":"x","exp":1,"exp":2}"#,
            "\u{feff}{}",
            &nested,
        ] {
            assert!(
                matches!(parse(bad), Err(TokenError::Malformed(_))),
                "{bad:.40}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion_or_refused_by_name() {
        // serde_json skips ignored values iteratively: no stack overflow at any depth.
        let deep = |claim: &str, n: usize| {
            format!(
                r#"{{"format":"image/png","url":"x",{claim}:{}1{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert_eq!(parse(&deep(r#""jti""#, 100_000)).unwrap().url, "x");
        assert_eq!(
            parse(&deep(r#""exp""#, 100_000)).unwrap_err(),
            invalid("exp", TIME_REASON)
        );
    }

    #[test]
    fn unknown_claims_are_ignored() {
        let c = parse(&with(r#""jti":"abc","sub":{"a":[1,2]},"aud":["x"]"#)).unwrap();
        assert_eq!(c.url, "https://x.test/r/1");
    }

    #[test]
    fn escaped_strings_parse() {
        let c = parse(r#"{"format":"image\/png","url":"https:\/\/x.test\/\u00e6"}"#).unwrap();
        assert_eq!(c.url, "https://x.test/æ");
        assert_eq!(c.format, Format::Png);
    }

    #[test]
    fn time_window_with_leeway() {
        let mut c = ImageClaims::new("x", Format::Png, 800);
        c.exp = Some(1000);
        c.nbf = Some(500);
        assert_eq!(c.check_time(1029, 30), Ok(()));
        assert_eq!(c.check_time(1030, 30), Err(TokenError::Expired));
        assert_eq!(c.check_time(1000, 0), Err(TokenError::Expired));
        assert_eq!(c.check_time(470, 30), Ok(()));
        assert_eq!(c.check_time(469, 30), Err(TokenError::NotYetValid));
        c.exp = Some(i64::MAX);
        c.nbf = Some(i64::MIN);
        assert_eq!(c.check_time(i64::MAX - 1, 30), Ok(()));
        c.exp = None;
        c.nbf = None;
        assert_eq!(c.check_time(i64::MAX, i64::MAX), Ok(()));
    }

    #[test]
    fn to_json_is_the_seed_shape_and_round_trips() {
        let mut c = seed_claims();
        assert_eq!(String::from_utf8(c.to_json()).unwrap(), SEED);
        assert_eq!(ImageClaims::from_json(&c.to_json()).unwrap(), c);

        c.ecc = Ecc::Q;
        c.border = 2;
        c.dark = Rgb(1, 2, 3);
        c.light = Rgb(250, 251, 252);
        c.format = Format::Svg;
        assert_eq!(ImageClaims::from_json(&c.to_json()).unwrap(), c);
    }

    const LOGO: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn style_claims_parse() {
        let c = parse(&with(&format!(
            r##""shape":"dots","eyes":"circle","eyeColor":"#aa0000","logo":"{}","logoSize":0.25,"bg":"transparent","invert":false"##,
            LOGO.to_uppercase()
        )))
        .unwrap();
        let logo = c.style.logo.expect("a logo");
        assert_eq!(logo.id_hex(), LOGO, "ids compare in lower case");
        assert_eq!(logo.size_permille, 250);
        assert_eq!(
            (c.style.shape, c.style.eyes, c.style.eye_color),
            (Shape::Dots, Eyes::Circle, Some(Rgb(0xaa, 0, 0)))
        );
        assert!(c.style.transparent && !c.style.invert);
        assert_eq!(c.light, Rgb::WHITE);
        assert_eq!(c.render_options().style, c.style);

        let d = parse(&with(&format!(r#""logo":"{LOGO}","invert":true"#))).unwrap();
        assert_eq!(
            d.style.logo.map(|l| l.size_permille),
            Some(DEFAULT_LOGO_PERMILLE)
        );
        assert!(d.style.invert);
        let whole = parse(&with(&format!(r#""logo":"{LOGO}","logoSize":1"#))).unwrap();
        assert_eq!(whole.style.logo.map(|l| l.size_permille), Some(1000));
        assert!(parse(SEED).unwrap().style.is_plain());
    }

    #[test]
    fn bad_style_claims_are_refused_with_their_name_and_reason() {
        let logo = |size: &str| format!(r#""logo":"{LOGO}","logoSize":{size}"#);
        let cases = [
            (r#""shape":"circle""#.to_owned(), "shape", SHAPE_REASON),
            (r#""shape":1"#.to_owned(), "shape", SHAPE_REASON),
            (r#""eyes":"dots""#.to_owned(), "eyes", EYES_REASON),
            (r#""eyes":null"#.to_owned(), "eyes", EYES_REASON),
            (r#""eyeColor":"red""#.to_owned(), "eyeColor", COLOUR_REASON),
            (r#""eyeColor":null"#.to_owned(), "eyeColor", COLOUR_REASON),
            (r#""logo":"abc""#.to_owned(), "logo", LOGO_REASON),
            (format!(r#""logo":"{}g""#, &LOGO[1..]), "logo", LOGO_REASON),
            (r#""logo":5"#.to_owned(), "logo", LOGO_REASON),
            (logo("0"), "logoSize", LOGO_SIZE_REASON),
            (logo("0.0004"), "logoSize", LOGO_SIZE_REASON),
            (logo("-0.2"), "logoSize", LOGO_SIZE_REASON),
            (logo("1.01"), "logoSize", LOGO_SIZE_REASON),
            (logo(r#""0.2""#), "logoSize", LOGO_SIZE_REASON),
            (logo("1e30"), "logoSize", LOGO_SIZE_REASON),
            (r#""logoSize":0.2"#.to_owned(), "logoSize", LOGO_SIZE_ALONE),
            (r#""bg":"Transparent""#.to_owned(), "bg", BG_REASON),
            (r#""bg":false"#.to_owned(), "bg", BG_REASON),
            (r#""invert":"true""#.to_owned(), "invert", INVERT_REASON),
            (r#""invert":1"#.to_owned(), "invert", INVERT_REASON),
            (r#""invert":null"#.to_owned(), "invert", INVERT_REASON),
        ];
        for (claim, name, reason) in cases {
            assert_eq!(
                parse(&with(&claim)).map(|_| ()),
                Err(invalid(name, reason)),
                "{claim}"
            );
        }
    }

    #[test]
    fn the_writer_adds_only_style_fields_that_differ_from_the_plain_code() {
        let plain = ImageClaims::new("https://x.test/r/1", Format::Png, 800);
        let plain_json = String::from_utf8(plain.to_json()).unwrap();
        assert_eq!(
            plain_json,
            r#"{"format":"image/png","size":"800","url":"https://x.test/r/1"}"#
        );
        let mut c = plain.clone();
        c.style = Style {
            shape: Shape::Rounded,
            eyes: Eyes::Rounded,
            eye_color: Some(Rgb(0x12, 0x34, 0x56)),
            logo: Some(LogoRef {
                id: LogoRef::parse_id(LOGO).unwrap(),
                size_permille: 125,
            }),
            transparent: true,
            invert: false,
            frame: Some(Frame {
                caption: Caption::new("Skann og betal").unwrap(),
                frame_color: None,
                caption_color: Some(Rgb(0xff, 0xf5, 0x9d)),
            }),
        };
        let json = String::from_utf8(c.to_json()).unwrap();
        assert_eq!(
            json,
            format!(
                r##"{{"format":"image/png","size":"800","url":"https://x.test/r/1","bg":"transparent","shape":"rounded","eyes":"rounded","eyeColor":"#123456","logo":"{LOGO}","logoSize":0.125,"caption":"Skann og betal","captionColor":"#fff59d"}}"##
            )
        );
        assert_eq!(ImageClaims::from_json(json.as_bytes()).unwrap(), c);
        // The default logo size is left out; `invert` appears only when true.
        c.style.logo = c.style.logo.map(|l| LogoRef {
            size_permille: DEFAULT_LOGO_PERMILLE,
            ..l
        });
        c.style.transparent = false;
        c.style.invert = true;
        c.light = Rgb::BLACK;
        c.dark = Rgb::WHITE;
        let json = String::from_utf8(c.to_json()).unwrap();
        assert!(
            !json.contains("logoSize") && json.contains(r#""invert":true"#),
            "{json}"
        );
        assert_eq!(ImageClaims::from_json(json.as_bytes()).unwrap(), c);
        for p in [1u16, 3, 199, 201, 333, 999, 1000] {
            c.style.logo = c.style.logo.map(|l| LogoRef {
                size_permille: p,
                ..l
            });
            let back = ImageClaims::from_json(&c.to_json()).unwrap();
            assert_eq!(back.style.logo.map(|l| l.size_permille), Some(p));
        }
    }

    #[test]
    fn validate_refuses_styles_the_wire_cannot_carry() {
        let mut c = ImageClaims::new("x", Format::Png, 800);
        c.style.transparent = true;
        assert_eq!(c.validate(), Ok(()));
        c.light = Rgb(1, 2, 3);
        assert_eq!(c.validate(), Err(invalid("bg", TRANSPARENT_REASON)));
        c.light = Rgb::WHITE;
        c.style.logo = Some(LogoRef {
            id: [0; 32],
            size_permille: 0,
        });
        assert_eq!(c.validate(), Err(invalid("logoSize", LOGO_SIZE_REASON)));
        assert_eq!(permille(0.2), Some(200));
        assert_eq!(
            (permille(0.0), permille(f64::NAN), permille(1.0005)),
            (None, None, None)
        );
    }

    #[test]
    fn validate_matches_what_verify_accepts() {
        let ok = ImageClaims::new("x", Format::Svg, 100);
        assert_eq!(ok.validate(), Ok(()));
        let text = ImageClaims::new("x", Format::Text, 800);
        assert!(text.validate().is_err());
        assert!(ImageClaims::new("x", Format::Png, 2001).validate().is_err());
        assert!(ImageClaims::new("", Format::Png, 800).validate().is_err());
        let mut b = ok.clone();
        b.border = 17;
        assert!(b.validate().is_err());
    }
}
