//! `qr-origin logo add|list`: store a merchant's logo from a file, for operators (the same
//! validation as `POST /qr/v1/logos`), and list a merchant's logos.
//!
//! Works on the same data directory as `serve`, also while the server runs (see `merchant`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::api::logos::MAX_LOGOS_PER_MERCHANT;
use crate::clock::{Clock, SystemClock};
use crate::logo;
use crate::store::{Conflict, LogoFormat, NewLogo, Store, StoreError};

/// Arguments of `qr-origin logo`.
#[derive(Debug, clap::Args)]
pub struct LogoArgs {
    #[command(flatten)]
    pub store: crate::config::StoreArgs,

    #[command(subcommand)]
    pub action: LogoAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum LogoAction {
    /// Validate a PNG or SVG file and store it as one of a merchant's logos; prints the logo
    /// (its `id` is what a style's `logo` names) as JSON.
    Add {
        /// The image: `.png` or `.svg` (else the PNG signature decides).
        file: PathBuf,
        /// The merchant's serial number.
        #[arg(long)]
        msn: String,
    },
    /// Print a merchant's logos as JSON.
    List {
        #[arg(long)]
        msn: String,
    },
}

/// A logo as printed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Printed {
    id: String,
    content_type: &'static str,
    width: u32,
    height: u32,
    bytes: u64,
    /// `false` when the merchant already had these bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
}

/// Runs the subcommand, printing JSON to stdout.
pub fn run(args: LogoArgs) -> anyhow::Result<()> {
    super::print_from_store(&args.store, |store| async move {
        match args.action {
            LogoAction::Add { file, msn } => add(&*store, &file, &msn).await,
            LogoAction::List { msn } => list(&*store, &msn).await,
        }
    })
}

/// The format of `file`: by extension, else by the PNG signature.
fn format_of(file: &Path, bytes: &[u8]) -> LogoFormat {
    match file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("png") => LogoFormat::Png,
        Some(e) if e.eq_ignore_ascii_case("svg") => LogoFormat::Svg,
        _ if bytes.starts_with(b"\x89PNG") => LogoFormat::Png,
        _ => LogoFormat::Svg,
    }
}

async fn add(store: &dyn Store, file: &Path, msn: &str) -> anyhow::Result<String> {
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    if meta.len() > logo::MAX_BYTES as u64 {
        bail!("{}: {}", file.display(), logo::LogoError::TooLarge);
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let format = format_of(file, &bytes);
    let decoded = logo::decode(format, &bytes).with_context(|| file.display().to_string())?;
    let new = NewLogo {
        id: logo::id_of(&bytes),
        msn: msn.to_owned(),
        format,
        bytes,
        width: decoded.width,
        height: decoded.height,
        created_at_ms: SystemClock.now_ms(),
    };
    let created = match store.add_logo(&new, MAX_LOGOS_PER_MERCHANT).await {
        Ok(created) => created,
        Err(StoreError::Missing(_)) => bail!("no merchant with serial number {msn}"),
        Err(StoreError::Conflict(Conflict::LogoLimit)) => {
            bail!("merchant {msn} already stores {MAX_LOGOS_PER_MERCHANT} logos, the most allowed")
        }
        Err(e) => return Err(e).context("storing the logo"),
    };
    Ok(serde_json::to_string_pretty(&Printed {
        id: new.id,
        content_type: format.as_str(),
        width: new.width,
        height: new.height,
        bytes: new.bytes.len() as u64,
        created: Some(created),
    })?)
}

async fn list(store: &dyn Store, msn: &str) -> anyhow::Result<String> {
    let all: Vec<Printed> = store
        .merchant_logos(msn)
        .await?
        .iter()
        .map(|l| Printed {
            id: l.id.clone(),
            content_type: l.format.as_str(),
            width: l.width,
            height: l.height,
            bytes: l.len,
            created: None,
        })
        .collect();
    Ok(serde_json::to_string_pretty(&all)?)
}
