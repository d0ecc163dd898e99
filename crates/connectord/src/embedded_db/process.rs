//! One throwaway cluster for a whole process (a test binary, the benchmark harness), started
//! when `DATABASE_URL` is unset, published as `DATABASE_URL`, stopped and removed at exit.

use std::sync::Mutex;

use super::{EmbeddedDb, EmbeddedDbError};

static CLUSTER: Mutex<Option<EmbeddedDb>> = Mutex::new(None);

/// When `DATABASE_URL` is unset: starts a cluster, sets `DATABASE_URL` to its `postgres`
/// database, and stops and removes it when the process exits (normally or through
/// `std::process::exit`, as a test binary does after a failed test). Does nothing when
/// `DATABASE_URL` is set.
///
/// Must be called before any other thread runs (it sets an environment variable): from a
/// `#[ctor::ctor]` function of a test binary, or first thing in `main`.
pub fn provide_database_url() -> Result<(), EmbeddedDbError> {
    if std::env::var_os("DATABASE_URL").is_some() {
        return Ok(());
    }
    let db = EmbeddedDb::start()?;
    // SAFETY: the caller runs this before any other thread exists, so nothing reads the
    // environment concurrently.
    unsafe { std::env::set_var("DATABASE_URL", db.url("postgres")) };
    if let Ok(mut slot) = CLUSTER.lock() {
        *slot = Some(db);
    }
    // SAFETY: `stop_at_exit` is a plain function that never unwinds.
    unsafe { libc::atexit(stop_at_exit) };
    Ok(())
}

/// [`provide_database_url`], or the reason on stderr and exit code 2: for a test binary's
/// or benchmark's constructor, which cannot return an error.
pub fn provide_database_url_or_exit() {
    if let Err(error) = provide_database_url() {
        eprintln!("connectord: {error}");
        std::process::exit(2);
    }
}

extern "C" fn stop_at_exit() {
    let cluster = CLUSTER.lock().ok().and_then(|mut slot| slot.take());
    drop(cluster);
}
