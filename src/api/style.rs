//! Branded-code styles in the QR API (an extension of the published API; README "Branded QR
//! codes"): the `style` object a call may name, and the merchant's default style,
//! `PUT/GET/DELETE /qr/v1/style`, used for every image URL the API hands the merchant when the
//! call names no style of its own.
//!
//! A merchant-redirect or merchant-callback QR is printed and lives for years, so a style its
//! create or update names is stored with it ([`StoredStyle`]): every later answer about that QR
//! draws its image URLs that way, whatever the default style becomes; a QR without one follows
//! the default. On an update, a body without `style` keeps the stored one (a client of the
//! published API, which knows no `style`, never wipes it), `"style": null` removes it (the QR
//! follows the default again), and a style object replaces it whole.
//!
//! A style object uses the image-token claim names (`fg`, `bg`, `ecc`, `border`, `shape`,
//! `eyes`, `eyeColor`, `logo`, `logoSize`, `invert`, `caption`, `frameColor`, `captionColor`)
//! and is read by the token's own claim
//! parser, so the API and the origin can never disagree about what a field means. It is checked
//! once, where it enters: the fields, the contrast rules ([`RenderOptions::validate`]), the logo
//! being one of the merchant's own, and the renderer's rules for the content the QR will hold
//! ([`render::logo_side`], e.g. a logo too large for the correction budget).

use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::auth;
use super::context::ApiState;
use super::request::{self, ApiBody, ImageRequest};
use super::{ApiError, InvalidParam};
use crate::http::{self as resp, Resp};
use crate::links;
use crate::render::{self, Format, MAX_SIZE, RenderError, RenderOptions};
use crate::store::{DefaultStyle, Link, LinkKind, StoreError, StoredStyle, StyleChange};
use crate::token::{ImageClaims, TokenError};

/// The fields a style object may have: the image-token claims that change the look.
pub const FIELDS: [&str; 13] = [
    "fg",
    "bg",
    "ecc",
    "border",
    "shape",
    "eyes",
    "eyeColor",
    "logo",
    "logoSize",
    "invert",
    "caption",
    "frameColor",
    "captionColor",
];

/// What a style sets: everything about an image but its content, format and size. The default
/// is the plain code (black squares on white, ECC M, 4-module quiet zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageStyle {
    /// Format and size are the call's; the rest is the style.
    opts: RenderOptions,
}

