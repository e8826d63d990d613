//! A throwaway PostgreSQL cluster: `initdb` into a temporary directory, a server on 127.0.0.1 with
//! a free port, and one database per test.
//!
//! ```no_run
//! use warden_testkit::postgres::{PgCluster, pg_required};
//!
//! /// A fresh database in the process-wide cluster, or `None` to skip the test.
//! fn database_for(test: &str) -> Option<String> {
//!     match PgCluster::shared() {
//!         Ok(cluster) => Some(cluster.new_database(test).expect("create the database")),
//!         Err(e) if !pg_required() => {
//!             eprintln!("skipped: {e}");
//!             None
//!         }
//!         Err(e) => panic!("{e}"),
//!     }
//! }
//!
//! let Some(url) = database_for("registry_survives_restart") else { return };
//! assert!(url.starts_with("postgres://warden:warden@127.0.0.1:"));
//! ```
//!
//! # No leaked servers
//! The server is not a child of the test process but of a small `sh` supervisor
//! (`postgres_supervisor.sh`) whose standard input is a pipe that only the test process writes to.
//! The pipe reaches end-of-file when the [`PgCluster`] is dropped (also while a panicking test
//! unwinds) and when the test process ends in any way, including `abort` and `SIGKILL`, so the
//! process-wide [`PgCluster::shared`] cluster, which is never dropped, is stopped too. On
//! end-of-file the supervisor sends SIGQUIT (PostgreSQL's immediate shutdown, which still removes
//! `postmaster.pid` and its shared memory), waits for the server and removes the directory.
//!
//! Running as root (as the tests here do), `initdb` and `postgres` are run as the `postgres`
//! system user through `setpriv`, and the cluster directory is given to that user.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{FileExt as _, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Where Debian's `postgresql-15` package installs the server programs.
pub const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
/// The role every cluster is created with (a superuser).
pub const USER: &str = "warden";
/// The password of [`USER`] over TCP (SCRAM-SHA-256); the unix socket trusts.
pub const PASSWORD: &str = "warden";
/// The database [`PgCluster::url`] points at.
pub const DATABASE: &str = "warden";

const SUPERVISOR: &str = include_str!("postgres_supervisor.sh");
const PROGRAMS: [&str; 4] = ["initdb", "postgres", "pg_isready", "createdb"];
/// Generous: two cores shared with compilers make a cold start slow.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 3;

