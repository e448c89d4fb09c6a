//! Throwaway PostgreSQL clusters from the installed server binaries: initdb into a temp dir, a
//! free port, trust authentication. Tests that stop or configure a server (outages, TLS) make
//! their own; the others share one per test process when nothing answers at
//! `QR_ORIGIN_TEST_DATABASE_URL` (see [`super::admin_url`]).
//!
//! initdb and postgres refuse to run as root, so as root they run as the `postgres` user that
//! Debian's package creates. A watcher process removes each cluster once the test process is
//! gone, however it ended: a shared cluster lives in a static, whose drop never runs.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What to install when no PostgreSQL is here, said once per test process.
const INSTALL_HINT: &str = "install the PostgreSQL server (Debian: apt-get install postgresql) \
     or point QR_ORIGIN_TEST_DATABASE_URL at a server where the user may CREATE DATABASE";

/// A private cluster in a temp dir, stopped and removed on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    /// Extra `-c name=value` server settings, applied at every start.
    settings: Vec<String>,
}

/// Whether this run is CI's (`CI` set, as `.ci/run` does): there a missing prerequisite fails
/// the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// One line on the terminal, past the test harness's output capture (which only takes
/// `print!` and `eprint!`), so a skip is seen without `--nocapture`.
pub(super) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Where the PostgreSQL server binaries are: Debian keeps them off PATH under
/// /usr/lib/postgresql/<version>/bin (the newest wins), elsewhere `pg_config --bindir` or PATH.
fn pg_bin_dir() -> Option<PathBuf> {
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = versions
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .collect();
        found.sort();
        if let Some(newest) = found.pop() {
            return Some(newest);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// The command line prefix that runs a server binary: as `postgres` when we are root.
fn runner() -> Vec<String> {
    if is_root() {
        ["runuser", "-u", "postgres", "--"]
            .map(str::to_owned)
            .to_vec()
    } else {
        Vec::new()
    }
}

fn server_command(bin: &Path) -> Command {
    let mut prefix = runner();
    if prefix.is_empty() {
        Command::new(bin)
    } else {
        let mut cmd = Command::new(prefix.remove(0));
        cmd.args(prefix).arg(bin);
        cmd
    }
}

fn run_server_binary(bin: &Path, args: &[&str]) {
    let out = server_command(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// As root, the cluster's files must belong to `postgres`.
fn hand_to_postgres(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown -R postgres {}", dir.display());
    }
}

impl Cluster {
    /// A fresh cluster with trust authentication, started; `None` (after one line saying what
    /// to install) where no PostgreSQL is installed, and a panic instead under CI.
    pub fn create() -> Option<Cluster> {
        Cluster::create_with(|_| Vec::new())
    }

    /// A fresh cluster, started with the extra server settings `configure` returns (`-c`
    /// options); `configure` gets the cluster's directory first (for certificates or a
    /// `pg_hba.conf` of the test's own). `None` as for [`Cluster::create`].
    pub fn create_with(configure: impl FnOnce(&Path) -> Vec<String>) -> Option<Cluster> {
        let Some(bin) = pg_bin_dir() else {
            not_installed();
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "qr-origin-test-pg-cluster-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        hand_to_postgres(&dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let data = dir.join("data");
        run_server_binary(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let settings = configure(&dir);
        hand_to_postgres(&dir);
        let cluster = Cluster {
            dir,
            bin,
            port,
            settings,
        };
        cluster.remove_after_exit();
        cluster.start();
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        let mut all = vec![
            "-D",
            data.to_str().expect("utf-8 path"),
            "-l",
            log.to_str().expect("utf-8 path"),
            "-w",
        ];
        all.extend_from_slice(args);
        run_server_binary(&self.bin.join("pg_ctl"), &all);
    }

    pub fn start(&self) {
        let mut opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        for s in &self.settings {
            opts.push_str(" -c ");
            opts.push_str(s);
        }
        self.pg_ctl(&["-o", &opts, "start"]);
    }

    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// A watcher in its own session (so a Ctrl-C to the test run does not end it first) waits
    /// for this process to exit, then stops the cluster and removes its directory.
    fn remove_after_exit(&self) {
        const WATCH: &str = r#"pid=$1 dir=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
"$@" -D "$dir/data" -m immediate stop >/dev/null 2>&1
rm -rf "$dir""#;
        let spawned = Command::new("setsid")
            .args(["sh", "-c", WATCH, "sh"])
            .arg(std::process::id().to_string())
            .arg(&self.dir)
            .args(runner())
            .arg(self.bin.join("pg_ctl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            say(&format!(
                "PostgreSQL: no watcher for {} ({e}); it is removed when the test drops it",
                self.dir.display()
            ));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = server_command(&self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// No PostgreSQL here: under CI a failure, elsewhere one line (once per process) and a skip.
fn not_installed() {
    if in_ci() {
        panic!("CI: the PostgreSQL tests need a server binary: {INSTALL_HINT}");
    }
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| say(&format!("PostgreSQL tests skipped: {INSTALL_HINT}")));
}

/// The cluster the tests of this process share when nothing answers at the configured URL,
/// started on first use; `None` where none can be made (see [`Cluster::create`]).
pub(super) fn shared() -> Option<&'static Cluster> {
    static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
    SHARED.get_or_init(Cluster::create).as_ref()
}
