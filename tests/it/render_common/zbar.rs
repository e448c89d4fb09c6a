//! A second decoder family for the render tests: zbar (its own QR decoder, descended from
//! quirc, in many point-of-sale scanners and Linux apps; zxing-cpp and rxing are both ZXing),
//! through Debian's `libzbar0` and ctypes, so it needs no Python package: `zbar_read.py`.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use super::pipe::PipeReader;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/render_common/zbar_read.py"
);

/// How zbar hands back the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZbarText {
    /// Its default: the bytes converted to UTF-8 from the character set an ECI names or zbar
    /// guesses (what an app built on zbar shows).
    Converted,
    /// `ZBAR_CFG_BINARY`: the segments' bytes as they are.
    Binary,
}

/// The content zbar finds in a luma image (0 dark … 255 light), or `None`.
pub fn read_zbar(width: u32, height: u32, luma: &[u8], text: ZbarText) -> Option<Vec<u8>> {
    static READER: OnceLock<Mutex<PipeReader>> = OnceLock::new();
    let mode = match text {
        ZbarText::Converted => "text",
        ZbarText::Binary => "binary",
    };
    READER
        .get_or_init(|| Mutex::new(PipeReader::start(Path::new("python3"), SCRIPT)))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .read(&format!("{mode} {width} {height}"), width, height, luma)
}
