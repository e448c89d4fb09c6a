//! The origin's logos: a token naming a logo gets it from here, decoded and scaled.
//!
//! Two byte-bounded moka caches, both coalescing concurrent misses (`try_get_with`):
//! - decoded logos by id: the store is read and the upload decoded once, not per render;
//! - scaled pixmaps by (id, square side in px): a viral QR's renders, and every QR of one
//!   merchant at one size, reuse one scaled copy instead of resampling the logo each time.
//!
//! A PDF of an SVG logo takes its outlines instead ([`Logos::drawing`]), from the decoded logo:
//! a vector needs no copy per size.
//!
//! A logo id names immutable bytes (their SHA-256), so a cached logo is never stale. A logo
//! deleted through the API may still be drawn by an instance that holds it in memory, like the
//! images a CDN already caches (the API documentation says so).

use std::sync::Arc;

use moka::future::Cache;

use tiny_skia::Pixmap;

use crate::logo::{self, DecodedLogo, LogoFailure, LogoId};
use crate::render::{Format, LogoArt, VectorLogo};
use crate::store::{Store, StoreError};

/// Bytes of decoded and scaled logos kept in memory. A decoded 2048² PNG is 16 MiB, a typical
/// scaled logo (160 px square, an 800 px image at logoSize 0.2) 100 KiB: room for a few large
/// logos and hundreds of scaled copies.
pub const LOGO_CACHE_BYTES: u64 = 64 << 20;

/// The decoded-logo and scaled-pixmap caches, over the store logos are read from.
pub struct Logos {
    store: Option<Arc<dyn Store>>,
    decoded: Cache<LogoId, Arc<DecodedLogo>>,
    scaled: Cache<(LogoId, u32), Arc<Pixmap>>,
}

impl std::fmt::Debug for Logos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logos")
            .field("decoded", &self.decoded.entry_count())
            .field("scaled", &self.scaled.entry_count())
            .finish_non_exhaustive()
    }
}

impl Logos {
    /// Caches of `max_bytes` in all (half each) over `store`; without a store every logo is
    /// unknown (an origin started for benches or tests that use no logos).
    pub fn new(store: Option<Arc<dyn Store>>, max_bytes: u64) -> Logos {
        let half = max_bytes / 2;
        Logos {
            store,
            decoded: Cache::builder()
                .max_capacity(half)
                .weigher(|_, v: &Arc<DecodedLogo>| weight(v.weight()))
                .build(),
            scaled: Cache::builder()
                .max_capacity(half)
                .weigher(|_, v: &Arc<Pixmap>| weight(v.data().len()))
                .build(),
        }
    }

    /// The logo `id` scaled to fit a `side`×`side` square (premultiplied RGBA, what the styled
    /// renderer composites).
    pub async fn scaled(&self, id: &str, side: u32) -> Result<Arc<Pixmap>, LogoFailure> {
        self.scaled
            .try_get_with((id.to_owned(), side), async {
                let decoded = self.decoded(id).await?;
                // Resampling (or rasterising an SVG) is CPU work: off the reactor too.
                let pixmap = tokio::task::spawn_blocking(move || decoded.fit(side))
                    .await
                    .ok()
                    .flatten()
                    .ok_or_else(|| LogoFailure::Undecodable(id.to_owned()))?;
                Ok(Arc::new(pixmap))
            })
            .await
            .map_err(|e: Arc<LogoFailure>| LogoFailure::clone(&e))
    }

    /// The logo `id` as a render of `format` draws it in a `side`×`side` square: a PDF takes
    /// an SVG logo's outlines when it has them ([`DecodedLogo::outlines`]), everything else
    /// the scaled pixels.
    pub async fn drawing(
        &self,
        id: &str,
        side: u32,
        format: Format,
    ) -> Result<LogoDrawing, LogoFailure> {
        if format == Format::Pdf
            && let Some(outlines) = self.decoded(id).await?.outlines()
        {
            return Ok(LogoDrawing::Outlines(Arc::clone(outlines)));
        }
        Ok(LogoDrawing::Pixels(self.scaled(id, side).await?))
    }

