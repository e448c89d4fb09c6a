//! Where the signing keys come from: the configured `KID=SECRET` pairs, or, when none are given,
//! a development key generated once and kept in the data directory.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::token::{Keyring, SigningKey, VerifyLimits};

/// The file holding the generated development key, as `KID=SECRET`.
pub const DEV_KEY_FILE: &str = "signing-key";

/// Builds the key ring. With no configured keys, loads (or creates) the data dir's dev key and
/// says loudly that it is doing so.
pub fn load_keyring(
    data_dir: &Path,
    configured: &[(String, String)],
    limits: VerifyLimits,
) -> anyhow::Result<Keyring> {
    let keys = if configured.is_empty() {
        vec![dev_key(data_dir)?]
    } else {
        configured
            .iter()
            .map(|(kid, secret)| {
                SigningKey::new(kid.as_str(), secret.as_bytes())
                    .with_context(|| format!("--signing-key {kid}=…"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    Ok(Keyring::new(keys)?.with_limits(limits))
}

fn dev_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DEV_KEY_FILE)
}

/// Reads the dev key from the data dir, generating and saving it on first use.
fn dev_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = dev_key_path(data_dir);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let line = text.trim();
            let Some((kid, secret)) = line.split_once('=') else {
                bail!("{}: expected KID=SECRET", path.display());
            };
            let key = SigningKey::new(kid, secret.as_bytes())
                .with_context(|| format!("{}", path.display()))?;
            warn_dev_key(&path, false);
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(data_dir)
                .with_context(|| format!("creating data dir {}", data_dir.display()))?;
            let key = SigningKey::generate("dev");
            write_secret_file(&path, &format!("{}={}\n", key.kid, key.secret_str()))?;
            warn_dev_key(&path, true);
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn warn_dev_key(path: &Path, created: bool) {
    let what = if created { "GENERATED" } else { "USING" };
    tracing::warn!(
        path = %path.display(),
        "!!! {what} A DEVELOPMENT SIGNING KEY kept in the data dir: no --signing-key / \
         QR_ORIGIN_SIGNING_KEY given. Fine on a laptop; in production pass your own keys so \
         every replica verifies the same tokens !!!"
    );
}

/// Creates `path` readable by the owner only, failing if it appeared meanwhile.
fn write_secret_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // SECURITY: the secret is readable by its owner only.
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Format;
    use crate::token::ImageClaims;

    fn temp_dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("qr-origin-keys-{name}-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn dev_key_is_generated_once_and_reused() {
        let dir = temp_dir("dev");
        let a = load_keyring(&dir, &[], VerifyLimits::default()).unwrap();
        let b = load_keyring(&dir, &[], VerifyLimits::default()).unwrap();
        let token = a.sign(&ImageClaims::new("https://x/y", Format::Png, 400));
        assert!(
            b.verify(&token, 0).is_ok(),
            "a restart must keep verifying old tokens"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join(DEV_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn configured_keys_win_and_the_first_signs() {
        let dir = temp_dir("cfg");
        let keys = vec![
            ("new".to_owned(), "n".repeat(32)),
            ("old".to_owned(), "o".repeat(32)),
        ];
        let ring = load_keyring(&dir, &keys, VerifyLimits::default()).unwrap();
        assert_eq!(ring.signer_kid(), "new");
        assert!(!dir.join(DEV_KEY_FILE).exists());
        let short = vec![("k".to_owned(), "short".to_owned())];
        assert!(load_keyring(&dir, &short, VerifyLimits::default()).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