impl ImageStyle {
    /// Reads a style object; `name` is what a 400 calls it (`style` in a body, `body` for
    /// `PUT /qr/v1/style`), and a bad field is named `{name}.{field}`. Checks the fields and
    /// the colour rules, not the logo's owner (see [`checked`]).
    pub fn from_json(name: &str, v: &Value) -> Result<ImageStyle, InvalidParam> {
        let Value::Object(obj) = v else {
            return Err(InvalidParam::new(name, "must be a JSON object"));
        };
        if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(InvalidParam::new(
                &format!("{name}.{k}"),
                format!("is not a style field (allowed: {})", FIELDS.join(", ")),
            ));
        }
        // The claim parser wants a whole claims set: any url and format complete it.
        let mut claims = obj.clone();
        claims.insert("url".into(), "x".into());
        claims.insert("format".into(), "image/png".into());
        let bytes = serde_json::to_vec(&claims).expect("a JSON map always serialises");
        let field = |e: TokenError| match e {
            TokenError::InvalidClaim { name: f, reason } => {
                InvalidParam::new(&format!("{name}.{f}"), reason)
            }
            other => InvalidParam::new(name, other.to_string()),
        };
        let parsed = ImageClaims::from_json(&bytes).map_err(field)?;
        parsed.validate().map_err(field)?;
        let style = ImageStyle {
            opts: parsed.render_options(),
        };
        style
            .opts
            .validate()
            .map_err(|e| render_param(name, &e, ""))?;
        Ok(style)
    }

    /// The canonical object: only the fields that differ from the plain code, spelt as the
    /// token writer spells them (what `GET /qr/v1/style` shows and the store keeps).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut claims = ImageClaims::new("x", Format::Png, render::DEFAULT_SIZE);
        self.apply(&mut claims);
        let mut obj = match serde_json::from_slice(&claims.to_json()) {
            Ok(Value::Object(obj)) => obj,
            _ => unreachable!("the claim writer writes a JSON object"),
        };
        obj.retain(|k, _| FIELDS.contains(&k.as_str()));
        obj
    }

    /// The style as a QR stores it: the canonical object, and the logo it names.
    pub fn stored(&self) -> StoredStyle {
        StoredStyle {
            style: Value::Object(self.to_json()).to_string(),
            logo: self.logo_id(),
        }
    }

    /// Sets these fields in an image token's claims.
    pub fn apply(&self, claims: &mut ImageClaims) {
        let RenderOptions {
            ecc,
            border,
            dark,
            light,
            style,
            format: _,
            size: _,
        } = self.opts;
        claims.ecc = ecc;
        claims.border = border;
        claims.dark = dark;
        claims.light = light;
        claims.style = style;
    }

    /// The logo's id (lower-case hex), if the style names one.
    pub fn logo_id(&self) -> Option<String> {
        self.opts.style.logo.map(|l| l.id_hex())
    }

    /// The renderer's rules for `content` drawn as `format` at `size` px: a style that would not
    /// scan there is refused before any URL is handed out.
    pub fn check_for(&self, content: &str, format: Format, size: u32) -> Result<(), RenderError> {
        let opts = RenderOptions {
            format,
            size,
            ..self.opts
        };
        render::logo_side(content.as_bytes(), &opts).map(|_| ())
    }
}

/// A renderer refusal as an `invalidParams` entry: `{name}.{field}` when it names a field.
fn render_param(name: &str, e: &RenderError, prefix: &str) -> InvalidParam {
    let field = match e {
        RenderError::LowContrast { name, .. }
        | RenderError::Inversion { name, .. }
        | RenderError::InvalidOption { name, .. } => Some(*name),
        RenderError::LowCaptionContrast { .. } => Some("captionColor"),
        RenderError::Caption(_)
        | RenderError::CaptionTooWide { .. }
        | RenderError::CaptionCrowdsCode { .. } => Some("caption"),
        _ => None,
    };
    let name = match field {
        Some(f) if FIELDS.contains(&f) => format!("{name}.{f}"),
        _ => name.to_owned(),
    };
    InvalidParam::new(&name, format!("{prefix}{e}"))
}

/// A style a call names, fully checked for the merchant `msn` and QRs of `kind`: its logo must
/// be one of the merchant's, and it must suit the content such a QR holds (every short link of
/// a kind has the same length, so a placeholder code stands in for the one not drawn yet).
pub async fn checked(
    state: &ApiState,
    msn: &str,
    kind: LinkKind,
    name: &str,
    v: &Value,
) -> Result<ImageStyle, ApiError> {
    let style = ImageStyle::from_json(name, v).map_err(|p| ApiError::Invalid(vec![p]))?;
    if let Some(id) = style.logo_id()
        && state.store.merchant_logo(msn, &id).await?.is_none()
    {
        return Err(not_yours(name, &id));
    }
    let sample = links::short_url(
        &state.config.public_url,
        state.config.short_link_case,
        kind,
        &"0".repeat(links::CODE_LEN),
    );
    // The largest size: only the size-independent rules can refuse here; a size too small
    // for the style is refused on the call that asks for it.
    style
        .check_for(&sample, Format::Png, MAX_SIZE)
        .map_err(|e| ApiError::Invalid(vec![render_param(name, &e, "")]))?;
    Ok(style)
}

/// A store write's refusal of a QR style whose logo was deleted between the check and the
/// write, as the 400 the check would have given; any other error as it is.
pub fn logo_gone(e: StoreError, change: &StyleChange) -> ApiError {
    match (e, change.logo()) {
        (StoreError::Missing("logo"), Some(id)) => not_yours("style", id),
        (e, _) => e.into(),
    }
}

