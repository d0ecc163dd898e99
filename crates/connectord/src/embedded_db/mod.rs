//! A throwaway PostgreSQL cluster from the machine's own PostgreSQL binaries, for `demo` and the
//! tests when no database is configured: `initdb` into a temporary folder, `postgres` on a free
//! port of 127.0.0.1 (its unix socket in that folder too, never in /var/run/postgresql), both
//! stopped and removed on drop. Started in a few hundred milliseconds: `initdb --no-sync -A
//! trust`, then `fsync=off`, `synchronous_commit=off` and `full_page_writes=off`.
//!
//! Why not a crate: `pgtemp` runs the tools through `sudo -u postgres` when it is root (no sudo
//! on a minimal Debian, nor in most containers) and panics on every failure;
//! `postgresql_embedded` runs `initdb` as the current user, which initdb refuses when that is
//! root. Here a root process runs the tools as an unprivileged account through
//! `CommandExt::uid`/`gid` (see [`user`]), with the folder owned by it.

mod binaries;
mod process;
mod stale;
mod user;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use process::{provide_database_url, provide_database_url_or_exit};
use user::Account;

/// How long `postgres` may take to accept connections (a loaded machine can be slow).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fast shutdown may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Free ports tried when another process takes the one chosen first.
const PORT_TRIES: usize = 5;
/// The prefix of the temporary folders, so that stale ones can be recognised.
const FOLDER_PREFIX: &str = "connectord-pg-";

/// Why a throwaway cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedDbError {
    #[error(
        "no database is configured and no PostgreSQL server binaries were found to start a \
         throwaway one (looked for initdb and postgres in {searched}). Either install \
         PostgreSQL (Debian or Ubuntu: `apt-get install postgresql`; Fedora or RHEL: `dnf \
         install postgresql-server`; Alpine: `apk add postgresql`; macOS: `brew install \
         postgresql`), nothing needs to be running, or point connectord at a running server \
         with DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    NoBinaries { searched: String },
    #[error(
        "PostgreSQL refuses to run as root and there is no unprivileged account ({0}) to run \
         it as: create one (`useradd --system postgres`) or set DATABASE_URL"
    )]
    NoAccount(String),
    #[error("cannot prepare the throwaway cluster's folder {}: {source}", path.display())]
    Folder { path: PathBuf, source: io::Error },
    #[error("{tool} failed: {detail}")]
    Tool { tool: String, detail: String },
}

impl EmbeddedDbError {
    /// True when the machine has no PostgreSQL binaries: a setup problem the user must fix.
    pub fn is_setup(&self) -> bool {
        matches!(self, Self::NoBinaries { .. } | Self::NoAccount(_))
    }
}

/// A running throwaway cluster, stopped and removed on drop. Superuser `postgres`, trust auth.
pub struct EmbeddedDb {
    /// `None` only during drop.
    folder: Option<tempfile::TempDir>,
    bindir: PathBuf,
    account: Option<Account>,
    port: u16,
    server: Option<Child>,
}

impl EmbeddedDb {
    /// Creates and starts a cluster; blocks until it accepts connections.
    pub fn start() -> Result<EmbeddedDb, EmbeddedDbError> {
        Self::start_with(None)
    }

