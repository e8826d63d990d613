//! The database: one sqlx code path for SQLite (embedded, the default) and PostgreSQL (shared by
//! several server instances).
//!
//! Queries go through sqlx's `Any` driver, so every module writes its SQL once. The schema keeps to
//! what both databases read the same way: `TEXT` and `BIGINT` columns only (flags 0/1, times in
//! unix milliseconds, digests in hex) and `$1, $2, ...` placeholders, which sqlx maps to
//! positional arguments on SQLite as well. The one place the dialects differ, serialising audit
//! appends across instances, is [`Store::serialize_audit`].

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Transaction};

/// The migrations, applied in order on every start. Both databases run the same text.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (4, "registry", include_str!("../../migrations/0004_registry.sql")),
    (5, "api_key_mfa", include_str!("../../migrations/0005_api_key_mfa.sql")),
    (6, "incidents", include_str!("../../migrations/0006_incidents.sql")),
    (7, "playbooks", include_str!("../../migrations/0007_playbooks.sql")),
    (8, "gateway", include_str!("../../migrations/0008_gateway.sql")),
    (9, "findings_intake", include_str!("../../migrations/0009_findings_intake.sql")),
    (10, "webhook_format", include_str!("../../migrations/0010_webhook_format.sql")),
];

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: one writer connection, many readers (WAL).
    Sqlite,
    /// PostgreSQL: a shared pool; cross-instance ordering through advisory locks.
    Postgres,
}

/// Errors opening or migrating the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no database warden supports.
    #[error("unsupported database URL `{0}` (expected sqlite://PATH or postgres://...)")]
    UnsupportedUrl(String),
    /// Connecting failed.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A handle on the database: a read pool and a write pool (the same pool on PostgreSQL).
#[derive(Debug, Clone)]
pub struct Store {
    /// Pool for reads; on SQLite these never block the writer.
    pub read: AnyPool,
    write: AnyPool,
    /// Which database this is.
    pub dialect: Dialect,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` creates the file; `postgres://...`) and applies the
    /// migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = if path.contains("mode=") { url.to_owned() } else { format!("{url}{sep}mode=rwc") };
            (Dialect::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyConnectOptions::from_str(&url).map_err(StoreError::Connect)?;
        let store = match dialect {
            Dialect::Sqlite => {
                // One writer: SQLite serialises writes anyway, and a single connection means a write
                // transaction never meets SQLITE_BUSY from another writer of ours.
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(sqlite_pragmas)
                    .connect_with(options.clone())
                    .await
                    .map_err(StoreError::Connect)?;
                let read = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(sqlite_pragmas)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Connect)?;
                Store { read, write, dialect }
            }
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(32)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Connect)?;
                Store { read: pool.clone(), write: pool, dialect }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = Migrator::DEFAULT;
        migrator.migrations = Cow::Owned(
            MIGRATIONS
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(*version, Cow::Borrowed(*name), MigrationType::Simple, Cow::Borrowed(*sql), false)
                })
                .collect(),
        );
        migrator.run(&self.write).await.map_err(StoreError::Migrate)
    }

    /// The pool that carries writes (use it for single-statement writes outside a transaction).
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads first fails with `SQLITE_BUSY` instead of waiting when
    /// another process (a second instance on the same file) committed meanwhile.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.write.begin().await,
        }
    }

    /// Takes the cross-instance audit lock inside `tx`, held until it commits, so audit appends
    /// from every server instance get consecutive sequence numbers. SQLite needs nothing: its one
    /// writer connection already serialises them.
    pub async fn serialize_audit(&self, tx: &mut Transaction<'static, Any>) -> Result<(), sqlx::Error> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7261636865)").execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Checks the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.read).await.map(|_| ())
    }

    /// Reads a value from the `settings` table.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.read).await
    }
}

/// Per-connection SQLite settings: WAL is sqlx's default; `NORMAL` sync is durable in WAL mode
/// across application crashes (an OS crash may lose the last transactions), and waits for locks.
fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'c, Result<(), sqlx::Error>> {
    Box::pin(async move {
        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
        Ok(())
    })
}

/// Milliseconds since the Unix epoch, the time format of every column.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// A new time-ordered identifier (UUIDv7), the primary key of every table that has one.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `url` with any password replaced, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// True when `err` is a unique-constraint violation (same code on SQLite and PostgreSQL paths).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_passwords_only() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[tokio::test]
    async fn sqlite_store_migrates_and_answers() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::open(&url).await.unwrap();
        store.ping().await.unwrap();
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind("k")
            .bind("v")
            .execute(store.writer())
            .await
            .unwrap();
        assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v"));
        // A second open applies no migration twice.
        drop(store);
        let again = Store::open(&url).await.unwrap();
        assert_eq!(again.setting("k").await.unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn unsupported_urls_are_refused() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let err = rt.block_on(Store::open("mysql://u:pw@h/db")).unwrap_err();
        assert!(err.to_string().contains("mysql://u:***@h/db"), "{err}");
    }
}
