//! The identity of a rendered image: the content and [`RenderOptions`], never a token's
//! `exp`/`iat`, so every token ever minted for one QR names the same image.
//!
//! A key carries its digest: a SHA-256 over the renderer version and a canonical encoding of the
//! inputs, computed once when the key is made. The digest is the ETag (see
//! [`super::response::etag`]) and also the key's `Hash`. Hashing the content instead cost a
//! SipHash pass over it on every cache lookup and insert, and on every entry each time moka's
//! map rehashes a segment to clear out evicted entries: in the all-unique-tokens load test that
//! rehashing alone was about 8 % of the server's CPU, mostly chasing each entry's content pointer.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use sha2::{Digest, Sha256};

use crate::render::{
    Ecc, Eyes, Format, Frame, LogoRef, RENDERER_VERSION, RenderOptions, Shape, Style,
};

/// What determines the rendered bytes, with [`RENDERER_VERSION`].
#[derive(Debug, Clone, Eq)]
pub struct RenderKey {
    content: String,
    opts: RenderOptions,
    digest: [u8; 16],
}

impl RenderKey {
    pub fn new(content: String, opts: RenderOptions) -> RenderKey {
        RenderKey::for_version(RENDERER_VERSION, content, opts)
    }

    /// [`RenderKey::new`] under a given renderer version (so a test can pin the encoding).
    pub(crate) fn for_version(version: &str, content: String, opts: RenderOptions) -> RenderKey {
        let digest = digest(version, &content, &opts);
        RenderKey {
            content,
            opts,
            digest,
        }
    }

    pub fn content(&self) -> &str {
        &self.content
    }

    pub fn opts(&self) -> &RenderOptions {
        &self.opts
    }

    /// SHA-256 of the renderer version and the inputs, truncated to 128 bits. It depends on
    /// nothing process-local (no hasher seed, no address), so every replica agrees on it.
    pub fn digest(&self) -> &[u8; 16] {
        &self.digest
    }
}

impl PartialEq for RenderKey {
    fn eq(&self, other: &RenderKey) -> bool {
        // The digest decides almost every comparison at once; the inputs are still compared so
        // equality never rests on the hash alone.
        self.digest == other.digest && self.opts == other.opts && self.content == other.content
    }
}

impl Hash for RenderKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal keys have equal digests, so this agrees with `Eq`. The maps still run it through
        // their own seeded hasher.
        let (head, _) = self.digest.split_first_chunk::<8>().expect("16 bytes");
        state.write_u64(u64::from_le_bytes(*head));
    }
}

/// The hasher of the origin's maps whose keys already carry uniform bits (a [`RenderKey`]'s
/// digest, a token's HMAC tail): one 64×64→128-bit multiply per word, folded, under two
/// per-map random seeds. SipHash cost ~250 instructions per lookup on the cache-hit path
/// (callgrind on the release server), this a few. SECURITY: the seeds come from the standard
/// library's random hasher keys, so a client choosing contents cannot predict which keys
/// share a bucket.
#[derive(Debug, Clone)]
pub struct SeededFold {
    k0: u64,
    k1: u64,
}

impl Default for SeededFold {
    fn default() -> SeededFold {
        let seeds = RandomState::new();
        SeededFold {
            k0: seeds.hash_one(0x243F_6A88_85A3_08D3u64),
            // odd, so the multiply loses no bit of the state
            k1: seeds.hash_one(0x1319_8A2E_0370_7344u64) | 1,
        }
    }
}

impl BuildHasher for SeededFold {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher {
            state: self.k0,
            k1: self.k1,
        }
    }
}

