//! The real binary as separate processes: two replicas agree on ETags and bytes, `qr-origin
//! token` mints URLs they serve, a bare invocation serves, and SIGTERM walks the shutdown phases.

use crate::common;

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_qr-origin");

/// A child `qr-origin` process, killed on drop.
struct Proc {
    child: Child,
    addr: SocketAddr,
    data_dir: std::path::PathBuf,
}

impl Proc {
    /// Starts the binary with `args` (plus a temp data dir) and waits for its "listening" line.
    fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_with_env(args, &[])
    }

    /// [`Proc::spawn`] with `QR_ORIGIN_*` (or other) environment variables set.
    fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let data_dir = temp_dir("proc");
        let (child, addr) = spawn_binary_with_env(args, env, &data_dir);
        Proc {
            child,
            addr,
            data_dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok);
    }

    /// Waits (bounded) for the process to exit; returns whether it exited successfully.
    async fn wait_exit(&mut self) -> bool {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the process did not exit");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn key_arg() -> String {
    format!("{KID}={SECRET}")
}

/// Runs a prepared `qr-origin token …` command; asserts it succeeded and returns what it
/// printed (one URL or token), trimmed.
fn mint(cmd: &mut Command) -> String {
    let out = cmd.output().expect("token command runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_agree_on_etag_and_bytes_for_a_token_minted_by_the_cli() {
    let key = key_arg();
    let a = Proc::spawn(&["serve", "--listen", "127.0.0.1:0", "--signing-key", &key]);
    // A bare invocation (no subcommand) serves too.
    let b = Proc::spawn(&["--listen", "127.0.0.1:0", "--signing-key", &key]);

    let content = "https://qr.example.com/r/from-the-cli";
    let url = mint(
        Command::new(BIN)
            .args([
                "token", "--url", content, "--format", "svg", "--size", "300",
            ])
            .args([
                "--ttl",
                "10m",
                "--signing-key",
                &key,
                "--public-url",
                &a.url(""),
            ]),
    );
    assert!(url.starts_with(&a.url("/qr-generator/v1?token=")), "{url}");

    let ra = get(&url).await;
    assert_eq!(ra.status, 200, "{}", String::from_utf8_lossy(&ra.body));
    assert_eq!(decode_svg(&ra.body), content);
    let cc = ra.header("cache-control");
    let max_age: i64 = cc
        .strip_prefix("public, max-age=")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0..=600).contains(&max_age), "{cc}");

    let path = &url[url.find("/qr-generator").unwrap()..];
    let rb = get(&b.url(path)).await;
    assert_eq!(rb.status, 200);
    assert_eq!(
        ra.header("etag"),
        rb.header("etag"),
        "ETags agree across processes"
    );
    assert_eq!(ra.body, rb.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_a_dev_key_is_generated_kept_and_used_by_the_token_command() {
    let mut p = Proc::spawn(&["serve", "--listen", "127.0.0.1:0"]);
    let key_file = p.data_dir.join(qr_origin::config::keys::DEV_KEY_FILE);
    assert!(
        key_file.exists(),
        "the generated key is kept in the data dir"
    );
    let url = mint(
        Command::new(BIN)
            .args([
                "token",
                "--url",
                "https://qr.example.com/r/dev",
                "--data-dir",
            ])
            .arg(&p.data_dir)
            .args(["--public-url", &p.url("")]),
    );
    let r = get(&url).await;
    assert_eq!(r.status, 200);
    assert_eq!(decode_png(&r.body), "https://qr.example.com/r/dev");
    p.signal("-INT");
    assert!(p.wait_exit().await, "Ctrl-C exits cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readyz_503_keeps_serving_then_a_second_signal_stops() {
    let key = key_arg();
    let mut p = Proc::spawn(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--signing-key",
        &key,
        "--shutdown-delay",
        "10m",
    ]);
    assert_eq!(get(&p.url("/readyz")).await.status, 200);
    p.signal("-TERM");
    let mut status = 200;
    for _ in 0..600 {
        status = get(&p.url("/readyz")).await.status.as_u16();
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 503, "/readyz turns 503 after SIGTERM");
    assert_eq!(get(&p.url("/healthz")).await.status, 200, "still serving");
    p.signal("-TERM");
    assert!(p.wait_exit().await, "drains and exits 0");
}

/// Every flag has a `QR_ORIGIN_*` twin: a server and the token command configured by the
/// environment alone agree on keys and URLs, and a bad value stops start-up naming the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_configures_serve_and_token_alike() {
    const OLD_SECRET: &str = "an-older-rotated-out-secret-0123456789";
    let keys = format!("{KID}={SECRET},old={OLD_SECRET}");
    let p = Proc::spawn_with_env(
        &[],
        &[
            ("QR_ORIGIN_LISTEN", "127.0.0.1:0"),
            ("QR_ORIGIN_SIGNING_KEY", &keys),
            ("QR_ORIGIN_PUBLIC_URL", "https://cdn.example.com"),
            ("QR_ORIGIN_MAX_TOKEN_BYTES", "1000"),
        ],
    );

    // The token command reads the same variables: the first key signs, URLs use the public URL.
    let content = "https://qr.example.com/r/from-env";
    let url = mint(
        Command::new(BIN)
            .args(["token", "--url", content])
            .env("QR_ORIGIN_SIGNING_KEY", &keys)
            .env("QR_ORIGIN_PUBLIC_URL", "https://cdn.example.com"),
    );
    let path = url
        .strip_prefix("https://cdn.example.com")
        .expect("the public URL from the environment");
    let r = get(&p.url(path)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(decode_png(&r.body), content);

    // The second key from the list verifies; the token cap from the environment applies.
    let claims = serde_json::json!({"url": content, "format": "image/svg+xml"});
    let old = jwt(&claims, Some("old"), OLD_SECRET);
    assert_eq!(get(&p.url(&image_path(&old))).await.status, 200);
    let long = jwt(
        &serde_json::json!({"url": "x".repeat(900)}),
        Some(KID),
        SECRET,
    );
    assert_eq!(get(&p.url(&image_path(&long))).await.status, 400);

    // Without a public URL, token URLs point at QR_ORIGIN_LISTEN, as the server's own do.
    let url = mint(
        Command::new(BIN)
            .args(["token", "--url", content, "--signing-key", &key_arg()])
            .env("QR_ORIGIN_LISTEN", "127.0.0.1:9123")
            .env_remove("QR_ORIGIN_PUBLIC_URL"),
    );
    assert!(
        url.starts_with("http://127.0.0.1:9123/qr-generator/v1?token="),
        "{url}"
    );

    // A bad value is refused at start-up with the flag's name.
    let out = Command::new(BIN)
        .args(["serve", "--signing-key", &key_arg()])
        .env("QR_ORIGIN_LISTEN", "127.0.0.1:0")
        .env("QR_ORIGIN_CACHE_BYTES", "lots")
        .output()
        .expect("the binary runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cache-bytes"), "{err}");
}