fn not_yours(name: &str, id: &str) -> ApiError {
    ApiError::Invalid(vec![InvalidParam::new(
        &format!("{name}.logo"),
        format!("you have no logo with id {id}: upload it first (POST /qr/v1/logos)"),
    )])
}

/// Where the style of a call's image URLs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StyleSource {
    /// The call named it, or (without a default) the plain code.
    Call,
    /// Stored with the QR.
    Stored,
    /// The merchant's default style.
    Default,
}

/// The style of the image URLs one call hands out, and where it came from (for a 400 that
/// names the right thing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStyle {
    pub style: ImageStyle,
    pub source: StyleSource,
}

impl CallStyle {
    /// [`ImageStyle::check_for`], as a 400 naming `style` (with the default style named as such).
    pub fn check_for(&self, content: &str, format: Format, size: u32) -> Result<(), ApiError> {
        if format == Format::Text {
            return Ok(());
        }
        let prefix = match self.source {
            StyleSource::Call => "",
            StyleSource::Stored => "this QR's stored style: ",
            StyleSource::Default => "your default style (PUT /qr/v1/style): ",
        };
        self.style
            .check_for(content, format, size)
            .map_err(|e| ApiError::Invalid(vec![render_param("style", &e, prefix)]))
    }
}

/// The style for a call: the one it names (already [`checked`]), else the merchant's default,
/// else the plain code.
pub async fn for_call(
    state: &ApiState,
    msn: &str,
    named: Option<ImageStyle>,
) -> Result<CallStyle, ApiError> {
    if let Some(style) = named {
        return Ok(CallStyle {
            style,
            source: StyleSource::Call,
        });
    }
    Ok(match default_style(state, msn).await? {
        Some(style) => CallStyle {
            style,
            source: StyleSource::Default,
        },
        None => CallStyle {
            style: ImageStyle::default(),
            source: StyleSource::Call,
        },
    })
}

/// The style of a stored QR's image URLs: its own, else `fallback` (what [`for_call`] gives
/// for a call naming none), so a list reads the default style once.
pub fn of_link(link: &Link, fallback: &CallStyle) -> Result<CallStyle, ApiError> {
    match stored_style(link)? {
        Some(style) => Ok(CallStyle {
            style,
            source: StyleSource::Stored,
        }),
        None => Ok(*fallback),
    }
}

/// [`of_link`] for one QR: the default style is read only when the QR has no style of its own.
pub async fn for_link(state: &ApiState, link: &Link) -> Result<CallStyle, ApiError> {
    match stored_style(link)? {
        Some(style) => Ok(CallStyle {
            style,
            source: StyleSource::Stored,
        }),
        None => for_call(state, &link.msn, None).await,
    }
}

/// The style stored with a QR, parsed; `None` when it follows the default.
pub fn stored_style(link: &Link) -> Result<Option<ImageStyle>, ApiError> {
    let Some(stored) = &link.style else {
        return Ok(None);
    };
    parse_stored(&stored.style).map(Some).map_err(|e| {
        StoreError::Backend(format!(
            "the stored style of QR {} does not read: {e}",
            link.code
        ))
        .into()
    })
}

/// The canonical object of a QR's stored style, for the answers that show it.
pub fn shown(link: &Link) -> Result<Option<Map<String, Value>>, ApiError> {
    Ok(stored_style(link)?.map(|s| s.to_json()))
}

/// A style the API stored, read again. What the API stored it validated; a stored style that
/// no longer reads is a bug or a newer, stricter binary, never the merchant's doing.
fn parse_stored(stored: &str) -> Result<ImageStyle, String> {
    serde_json::from_str::<Value>(stored)
        .map_err(|e| e.to_string())
        .and_then(|v| ImageStyle::from_json("style", &v).map_err(|p| p.reason))
}