    async fn decoded(&self, id: &str) -> Result<Arc<DecodedLogo>, LogoFailure> {
        let unknown = || LogoFailure::Unknown(id.to_owned());
        let undecodable = || LogoFailure::Undecodable(id.to_owned());
        self.decoded
            .try_get_with(id.to_owned(), async {
                let store = self.store.as_ref().ok_or_else(unknown)?;
                let data = match store.logo(id).await {
                    Ok(Some(data)) => data,
                    Ok(None) => return Err(unknown()),
                    Err(e) => {
                        log_store_error(&e);
                        return Err(LogoFailure::Unavailable);
                    }
                };
                // Decoding a large PNG or rasterising an SVG takes milliseconds: off the reactor.
                let decoded =
                    tokio::task::spawn_blocking(move || logo::decode(data.format, &data.bytes))
                        .await
                        .map_err(|_| undecodable())?
                        .map_err(|e| {
                            tracing::warn!(logo = %id, error = %e, "stored logo does not decode");
                            undecodable()
                        })?;
                Ok(Arc::new(decoded))
            })
            .await
            .map_err(|e: Arc<LogoFailure>| LogoFailure::clone(&e))
    }
}

/// A logo fetched for one render, owned so it can move to the render pool.
#[derive(Debug, Clone)]
pub enum LogoDrawing {
    Pixels(Arc<Pixmap>),
    Outlines(Arc<VectorLogo>),
}

impl LogoDrawing {
    /// What the PDF writer takes.
    pub fn art(&self) -> LogoArt<'_> {
        match self {
            LogoDrawing::Pixels(p) => LogoArt::Raster(p),
            LogoDrawing::Outlines(v) => LogoArt::Vector(v),
        }
    }

    /// What the PNG and SVG writers take (never outlines: [`Logos::drawing`] gives those to
    /// a PDF only).
    pub fn pixels(&self) -> Option<&Pixmap> {
        match self {
            LogoDrawing::Pixels(p) => Some(p),
            LogoDrawing::Outlines(_) => None,
        }
    }
}

fn log_store_error(e: &StoreError) {
    tracing::warn!(error = %e, "logo store read failed");
}

/// A moka weight (u32), with a little for the entry's own bookkeeping.
fn weight(bytes: usize) -> u32 {
    u32::try_from(bytes.saturating_add(256)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{DB_FILE, SqliteStore};
    use crate::store::testing::conformance;
    use crate::store::{LogoFormat, NewLogo};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgb);
        let mut writer = e.write_header().expect("header");
        writer
            .write_image_data(&vec![90; (w * h * 3) as usize])
            .expect("data");
        writer.finish().expect("finish");
        out
    }

    #[tokio::test]
    async fn logos_load_once_scale_per_size_and_outlive_a_failing_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open_in_dir(dir.path()).expect("open"));
        store
            .add_merchant(&conformance::merchant("700001"))
            .await
            .expect("merchant");
        let bytes = png(40, 20);
        let id = logo::id_of(&bytes);
        let new = NewLogo {
            id: id.clone(),
            msn: "700001".into(),
            format: LogoFormat::Png,
            bytes,
            width: 40,
            height: 20,
            created_at_ms: 1,
        };
        store.add_logo(&new, 10).await.expect("add");
        let logos = Logos::new(Some(store.clone()), 1 << 20);

        let a = logos.scaled(&id, 100).await.expect("known");
        assert_eq!((a.width(), a.height()), (100, 50));
        assert_eq!(a.pixel(50, 25).expect("pixel").red(), 90);
        let again = logos.scaled(&id, 100).await.expect("cached");
        assert!(Arc::ptr_eq(&a, &again), "one scaled copy per size");
        let b = logos.scaled(&id, 30).await.expect("another size");
        assert_eq!((b.width(), b.height()), (30, 15));

        let unknown = "ab".repeat(32);
        assert_eq!(
            logos.scaled(&unknown, 100).await,
            Err(LogoFailure::Unknown(unknown.clone()))
        );

        // Break the real store underneath: reads now fail.
        let raw = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("raw open");
        raw.execute_batch("DROP TABLE merchant_styles; DROP TABLE logos;")
            .expect("drop");
        assert_eq!(
            logos.scaled(&unknown, 100).await,
            Err(LogoFailure::Unavailable),
            "not in memory, store down: unavailable, not unknown"
        );
        let still = logos.scaled(&id, 64).await.expect("decoded copy in memory");
        assert_eq!((still.width(), still.height()), (64, 32));

        assert_eq!(LogoFailure::Unavailable.status(), 503);
        assert_eq!(LogoFailure::Unknown(unknown).status(), 400);
        let storeless = Logos::new(None, 1 << 20);
        assert!(matches!(
            storeless.scaled(&id, 10).await,
            Err(LogoFailure::Unknown(_))
        ));
    }
}