    /// Like [`EmbeddedDb::start`], but connections over TCP must give `password` for
    /// `postgres` (scram-sha-256); for tests of authentication failures.
    pub fn start_with_password(password: &str) -> Result<EmbeddedDb, EmbeddedDbError> {
        Self::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> Result<EmbeddedDb, EmbeddedDbError> {
        let bindir = binaries::find().ok_or_else(|| EmbeddedDbError::NoBinaries {
            searched: binaries::searched(),
        })?;
        let account = user::runner().map_err(EmbeddedDbError::NoAccount)?;
        stale::sweep(FOLDER_PREFIX);
        let folder = tempfile::Builder::new()
            .prefix(FOLDER_PREFIX)
            .tempdir()
            .map_err(|source| folder_error(&std::env::temp_dir(), source))?;
        stale::mark_owner(folder.path()).map_err(|e| folder_error(folder.path(), e))?;
        if let Some(account) = account {
            std::os::unix::fs::chown(folder.path(), Some(account.uid), Some(account.gid))
                .map_err(|e| folder_error(folder.path(), e))?;
        }
        let mut db = EmbeddedDb {
            folder: Some(folder),
            bindir,
            account,
            port: 0,
            server: None,
        };
        db.initdb(password)?;
        db.start_server(false)?;
        Ok(db)
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder of its data, socket and log; removed on drop.
    pub fn folder(&self) -> &Path {
        self.folder.as_ref().map_or(Path::new(""), |f| f.path())
    }

    /// The folder the binaries were taken from.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// A URL for `database` as the superuser `postgres` (trust auth: no password).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server (fast shutdown) and keeps its files, for [`EmbeddedDb::restart`].
    pub fn stop(&mut self) -> Result<(), EmbeddedDbError> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        if let Ok(pid) = i32::try_from(server.id()) {
            // SAFETY: kill has no memory effects; the pid is our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let started = Instant::now();
        loop {
            match server.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if started.elapsed() < STOP_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break,
            }
        }
        let _ = server.kill();
        let _ = server.wait();
        Err(self.tool_error("postgres", "did not stop within 10s; killed"))
    }

    /// Starts the stopped server again on the same port.
    pub fn restart(&mut self) -> Result<(), EmbeddedDbError> {
        self.stop()?;
        self.start_server(true)
    }

    fn data(&self) -> PathBuf {
        self.folder().join("data")
    }

    fn log(&self) -> PathBuf {
        self.folder().join("postgres.log")
    }

    fn tool(&self, name: &str) -> Command {
        let mut command = user::command(&self.bindir.join(name), self.account);
        command
            .current_dir(self.folder())
            .env_remove("PGDATA")
            .stdin(Stdio::null());
        command
    }

    fn initdb(&self, password: Option<&str>) -> Result<(), EmbeddedDbError> {
        let mut initdb = self.tool("initdb");
        initdb
            .arg("-D")
            .arg(self.data())
            .args(["-U", "postgres", "-A", "trust", "--no-sync"])
            .args(["--no-locale", "-E", "UTF8"]);
        if let Some(password) = password {
            let file = self.folder().join("password");
            std::fs::write(&file, password).map_err(|e| folder_error(&file, e))?;
            if let Some(account) = self.account {
                std::os::unix::fs::chown(&file, Some(account.uid), Some(account.gid))
                    .map_err(|e| folder_error(&file, e))?;
            }
            initdb
                .args(["--auth-host=scram-sha-256", "--pwfile"])
                .arg(file);
        }
        let out = initdb.output().map_err(|e| self.tool_error("initdb", e))?;
        if !out.status.success() {
            let detail = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(self.tool_error("initdb", detail));
        }
        Ok(())
    }

    /// Starts `postgres` on a free port (or on the same one again) and waits until ready.
    fn start_server(&mut self, same_port: bool) -> Result<(), EmbeddedDbError> {
        for _ in 0..PORT_TRIES {
            let port = if same_port { self.port } else { free_port()? };
            let log = File::options()
                .create(true)
                .append(true)
                .open(self.log())
                .map_err(|e| folder_error(&self.log(), e))?;
            let err = log.try_clone().map_err(|e| folder_error(&self.log(), e))?;
            let mut server = self
                .tool("postgres")
                .arg("-D")
                .arg(self.data())
                .args(["-p", &port.to_string(), "-k"])
                .arg(self.folder())
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                .stdout(log)
                .stderr(err)
                .spawn()
                .map_err(|e| self.tool_error("postgres", e))?;
            match self.wait_ready(&mut server) {
                Ok(()) => {
                    self.port = port;
                    self.server = Some(server);
                    return Ok(());
                }
                Err(exited) => {
                    let _ = server.kill();
                    let _ = server.wait();
                    let log = self.log_tail();
                    if same_port || !exited || !log.contains("could not bind") {
                        return Err(self.tool_error("postgres", log));
                    }
                }
            }
        }
        Err(self.tool_error("postgres", "no free port after 5 tries"))
    }

    /// Waits until `postmaster.pid` says "ready"; `Err(true)` if the server exited first,
    /// `Err(false)` if it was not ready within [`READY_TIMEOUT`].
    fn wait_ready(&self, server: &mut Child) -> Result<(), bool> {
        let pid_file = self.data().join("postmaster.pid");
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if !matches!(server.try_wait(), Ok(None)) {
                return Err(true);
            }
            let status = std::fs::read_to_string(&pid_file).unwrap_or_default();
            let mut lines = status.lines();
            let ours = lines.next() == Some(&server.id().to_string());
            if ours && lines.nth(6).map(str::trim) == Some("ready") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(false)
    }

    /// The last lines of the server's log, for an error message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    fn tool_error(&self, tool: &str, detail: impl ToString) -> EmbeddedDbError {
        EmbeddedDbError::Tool {
            tool: self.bindir.join(tool).display().to_string(),
            detail: detail.to_string(),
        }
    }
}

impl Drop for EmbeddedDb {
    fn drop(&mut self) {
        let _ = self.stop();
        if let Some(folder) = self.folder.take() {
            let _ = folder.close();
        }
    }
}

fn folder_error(path: &Path, source: io::Error) -> EmbeddedDbError {
    EmbeddedDbError::Folder {
        path: path.to_owned(),
        source,
    }
}

fn free_port() -> Result<u16, EmbeddedDbError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .map_err(|e| EmbeddedDbError::Tool {
            tool: "a free port on 127.0.0.1".into(),
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests;