/// Whether PostgreSQL tests must run: `WARDEN_REQUIRE_POSTGRES=1` turns a missing PostgreSQL from
/// a skipped test into a failure.
pub fn pg_required() -> bool {
    std::env::var("WARDEN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// A running PostgreSQL server with its own data directory, stopped and deleted on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    supervisor: Child,
    /// The supervisor's stdin; closing it stops the server.
    lifeline: Option<ChildStdin>,
    /// The server log, kept open so its tail can be read after the supervisor deleted it.
    log: File,
}

impl PgCluster {
    /// Creates and starts a new cluster with the database [`DATABASE`]. Blocks for about a
    /// second (initdb); in async tests prefer [`PgCluster::shared`], which pays it once.
    pub fn start() -> Result<Self> {
        let bin = bin_dir()?;
        let user = ServerUser::for_current_process()?;
        let mut attempt = 1;
        loop {
            match Self::start_once(&bin, user.as_ref()) {
                // Another process took the free port between our probe and the server's bind.
                Err(Error::PostgresStart { log_tail, .. })
                    if attempt < START_ATTEMPTS && log_tail.contains("could not bind") =>
                {
                    tracing::debug!("PostgreSQL lost its port, retrying: {log_tail}");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// The process-wide cluster, started by the first caller and stopped when the process exits.
    /// A failure is remembered: later callers get the same error without another attempt.
    pub fn shared() -> Result<&'static PgCluster> {
        static SHARED: OnceLock<Result<PgCluster, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| PgCluster::start().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::SharedCluster(e.clone()))
    }

    /// `postgres://warden:warden@127.0.0.1:PORT/warden`.
    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    /// The URL of database `name` in this cluster (which may not exist yet).
    pub fn url_for(&self, name: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL: one per test keeps tests sharing a cluster
    /// apart. Fails if it exists already.
    pub fn new_database(&self, name: &str) -> Result<String> {
        if !is_valid_database_name(name) {
            return Err(Error::InvalidDatabaseName(name.to_owned()));
        }
        let mut createdb = Command::new(self.bin.join("createdb"));
        createdb.arg("-h").arg(self.socket_dir()).arg("-p").arg(self.port.to_string());
        createdb.args(["-U", USER, name]);
        run(createdb, &format!("createdb {name}"))?;
        Ok(self.url_for(name))
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster directory (`data/`, `socket/`, `server.log`); removed when the cluster stops.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The end of the server log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.join("socket")
    }

    fn start_once(bin: &Path, user: Option<&ServerUser>) -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("warden-pg-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory for PostgreSQL", e))?;
        let dir = temp.path().to_owned();
        let password_file = dir.join("password");
        fs::write(&password_file, format!("{PASSWORD}\n"))
            .map_err(|e| Error::io(format!("writing {}", password_file.display()), e))?;
        fs::create_dir(dir.join("socket")).map_err(|e| Error::io(format!("creating {}/socket", dir.display()), e))?;
        if let Some(user) = user {
            for path in [&dir, &password_file, &dir.join("socket")] {
                chown(path, Some(user.uid), Some(user.gid))
                    .map_err(|e| Error::io(format!("giving {} to the postgres user", path.display()), e))?;
            }
        }

        let mut initdb = command(user, &bin.join("initdb"));
        initdb.current_dir(&dir).arg("-D").arg(dir.join("data"));
        initdb.args(["-U", USER, "--auth-local=trust", "--auth-host=scram-sha-256"]);
        initdb.arg(format!("--pwfile={}", password_file.display()));
        initdb.args(["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
        run(initdb, "initdb")?;

        let port = free_port()?;
        let log_path = dir.join("server.log");
        let log = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("creating {}", log_path.display()), e))?;
        let clone_log = || log.try_clone().map_err(|e| Error::io("duplicating the log file handle", e));

        let mut server = argv(user, &bin.join("postgres"));
        server.extend(["-D".into(), dir.join("data").into(), "-p".into(), port.to_string().into()]);
        server.extend(["-k".into(), dir.join("socket").into()]);
        for setting in [
            "listen_addresses=127.0.0.1",
            "max_connections=200",
            // Durability is pointless for a throwaway cluster and costs most of a test's time.
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ] {
            server.extend(["-c".into(), setting.into()]);
        }
        let mut supervisor = Command::new("sh");
        supervisor.arg("-c").arg(SUPERVISOR).arg("warden-pg-supervisor").arg(&dir).args(&server);
        supervisor.current_dir(&dir).stdin(Stdio::piped()).stdout(clone_log()?).stderr(clone_log()?);
        let mut supervisor = supervisor.spawn().map_err(|source| Error::Spawn { program: "sh".into(), source })?;
        // From here on the supervisor removes the directory.
        let _ = temp.keep();
        let lifeline = supervisor.stdin.take();
        let mut cluster = Self { dir, bin: bin.to_owned(), port, supervisor, lifeline, log };
        cluster.wait_until_ready()?;
        cluster.new_database(DATABASE)?;
        Ok(cluster)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                let reason = format!("the server exited during start-up ({status})");
                return Err(Error::PostgresStart { reason, log_tail: self.log_tail() });
            }
            let mut probe = Command::new(self.bin.join("pg_isready"));
            probe.args(["-q", "-h", "127.0.0.1", "-U", USER, "-d", "postgres", "-t", "2", "-p"]);
            probe.arg(self.port.to_string()).stdout(Stdio::null()).stderr(Stdio::null());
            let status = probe.status().map_err(|source| Error::Spawn { program: "pg_isready".into(), source })?;
            if status.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let reason = format!("not accepting connections on port {} after {START_TIMEOUT:?}", self.port);
                return Err(Error::PostgresStart { reason, log_tail: self.log_tail() });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // End-of-file on the supervisor's stdin: it stops the server and removes the directory.
        drop(self.lifeline.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.supervisor.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                _ => {
                    tracing::warn!("PostgreSQL in {} did not stop within {STOP_TIMEOUT:?}", self.dir.display());
                    let _ = self.supervisor.kill();
                    let _ = self.supervisor.wait();
                    break;
                }
            }
        }
        if self.dir.exists() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The unprivileged account the server runs as when the tests run as root.
#[derive(Debug, Clone, Copy)]
struct ServerUser {
    uid: u32,
    gid: u32,
}

impl ServerUser {
    /// `None` when not root: then the server runs as the current user.
    fn for_current_process() -> Result<Option<Self>> {
        let status = fs::read_to_string("/proc/self/status")
            .map_err(|e| Error::io("reading /proc/self/status for the effective uid", e))?;
        // "Uid:\treal\teffective\tsaved\tfilesystem"
        let euid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|id| id.parse::<u32>().ok());
        if euid != Some(0) {
            return Ok(None);
        }
        let passwd = fs::read_to_string("/etc/passwd").map_err(|e| Error::io("reading /etc/passwd", e))?;
        passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.len() >= 4 && fields[0] == "postgres")
            .and_then(|fields| Some(Self { uid: fields[2].parse().ok()?, gid: fields[3].parse().ok()? }))
            .map(Some)
            .ok_or(Error::NoServerUser)
    }
}

