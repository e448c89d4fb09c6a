//! Test support behind the `testing` feature: the store conformance suite and its fixtures,
//! and throwaway PostgreSQL databases and clusters. Never part of a release build.

pub mod cluster;
pub mod conformance;

use std::sync::{Arc, OnceLock};

use super::StoreError;
use super::postgres::PostgresStore;

/// Where tests find a PostgreSQL server they may create databases on.
pub const TEST_DATABASE_URL_VAR: &str = "QR_ORIGIN_TEST_DATABASE_URL";
/// The CI machine's server (trust auth on loopback).
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL tests create their databases on: `QR_ORIGIN_TEST_DATABASE_URL` (or the
/// default) when a server answers there, else a private cluster this process starts from the
/// installed server binaries (shared by its tests, removed after it exits). `None` where
/// neither is possible: the caller skips, after one line saying what to install (under CI
/// this panics instead). Decided once per process.
pub fn admin_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let configured = std::env::var(TEST_DATABASE_URL_VAR)
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        match answers(&configured) {
            Ok(()) => Some(configured),
            Err(e) => {
                let cluster = cluster::shared()?;
                cluster::say(&format!(
                    "PostgreSQL: nothing answers at {configured} ({e}); the tests use a private \
                     cluster at {}",
                    cluster.url()
                ));
                Some(cluster.url())
            }
        }
    })
    .clone()
}

/// Whether a server accepts a connection at `url`. On a thread with its own runtime: the
/// answer is kept for the whole process, whichever test's runtime asked first.
fn answers(url: &str) -> Result<(), String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime for probing the test database server");
        rt.block_on(async move {
            let connect = tokio_postgres::connect(&url, tokio_postgres::NoTls);
            match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer in 5 s".to_owned()),
            }
        })
    })
    .join()
    .expect("the probe thread does not panic")
}

/// A database created for one test and dropped (with its connections) when this is dropped,
/// so parallel test binaries never see each other's rows.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// URL of the fresh database.
    pub url: String,
}

impl TestDatabase {
    /// Creates an empty database on the server [`admin_url`] finds; `None` when it finds none
    /// (the test returns early: skipped, with the line that says what to install).
    pub async fn create() -> Option<TestDatabase> {
        Some(TestDatabase::create_on(&admin_url()?).await)
    }

    /// Like [`TestDatabase::create`] on the server of `admin_url`.
    pub async fn create_on(admin_url: &str) -> TestDatabase {
        let name = format!("qr_test_{}", uuid::Uuid::new_v4().simple());
        let client = admin(admin_url).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        TestDatabase {
            admin_url: admin_url.to_owned(),
            url: with_dbname(admin_url, &name),
            name,
        }
    }

    /// A store on this database (migrated).
    pub async fn store(&self) -> Arc<PostgresStore> {
        Arc::new(self.open().await.expect("open the test database"))
    }

    /// Opens a store on this database, errors included.
    pub async fn open(&self) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(&self.url, 4).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime; a thread with its own keeps it independent of that.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for dropping a test database");
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = done.join();
    }
}

/// A connection to the admin database; a panic naming the server when it refuses.
async fn admin(admin_url: &str) -> tokio_postgres::Client {
    match tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client
        }
        Err(e) => panic!("PostgreSQL at {admin_url}: {e}"),
    }
}

/// `url` with its database name replaced by `name` (query parameters kept).
pub fn with_dbname(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_keeping_parameters() {
        assert_eq!(
            with_dbname("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_dbname("postgresql://u@h/db?sslmode=require", "t2"),
            "postgresql://u@h/t2?sslmode=require"
        );
        assert_eq!(with_dbname("postgres://h", "t3"), "postgres://h/t3");
    }
}