/// The merchant's stored default style, parsed.
async fn default_style(state: &ApiState, msn: &str) -> Result<Option<ImageStyle>, ApiError> {
    let Some(stored) = state.store.default_style(msn).await? else {
        return Ok(None);
    };
    parse_stored(&stored.style).map(Some).map_err(|e| {
        StoreError::Backend(format!(
            "the stored default style of {msn} does not read: {e}"
        ))
        .into()
    })
}

/// `PUT /qr/v1/style`: the body is the style object. `200` with the style as stored.
pub async fn put<B>(state: &ApiState, headers: &HeaderMap, body: B) -> Result<Resp, ApiError>
where
    B: ApiBody,
{
    let caller = auth::caller(state, headers).await?;
    let body = Value::Object(request::json_object(headers, body).await?);
    // Every kind of short link has the same length; a payment link stands for all of them.
    let style = checked(state, &caller.msn, LinkKind::Payment, "body", &body).await?;
    let canonical = style.to_json();
    let stored = DefaultStyle {
        msn: caller.msn.clone(),
        style: Value::Object(canonical.clone()).to_string(),
        logo: style.logo_id(),
        updated_at_ms: state.clock.now_ms(),
    };
    match state.store.put_default_style(&stored).await {
        Ok(()) => Ok(resp::json(StatusCode::OK, &canonical)),
        // The logo was deleted between the check and the write.
        Err(StoreError::Missing(_)) if stored.logo.is_some() => Err(not_yours(
            "body",
            stored.logo.as_deref().unwrap_or_default(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `GET /qr/v1/style`: the merchant's default style, `404` without one.
pub async fn get(state: &ApiState, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    match default_style(state, &caller.msn).await? {
        Some(style) => Ok(resp::json(StatusCode::OK, &style.to_json())),
        None => Err(no_default()),
    }
}

/// `DELETE /qr/v1/style`: `204`; image URLs handed out from now on are plain again.
pub async fn delete(state: &ApiState, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let caller = auth::caller(state, headers).await?;
    if state.store.delete_default_style(&caller.msn).await? {
        Ok(resp::status_only(StatusCode::NO_CONTENT))
    } else {
        Err(no_default())
    }
}

fn no_default() -> ApiError {
    ApiError::NotFound("no default style: set one with PUT /qr/v1/style".to_owned())
}

/// The optional `style` field of an update's body (`PUT /qr/v1/merchant-redirect/{id}`,
/// `PUT /qr/v1/merchant-callback/{id}`), checked for the merchant and QR kind: absent keeps the
/// QR's stored style, `null` removes it (the QR follows the default style again), an object
/// replaces it. On a create the same field stores the style (absent or `null`: none).
pub async fn change_in(
    state: &ApiState,
    msn: &str,
    kind: LinkKind,
    body: &Map<String, Value>,
) -> Result<StyleChange, ApiError> {
    match body.get("style") {
        None => Ok(StyleChange::Keep),
        Some(Value::Null) => Ok(StyleChange::Clear),
        Some(v) => checked(state, msn, kind, "style", v)
            .await
            .map(|s| StyleChange::Set(s.stored())),
    }
}

/// The optional `style` field of a create call's body, checked for the merchant and QR kind.
pub async fn named_in(
    state: &ApiState,
    msn: &str,
    kind: LinkKind,
    body: &Map<String, Value>,
) -> Result<Option<ImageStyle>, ApiError> {
    match body.get("style") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => checked(state, msn, kind, "style", v).await.map(Some),
    }
}

/// The `url` of an answer for a QR that encodes its short link, or with `text/targetUrl` the
/// short link itself. A style that cannot be drawn at the size asked for is a 400, never a URL
/// that will not render.
pub(super) fn image_url(
    state: &ApiState,
    link: &Link,
    image: ImageRequest,
    style: &CallStyle,
) -> Result<String, ApiError> {
    let content = links::short_url(
        &state.config.public_url,
        state.config.short_link_case,
        link.kind,
        &link.code,
    );
    if image.format == Format::Text {
        return Ok(content);
    }
    style.check_for(&content, image.format, image.size)?;
    let mut claims = ImageClaims::new(content, image.format, image.size);
    style.style.apply(&mut claims);
    // `iat`/`nbf` are the QR's creation, so one QR asked for twice in one format gets the same
    // URL.
    let issued_at = link.created_at_ms.div_euclid(1000);
    claims.iss = Some("qr-origin".to_owned());
    claims.iat = Some(issued_at);
    claims.nbf = Some(issued_at);
    // The origin answers `max-age = exp - now` in whole seconds, `now` rounded down; with `exp`
    // one second below the link's expiry (rounded down), no cached copy outlives the link (a
    // payment QR answered `expiresIn: 600` with `max-age=601`).
    claims.exp = link.expires_at_ms.map(|e| e.div_euclid(1000) - 1);
    Ok((state.images)(&claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Eyes, Rgb, Shape};
    use serde_json::json;

    fn parse(v: Value) -> Result<ImageStyle, (String, String)> {
        ImageStyle::from_json("style", &v).map_err(|p| (p.name, p.reason))
    }

    #[test]
    fn a_style_reads_like_the_claims_and_writes_only_what_differs() {
        let s = parse(json!({
            "shape": "dots", "eyes": "rounded", "eyeColor": "#aa0000", "fg": "#112233",
            "bg": "transparent", "ecc": "Q", "border": 2
        }))
        .expect("valid");
        assert_eq!(s.opts.style.shape, Shape::Dots);
        assert_eq!(s.opts.style.eyes, Eyes::Rounded);
        assert_eq!(s.opts.dark, Rgb(0x11, 0x22, 0x33));
        assert!(s.opts.style.transparent);
        assert_eq!(
            Value::Object(s.to_json()),
            json!({
                "ecc": "Q", "border": 2, "fg": "#112233", "bg": "transparent",
                "shape": "dots", "eyes": "rounded", "eyeColor": "#aa0000"
            })
        );
        assert_eq!(
            ImageStyle::from_json("style", &Value::Object(s.to_json())),
            Ok(s),
            "the canonical form reads back"
        );
        let plain = parse(json!({})).expect("empty is plain");
        assert_eq!(plain, ImageStyle::default());
        assert!(plain.to_json().is_empty());
        let mut claims = ImageClaims::new("x", Format::Png, 800);
        s.apply(&mut claims);
        assert_eq!(
            (claims.ecc, claims.border, claims.style),
            (render::Ecc::Q, 2, s.opts.style)
        );
    }

    #[test]
    fn bad_styles_name_the_field() {
        for (v, name) in [
            (json!([]), "style"),
            (json!("dots"), "style"),
            (json!({"size": 800}), "style.size"),
            (json!({"url": "https://x"}), "style.url"),
            (json!({"shape": "star"}), "style.shape"),
            (json!({"eyes": 1}), "style.eyes"),
            (json!({"logo": "abc"}), "style.logo"),
            (json!({"logoSize": 0.2}), "style.logoSize"),
            (
                json!({"logo": "ab".repeat(32), "logoSize": 2}),
                "style.logoSize",
            ),
            (json!({"invert": "yes"}), "style.invert"),
            (json!({"border": 17}), "style.border"),
            (json!({"fg": "#777777", "bg": "#999999"}), "style.fg"),
            (json!({"fg": "#ffffff", "bg": "#000000"}), "style.fg"),
            (json!({"eyeColor": "#eeeeee"}), "style.eyeColor"),
        ] {
            let (got, reason) = parse(v.clone()).expect_err("invalid");
            assert_eq!(got, name, "{v}: {reason}");
        }
        let (_, reason) = parse(json!({"fg": "#777777", "bg": "#999999"})).expect_err("low");
        assert!(
            reason.contains("#777777") && reason.contains("3:1"),
            "{reason}"
        );
        parse(json!({"fg": "#ffffff", "bg": "#000000", "invert": true})).expect("inverted");
    }
}