/// The command line running `program` as the server user (through `setpriv`) or directly.
fn argv(user: Option<&ServerUser>, program: &Path) -> Vec<OsString> {
    let mut argv = Vec::new();
    if let Some(user) = user {
        argv.push("setpriv".into());
        argv.push(format!("--reuid={}", user.uid).into());
        argv.push(format!("--regid={}", user.gid).into());
        argv.extend(["--init-groups".into(), "--".into()]);
    }
    argv.push(program.into());
    argv
}

fn command(user: Option<&ServerUser>, program: &Path) -> Command {
    let argv = argv(user, program);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// Runs a helper to completion; a failure carries its output.
fn run(mut command: Command, action: &str) -> Result<()> {
    let program = PathBuf::from(command.get_program());
    let output = command.output().map_err(|source| Error::Spawn { program, source })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(Error::CommandFailed { action: action.to_owned(), status: output.status.to_string(), output: text })
}

fn bin_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("WARDEN_PG_BIN").map_or_else(|| PathBuf::from(DEFAULT_BIN_DIR), PathBuf::from);
    match PROGRAMS.iter().find(|program| !dir.join(program).is_file()) {
        Some(missing) => Err(Error::PostgresMissing { dir, missing: (*missing).to_owned() }),
        None => Ok(dir),
    }
}

/// A port that was free a moment ago (the server's bind can still lose a race: see `start`).
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| Error::io("finding a free port on 127.0.0.1", e))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| Error::io("reading a free port", e))
}

/// The last lines of a log, read through an open handle (the file may be deleted already).
fn tail(log: &File) -> String {
    const MAX_BYTES: u64 = 8 * 1024;
    const MAX_LINES: usize = 40;
    let len = log.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(MAX_BYTES);
    let mut bytes = vec![0; usize::try_from(len - start).unwrap_or(0)];
    if log.read_exact_at(&mut bytes, start).is_err() {
        return "(the server log could not be read)".to_owned();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(MAX_LINES)..].join("\n");
    if tail.is_empty() { "(the server log is empty)".to_owned() } else { tail }
}

fn is_valid_database_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn database_names_are_restricted_to_plain_identifiers() {
        assert!(is_valid_database_name("registry_survives_restart"));
        assert!(is_valid_database_name("_t1"));
        for bad in ["", "1abc", "Upper", "semi;colon", "-h", "with space", &"a".repeat(64)] {
            assert!(!is_valid_database_name(bad), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let mut file = tempfile::tempfile().expect("temp file");
        for i in 0..100 {
            writeln!(file, "line {i}").expect("write");
        }
        let tail = tail(&file);
        assert!(tail.starts_with("line 60\n"), "{tail}");
        assert!(tail.ends_with("line 99"), "{tail}");
    }

    #[test]
    fn supervisor_script_is_valid_sh() {
        let status = Command::new("sh").args(["-n", "-c", SUPERVISOR]).status().expect("sh runs");
        assert!(status.success());
    }
}
