//! `--database-url`: what we accept, and the TLS it asks for.
//!
//! tokio-postgres parses the URL itself but knows only `sslmode=disable|prefer|require` and
//! rejects parameters it does not know; operators write libpq URLs (`sslmode=verify-full`,
//! `sslrootcert=…`). So the TLS parameters are taken out here, the rest is handed on, and the
//! TLS set-up is decided once: what libpq would do for the same URL, with rustls.

use tokio_postgres::config::SslMode;

use crate::store::StoreError;

/// How the connection is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP (`sslmode` absent, `disable` or `prefer`: libpq's `prefer` silently falls back
    /// to plain text anyway, so it is given no false comfort here).
    Off,
    /// Encrypted, server certificate not checked (libpq's `require`).
    Require,
    /// Encrypted, the certificate chain checked against `root_cert` (a PEM file) or the
    /// Mozilla roots, and the host name checked (libpq's `verify-full`).
    VerifyFull { root_cert: Option<String> },
}

/// A parsed database URL.
#[derive(Debug, Clone)]
pub struct DatabaseUrl {
    pub config: tokio_postgres::Config,
    pub tls: TlsMode,
}

/// Whether `url` names a PostgreSQL database (as opposed to a typo or another scheme).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Parses a `postgres://` / `postgresql://` URL. Errors name the problem, never the password.
pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
    if !is_postgres_url(url) {
        return Err(StoreError::Config(
            "--database-url must start with postgres:// or postgresql://".into(),
        ));
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut sslmode = None;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => sslmode = Some(v.to_owned()),
            Some(("sslrootcert", v)) => root_cert = Some(v.to_owned()),
            _ => kept.push(pair),
        }
    }
    let tls = match sslmode.as_deref() {
        None | Some("disable") | Some("prefer") => TlsMode::Off,
        Some("require") => TlsMode::Require,
        Some("verify-full") => TlsMode::VerifyFull { root_cert },
        Some(other) => {
            return Err(StoreError::Config(format!(
                "--database-url: sslmode={other} is not supported (use disable, require or \
                 verify-full)"
            )));
        }
    };
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| {
        StoreError::Config(format!("--database-url is not a valid PostgreSQL URL: {e}"))
    })?;
    config.ssl_mode(if tls == TlsMode::Off {
        SslMode::Disable
    } else {
        SslMode::Require
    });
    if config.get_hosts().is_empty() {
        return Err(StoreError::Config("--database-url names no host".into()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(5));
    }
    if config.get_application_name().is_none() {
        config.application_name("qr-origin");
    }
    Ok(DatabaseUrl { config, tls })
}

/// `host:port/dbname` for messages: enough to see which server is meant, no credentials.
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "?".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{host}:{port}/{}",
        config
            .get_dbname()
            .unwrap_or(config.get_user().unwrap_or("?"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_tls_modes() {
        let u = parse("postgres://app@db.internal:6432/qr").expect("plain");
        assert_eq!(u.tls, TlsMode::Off);
        assert_eq!(describe(&u.config), "db.internal:6432/qr");
        let u = parse("postgresql://app:pw@db/qr?sslmode=require&connect_timeout=3").expect("req");
        assert_eq!(u.tls, TlsMode::Require);
        assert_eq!(
            u.config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
        let u = parse("postgres://db/qr?sslmode=verify-full&sslrootcert=/etc/ca.pem").expect("vf");
        assert_eq!(
            u.tls,
            TlsMode::VerifyFull {
                root_cert: Some("/etc/ca.pem".into())
            }
        );
    }

    #[test]
    fn bad_urls_are_one_clear_error_without_the_password() {
        for bad in [
            "mysql://db/qr",
            "postgres://db/qr?sslmode=verify-ca",
            "postgres://u:hunter2@db/qr?bogus=1",
        ] {
            let e = parse(bad).expect_err(bad).to_string();
            assert!(e.contains("--database-url"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
