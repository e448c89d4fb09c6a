//! The render options `render` and `token` share, named as the token claims name them
//! (`ecc`, `border`, `fg`, `bg`), so one vocabulary describes an image everywhere.

use crate::render::{self, Ecc, Rgb};

/// `--ecc`, `--border`, `--fg`, `--bg`.
#[derive(Debug, Clone, clap::Args)]
pub struct LookArgs {
    /// Error-correction level: L | M | Q | H.
    #[arg(long, default_value = "M")]
    pub ecc: Ecc,
    /// Quiet zone in modules, 0..=16 (the standard asks for 4).
    #[arg(long, default_value_t = render::DEFAULT_BORDER)]
    pub border: u32,
    /// Foreground (dark module) colour, rrggbb or #rrggbb.
    #[arg(long, default_value = "000000", value_name = "RRGGBB")]
    pub fg: Rgb,
    /// Background colour, rrggbb or #rrggbb.
    #[arg(long, default_value = "ffffff", value_name = "RRGGBB")]
    pub bg: Rgb,
}
