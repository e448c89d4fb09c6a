//! A throwaway PostgreSQL cluster of a test's own (initdb on a free port, owned by the
//! `postgres` user, which initdb requires), for tests that stop the server or configure it
//! (TLS) — the shared server other tests use is never touched.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::temp_dir;

/// A private cluster in a temp dir, stopped and removed on drop.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    /// Extra `-c name=value` server settings, applied at every start.
    settings: Vec<String>,
}

/// Where the PostgreSQL server binaries are (Debian keeps them off PATH).
fn pg_bin_dir() -> PathBuf {
    let debian = Path::new("/usr/lib/postgresql");
    if let Ok(versions) = std::fs::read_dir(debian) {
        let mut found: Vec<PathBuf> = versions
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .collect();
        found.sort();
        if let Some(newest) = found.pop() {
            return newest;
        }
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("initdb not found: install PostgreSQL (apt-get install postgresql)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs a server binary as the `postgres` user (it refuses to run as root).
fn as_postgres(bin: &Path, args: &[&str]) {
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin)
        .args(args)
        .status()
        .expect("runuser runs");
    assert!(status.success(), "{} {args:?} failed", bin.display());
}

impl Cluster {
    /// A fresh cluster with trust authentication, started.
    pub fn create() -> Cluster {
        Cluster::create_with(|_| Vec::new())
    }

    /// A fresh cluster, started with the extra server settings `configure` returns (`-c`
    /// options); `configure` gets the cluster's directory first (owned by `postgres`, for
    /// certificates or a `pg_hba.conf` of the test's own).
    pub fn create_with(configure: impl FnOnce(&Path) -> Vec<String>) -> Cluster {
        let dir = temp_dir("pg-cluster");
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown runs");
        assert!(chown.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let bin = pg_bin_dir();
        let data = dir.join("data");
        as_postgres(
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
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown runs");
        assert!(chown.success());
        let cluster = Cluster {
            dir,
            bin,
            port,
            settings,
        };
        cluster.start();
        cluster
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
        as_postgres(&self.bin.join("pg_ctl"), &all);
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
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
