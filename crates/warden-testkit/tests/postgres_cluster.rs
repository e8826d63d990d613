//! The PostgreSQL fixture against the real server programs: skipped when they are not installed,
//! unless `WARDEN_REQUIRE_POSTGRES=1`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_testkit::Error;
use warden_testkit::postgres::{PgCluster, pg_required};

#[allow(clippy::print_stderr)] // says why the test is skipped
fn skip_without_postgres<T>(result: warden_testkit::Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e @ (Error::PostgresMissing { .. } | Error::NoServerUser)) if !pg_required() => {
            eprintln!("skipped: {e}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn pg_bin() -> PathBuf {
    std::env::var_os("WARDEN_PG_BIN")
        .map_or_else(|| PathBuf::from(warden_testkit::postgres::DEFAULT_BIN_DIR), PathBuf::from)
}

/// Runs one query through `psql` over TCP with the URL's password, returning its output.
fn psql(url: &str, sql: &str) -> String {
    let bin =
        std::env::var_os("WARDEN_PG_BIN").map_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"), PathBuf::from);
    let output = Command::new(bin.join("psql"))
        .args([url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env_remove("PGPASSWORD")
        .output()
        .expect("psql runs");
    assert!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
}

fn postmaster_pid(dir: &Path) -> u32 {
    let pid_file = std::fs::read_to_string(dir.join("data/postmaster.pid")).expect("postmaster.pid");
    pid_file.lines().next().and_then(|l| l.parse().ok()).expect("a pid on the first line")
}

/// Alive and not a zombie waiting for a parent that never reaps.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

fn wait_until_gone(pid: u32, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while (is_running(pid) || dir.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!is_running(pid), "postmaster {pid} still runs");
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn cluster_serves_its_databases_over_tcp_with_the_password_in_the_url() {
    let Some(cluster) = skip_without_postgres(PgCluster::start()) else { return };
    assert_eq!(cluster.url(), format!("postgres://warden:warden@127.0.0.1:{}/warden", cluster.port()));
    assert_eq!(psql(&cluster.url(), "select current_database()"), "warden");

    let url = cluster.new_database("alerts_reach_the_webhook").expect("create database");
    assert_eq!(psql(&url, "select current_database()"), "alerts_reach_the_webhook");
    assert_eq!(psql(&url, "show fsync"), "off");
    assert_eq!(psql(&url, "show max_connections"), "200");

    let wrong_password = url.replace("warden:warden@", "warden:nope@");
    let output = Command::new("psql").args([&wrong_password, "-X", "-c", "select 1"]).output();
    if let Ok(output) = output {
        assert!(!output.status.success(), "a wrong password must be refused over TCP");
    }
}

#[test]
fn new_database_refuses_duplicates_and_odd_names() {
    let Some(cluster) = skip_without_postgres(PgCluster::shared()) else { return };
    cluster.new_database("created_once").expect("first time");
    let again = cluster.new_database("created_once").expect_err("second time");
    assert!(again.to_string().contains("already exists"), "{again}");
    for bad in ["Robert'); DROP TABLE", "", "9lives"] {
        assert!(matches!(cluster.new_database(bad), Err(Error::InvalidDatabaseName(_))), "{bad:?}");
    }
}

#[test]
fn dropping_a_cluster_stops_the_server_and_removes_its_directory() {
    let Some(cluster) = skip_without_postgres(PgCluster::start()) else { return };
    let dir = cluster.dir().to_owned();
    let pid = postmaster_pid(&dir);
    assert!(is_running(pid));
    drop(cluster);
    wait_until_gone(pid, &dir);
}

#[test]
fn a_panicking_test_does_not_leak_its_cluster() {
    let Some(cluster) = skip_without_postgres(PgCluster::start()) else { return };
    let dir = cluster.dir().to_owned();
    let pid = postmaster_pid(&dir);
    let outcome = std::panic::catch_unwind(move || {
        let _cluster = cluster;
        panic!("the test failed");
    });
    assert!(outcome.is_err());
    wait_until_gone(pid, &dir);
}

const CHILD_ENV: &str = "WARDEN_TESTKIT_PG_CHILD";
const CHILD_MARKER: &str = "warden-testkit-child-cluster:";

/// Runs test `name` of this binary in a child process with `envs` (and `CHILD_ENV` set), for
/// tests that need a fresh process or environment variables (setting them in-process is unsafe).
fn spawn_child_test(name: &str, envs: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args(["--exact", name, "--nocapture", "--test-threads=1"]).env(CHILD_ENV, "1");
    command.envs(envs.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().expect("re-run the test binary")
}

fn in_child_process() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Not a test by itself: the body of `shared_cluster_dies_with_its_process` in a child process.
#[test]
#[allow(clippy::print_stdout)] // the parent reads the cluster's directory from stdout
fn shared_cluster_child_process() {
    if !in_child_process() {
        return;
    }
    let cluster = PgCluster::shared().expect("shared cluster");
    println!("{CHILD_MARKER}{}", cluster.dir().display());
    // No destructors, no atexit: only the kernel closing the pipe can stop the server now.
    std::process::abort();
}

#[test]
fn shared_cluster_dies_with_its_process() {
    if skip_without_postgres(PgCluster::shared()).is_none() {
        return;
    }
    let mut child = spawn_child_test("shared_cluster_child_process", &[]);
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    let dir = stdout
        .lines()
        .map_while(Result::ok)
        // libtest prints "test NAME ... " without a newline before the test runs.
        .find_map(|line| line.split_once(CHILD_MARKER).map(|(_, dir)| PathBuf::from(dir)))
        .expect("the child printed its cluster directory");
    let pid = postmaster_pid(&dir);
    let status = child.wait().expect("child exits");
    assert!(!status.success(), "the child aborts");
    wait_until_gone(pid, &dir);
}

/// Not a test by itself: run by `failures_say_what_happened` with WARDEN_PG_BIN set.
#[test]
fn start_failure_child_process() {
    if !in_child_process() {
        return;
    }
    let error = PgCluster::start().expect_err("the fake server cannot start");
    let message = error.to_string();
    match std::env::var("EXPECT").expect("EXPECT set").as_str() {
        "missing" => {
            assert!(matches!(error, Error::PostgresMissing { .. }), "{error:?}");
            assert!(message.contains("apt-get install postgresql-15"), "{message}");
        }
        "log" => {
            assert!(matches!(error, Error::PostgresStart { .. }), "{error:?}");
            assert!(message.contains("exited during start-up"), "{message}");
            assert!(message.contains("FATAL:  simulated start-up failure"), "the log tail: {message}");
        }
        other => panic!("unknown expectation {other}"),
    }
}

#[test]
fn failures_say_what_happened() {
    let bin = pg_bin();
    let check = |pg_bin: &Path, expect: &str| {
        let child = spawn_child_test(
            "start_failure_child_process",
            &[("WARDEN_PG_BIN", pg_bin.as_os_str()), ("EXPECT", expect.as_ref())],
        );
        let output = child.wait_with_output().expect("child exits");
        assert!(output.status.success(), "{expect}: {}", String::from_utf8_lossy(&output.stdout));
    };
    check(Path::new("/nonexistent/postgresql/bin"), "missing");

    if skip_without_postgres(PgCluster::shared()).is_none() {
        return;
    }
    // The real initdb, pg_isready and createdb, and a `postgres` that fails like a bad setting does.
    // World-readable: when the tests run as root the server runs as the postgres user.
    let fake = tempfile::Builder::new().prefix("warden-fake-pg-").tempdir().expect("temp dir");
    let world_readable = |path: &Path, mode| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    world_readable(fake.path(), 0o755);
    for program in ["initdb", "pg_isready", "createdb"] {
        std::os::unix::fs::symlink(bin.join(program), fake.path().join(program)).expect("symlink");
    }
    let postgres = fake.path().join("postgres");
    std::fs::write(&postgres, "#!/bin/sh\necho 'FATAL:  simulated start-up failure' >&2\nexit 1\n").expect("script");
    world_readable(&postgres, 0o755);
    check(fake.path(), "log");
}