/// See [`SeededFold`].
pub struct FoldHasher {
    state: u64,
    k1: u64,
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.write_usize(bytes.len());
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(last));
        }
    }
    #[inline]
    fn write_u64(&mut self, x: u64) {
        let p = u128::from(self.state ^ x) * u128::from(self.k1);
        self.state = (p as u64) ^ ((p >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    fn finish(&self) -> u64 {
        self.state
    }
}

/// Length-prefixed fields: no two different inputs encode to the same byte string.
fn digest(version: &str, content: &str, o: &RenderOptions) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"qr-origin/etag\0");
    h.update((version.len() as u64).to_be_bytes());
    h.update(version.as_bytes());
    h.update((content.len() as u64).to_be_bytes());
    h.update(content.as_bytes());
    // Destructured, not read field by field: a render option added to `RenderOptions` or
    // `Style` without a line here is a compile error, so the key can never miss one.
    let RenderOptions {
        format,
        size,
        ecc,
        border,
        dark,
        light,
        style,
    } = *o;
    let Style {
        shape,
        eyes,
        eye_color,
        logo,
        transparent,
        invert,
        frame,
    } = style;
    let format: u8 = match format {
        Format::Png => 1,
        Format::Svg => 2,
        Format::Text => 3,
        Format::Pdf => 4,
    };
    let ecc: u8 = match ecc {
        Ecc::L => 1,
        Ecc::M => 2,
        Ecc::Q => 3,
        Ecc::H => 4,
    };
    h.update([format, ecc]);
    h.update(size.to_be_bytes());
    h.update(border.to_be_bytes());
    h.update([dark.0, dark.1, dark.2, light.0, light.1, light.2]);
    // The plain style adds nothing, so every plain image keeps the digest (and ETag) it had
    // before styles existed.
    if !style.is_plain() {
        let shape: u8 = match shape {
            Shape::Square => 1,
            Shape::Rounded => 2,
            Shape::Dots => 3,
        };
        let eyes: u8 = match eyes {
            Eyes::Square => 1,
            Eyes::Rounded => 2,
            Eyes::Circle => 3,
        };
        h.update(b"\0style");
        h.update([shape, eyes, u8::from(transparent), u8::from(invert)]);
        match eye_color {
            Some(c) => h.update([1, c.0, c.1, c.2]),
            None => h.update([0]),
        }
        match logo {
            Some(LogoRef { id, size_permille }) => {
                h.update([1]);
                h.update(id);
                h.update(size_permille.to_be_bytes());
            }
            None => h.update([0]),
        }
        // Appended only when there is a frame, so styled codes without one keep their digest.
        if let Some(Frame {
            caption,
            frame_color,
            caption_color,
        }) = frame
        {
            h.update(b"\0frame");
            h.update((caption.as_str().len() as u64).to_be_bytes());
            h.update(caption.as_str().as_bytes());
            for c in [frame_color, caption_color] {
                match c {
                    Some(c) => h.update([1, c.0, c.1, c.2]),
                    None => h.update([0]),
                }
            }
        }
    }
    let full = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(content: &str, change: impl FnOnce(&mut RenderOptions)) -> RenderKey {
        let mut opts = RenderOptions::default();
        change(&mut opts);
        RenderKey::new(content.into(), opts)
    }

    #[test]
    fn the_digest_depends_on_every_input() {
        let a = key("https://x/1", |_| {});
        assert_eq!(a.digest(), key("https://x/1", |_| {}).digest());
        let others = [
            key("https://x/2", |_| {}),
            key("https://x/1", |o| o.size = 801),
            key("https://x/1", |o| o.format = Format::Svg),
            key("https://x/1", |o| o.ecc = Ecc::H),
            key("https://x/1", |o| o.border = 5),
            key("https://x/1", |o| o.dark = crate::render::Rgb(1, 0, 0)),
            key("https://x/1", |o| o.light = crate::render::Rgb(1, 1, 1)),
            key("https://x/1", |o| o.style.shape = Shape::Rounded),
            key("https://x/1", |o| o.style.shape = Shape::Dots),
            key("https://x/1", |o| o.style.eyes = Eyes::Circle),
            key("https://x/1", |o| {
                o.style.eye_color = Some(crate::render::Rgb(0, 0, 1))
            }),
            key("https://x/1", |o| o.style.transparent = true),
            key("https://x/1", |o| o.style.invert = true),
            key("https://x/1", |o| o.style.logo = Some(logo([1; 32], 200))),
            key("https://x/1", |o| o.style.logo = Some(logo([2; 32], 200))),
            key("https://x/1", |o| o.style.logo = Some(logo([1; 32], 201))),
            RenderKey::for_version("other", "https://x/1".into(), RenderOptions::default()),
        ];
        for other in &others {
            assert_ne!(a.digest(), other.digest(), "{other:?}");
            assert_ne!(&a, other);
        }
        let distinct: HashSet<[u8; 16]> = others.iter().map(|k| *k.digest()).collect();
        assert_eq!(
            distinct.len(),
            others.len(),
            "two option sets share a digest"
        );
    }

    /// Plain images keep the digest they had before styles existed (their ETags must not move).
    #[test]
    fn the_plain_digest_is_pinned() {
        let k = RenderKey::for_version("2", "https://x/1".into(), RenderOptions::default());
        let hex: String = k.digest().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "86d40bb76493b18fee83bdf32c74df34");
    }

    fn logo(id: [u8; 32], size_permille: u16) -> LogoRef {
        LogoRef { id, size_permille }
    }

    #[test]
    fn keys_are_equal_exactly_when_their_inputs_are() {
        let set: HashSet<RenderKey> = [
            key("https://x/1", |_| {}),
            key("https://x/1", |_| {}),
            key("https://x/1", |o| o.size = 801),
            key("https://x/11", |_| {}),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 3);
        assert!(set.contains(&key("https://x/1", |o| o.size = 801)));
        assert!(!set.contains(&key("https://x/1", |o| o.size = 802)));
    }
}
