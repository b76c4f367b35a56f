//! `both_databases!`: one test body, run on SQLite and on PostgreSQL.

/// Declares one async test body run against both databases, as `name::sqlite` and
/// `name::postgres`. The body is an `async fn(Backend)`.
#[macro_export]
macro_rules! both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::DbBackend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::pg_skipped() {
                    eprintln!("PAYGATE_TEST_SKIP_PG=1: skipping the PostgreSQL run");
                    return;
                }
                super::$name($crate::DbBackend::Postgres).await;
            }
        }
    };
}
