//! `qr-origin merchant add|list`: create and list merchants' API credentials.
//!
//! Works on the same store as `serve` (`--data-dir`, or `--database-url` for PostgreSQL), also
//! while the server runs: the embedded store is SQLite in WAL mode, and writers wait out each
//! other's locks (`busy_timeout`).

use anyhow::{Context, bail};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::secret;
use crate::store::{Conflict, NewMerchant, Store, StoreError};

/// Longest merchant name accepted.
const MAX_NAME_CHARS: usize = 100;
/// Longest merchant serial number accepted (published ones have 5–7 digits).
const MAX_MSN_DIGITS: usize = 16;

/// Arguments of `qr-origin merchant`.
#[derive(Debug, clap::Args)]
pub struct MerchantArgs {
    #[command(flatten)]
    pub store: crate::config::StoreArgs,

    #[command(subcommand)]
    pub action: MerchantAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum MerchantAction {
    /// Register a merchant and print its new API credentials as JSON (shown once; only
    /// hashes are stored).
    Add {
        /// Merchant serial number (digits).
        #[arg(long)]
        msn: String,
        /// Display name, e.g. "Acme AS".
        #[arg(long)]
        name: String,
    },
    /// Print every merchant as JSON (serial number, name, client ids; never secrets).
    List,
}

/// What `merchant add` prints: everything a merchant needs to call the API.
#[derive(Debug, Serialize)]
struct Issued {
    client_id: String,
    client_secret: String,
    subscription_key: String,
    msn: String,
}

#[derive(Debug, Serialize)]
struct Listed {
    msn: String,
    name: String,
    client_ids: Vec<String>,
    created_at: String,
}

/// Runs the subcommand, printing JSON to stdout.
pub fn run(args: MerchantArgs) -> anyhow::Result<()> {
    super::print_from_store(&args.store, |store| async move {
        match args.action {
            MerchantAction::Add { msn, name } => add(&*store, &msn, &name).await,
            MerchantAction::List => list(&*store).await,
        }
    })
}

async fn add(store: &dyn Store, msn: &str, name: &str) -> anyhow::Result<String> {
    if msn.is_empty() || msn.len() > MAX_MSN_DIGITS || !msn.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--msn must be 1 to {MAX_MSN_DIGITS} digits, got {msn:?}");
    }
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        bail!("--name must be 1 to {MAX_NAME_CHARS} printable characters");
    }
    let issued = Issued {
        client_id: uuid::Uuid::new_v4().to_string(),
        client_secret: secret::random_token()?,
        subscription_key: secret::random_hex_key()?,
        msn: msn.to_owned(),
    };
    let merchant = NewMerchant {
        msn: msn.to_owned(),
        name: name.to_owned(),
        client_id: issued.client_id.clone(),
        client_secret_sha256: secret::sha256_hex(&issued.client_secret),
        subscription_key_sha256: secret::sha256_hex(&issued.subscription_key),
        created_at_ms: SystemClock.now_ms(),
    };
    match store.add_merchant(&merchant).await {
        Ok(()) => Ok(serde_json::to_string_pretty(&issued)?),
        Err(StoreError::Conflict(Conflict::MerchantMsn)) => {
            bail!("a merchant with serial number {msn} already exists")
        }
        Err(e) => Err(e).context("storing the merchant"),
    }
}

async fn list(store: &dyn Store) -> anyhow::Result<String> {
    let merchants: Vec<Listed> = store
        .list_merchants()
        .await?
        .into_iter()
        .map(|m| Listed {
            msn: m.msn,
            name: m.name,
            client_ids: m.client_ids,
            created_at: httpdate::fmt_http_date(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(u64::try_from(m.created_at_ms).unwrap_or(0)),
            ),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&merchants)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[tokio::test]
    async fn add_issues_credentials_that_are_stored_only_hashed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_in_dir(dir.path()).expect("open");
        let out = add(&store, "123456", "Acme AS").await.expect("add");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let client_id = v["client_id"].as_str().expect("client_id");
        assert_eq!(
            uuid::Uuid::parse_str(client_id)
                .expect("uuid")
                .get_version_num(),
            4
        );
        assert_eq!(v["msn"], "123456");
        let secret = v["client_secret"].as_str().expect("secret");
        let key = v["subscription_key"].as_str().expect("key");
        let stored = store
            .credential(client_id)
            .await
            .expect("read")
            .expect("stored");
        assert!(secret::matches(secret, &stored.client_secret_sha256));
        assert!(secret::matches(key, &stored.subscription_key_sha256));
        assert_ne!(
            stored.client_secret_sha256, secret,
            "never stored in the clear"
        );

        let listed = list(&store).await.expect("list");
        assert!(listed.contains("Acme AS") && listed.contains(client_id));
        assert!(!listed.contains(secret) && !listed.contains(key));
    }

    #[tokio::test]
    async fn add_rejects_bad_input_and_duplicates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_in_dir(dir.path()).expect("open");
        for (msn, name) in [("", "A"), ("12a", "A"), ("123", ""), ("123", "a\nb")] {
            assert!(add(&store, msn, name).await.is_err(), "{msn:?} {name:?}");
        }
        add(&store, "123", "First").await.expect("first");
        let err = add(&store, "123", "Second").await.expect_err("duplicate");
        assert!(err.to_string().contains("already exists"), "{err}");
    }
}
