//! The one ordered set of schema migrations both stores apply.
//!
//! Each file under `migrations/` is portable SQL (types and constructs SQLite and PostgreSQL
//! both accept). A store records what it applied in `schema_migrations`; [`pending`] says what
//! is left and refuses a database written by a newer binary, so an old instance started by
//! mistake during a rolling deploy stops with a clear message instead of writing rows the new
//! schema does not expect. Each store applies the pending ones in its own exclusive section
//! (SQLite: one `IMMEDIATE` transaction; PostgreSQL: a transaction under an advisory lock), so
//! instances starting at the same moment never apply a version twice.

use super::StoreError;

/// One schema migration. Versions are applied in order, each once.
#[derive(Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. Append only; never edit one that has shipped.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "callbacks_webhooks_outbox",
        sql: include_str!("migrations/0002_callbacks_webhooks_outbox.sql"),
    },
    Migration {
        version: 3,
        name: "logos_styles",
        sql: include_str!("migrations/0003_logos_styles.sql"),
    },
    Migration {
        version: 4,
        name: "webhook_lanes",
        sql: include_str!("migrations/0004_webhook_lanes.sql"),
    },
    Migration {
        version: 5,
        name: "qr_styles",
        sql: include_str!("migrations/0005_qr_styles.sql"),
    },
    Migration {
        version: 6,
        name: "scan_counts",
        sql: include_str!("migrations/0006_scan_counts.sql"),
    },
];

/// The table recording applied versions; the same statement works on both stores.
pub const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
     version    BIGINT PRIMARY KEY,
     name       TEXT NOT NULL,
     applied_at BIGINT NOT NULL
 )";

/// A migration's SQL as PostgreSQL takes it. The files are portable but for one word: a
/// byte-string column is `BLOB` in SQLite and `BYTEA` in PostgreSQL, so the column type `BLOB`
/// (upper case, a whole word, as the files write it) is translated here.
pub fn postgres_sql(m: &Migration) -> std::borrow::Cow<'static, str> {
    if m.sql.contains(" BLOB ") {
        std::borrow::Cow::Owned(m.sql.replace(" BLOB ", " BYTEA "))
    } else {
        std::borrow::Cow::Borrowed(m.sql)
    }
}

/// The newest version this binary knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The migrations still to apply to a database at version `current`, or
/// [`StoreError::SchemaTooNew`] when it is past anything this binary knows.
pub fn pending(current: i64) -> Result<&'static [Migration], StoreError> {
    let known = latest();
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    let first = MIGRATIONS.partition_point(|m| m.version <= current);
    Ok(&MIGRATIONS[first..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
    }

    #[test]
    fn postgres_gets_bytea_for_blob() {
        let logos = &MIGRATIONS[2];
        assert!(logos.sql.contains(" BLOB "));
        let pg = postgres_sql(logos);
        assert!(pg.contains(" BYTEA ") && !pg.contains(" BLOB "));
        assert!(matches!(
            postgres_sql(&MIGRATIONS[0]),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn pending_is_the_tail_and_refuses_the_future() {
        assert_eq!(pending(0).expect("fresh").len(), MIGRATIONS.len());
        assert_eq!(pending(1).expect("v1")[0].version, 2);
        assert!(pending(latest()).expect("current").is_empty());
        assert!(matches!(
            pending(latest() + 1),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
