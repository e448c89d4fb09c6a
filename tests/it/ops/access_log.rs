//! The access log of the real binary: with `--access-log` (JSON log format) one line per
//! request with method, route, status, duration, body bytes, cache HIT/MISS and a request id
//! (also the `instance` of an API problem document); without it, none. Every line is read from the child's stderr after it exited, so nothing
//! here waits on a timer.

use crate::common;

use std::process::Command;
use std::sync::mpsc::Receiver;

use common::*;
use http::Method;
use serde_json::Value;

/// Starts `qr-origin serve` with JSON logs and `extra` flags.
fn serve(extra: &[&str]) -> (std::process::Child, String, Receiver<String>) {
    let key = format!("{KID}={SECRET}");
    let mut args = vec![
        "serve",
        "--log-format",
        "json",
        "--listen",
        "127.0.0.1:0",
        "--signing-key",
        &key,
        "--shutdown-delay",
        "0s",
    ];
    args.extend_from_slice(extra);
    let dir = temp_dir("access-log");
    let (child, addr, log) = spawn_binary_logged(&args, &[], &dir);
    (child, format!("http://{addr}"), log)
}

/// SIGTERM, wait for the exit, and every access line the child wrote, parsed.
fn stop_and_read(mut child: std::process::Child, log: Receiver<String>) -> Vec<Value> {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "SIGTERM delivered");
    assert!(child.wait().expect("reaped").success(), "clean exit");
    // The child has exited, so its stderr is closed and the channel ends.
    log.iter()
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .filter(|v| v["target"] == "qr_origin::access")
        .map(|v| v["fields"].clone())
        .collect()
}

fn image_token(content: &str) -> String {
    jwt(
        &serde_json::json!({"format": "image/png", "size": 200, "url": content}),
        Some(KID),
        SECRET,
    )
}

#[tokio::test]
async fn one_line_per_request_with_every_field() {
    let (child, base, log) = serve(&["--access-log"]);
    let image = format!(
        "{base}{}",
        image_path(&image_token("https://example.com/a"))
    );
    let miss = get_with(&image, &[("x-request-id", "lb-4711")]).await;
    let hit = get(&image).await;
    let head = request(Method::HEAD, &image, &[]).await;
    let missing = get(&format!("{base}/nope")).await;
    let denied = request(Method::POST, &format!("{base}/qr/v1"), &[]).await;
    let statuses = [&miss, &hit, &head, &missing, &denied].map(|r| r.status.as_u16());
    assert_eq!(statuses, [200, 200, 200, 404, 401]);

    let lines = stop_and_read(child, log);
    assert_eq!(lines.len(), 5, "one line per request: {lines:#?}");
    let field = |i: usize, name: &str| lines[i][name].clone();
    let expect = [
        ("GET", "origin", 200, miss.body.len(), "MISS"),
        ("GET", "origin", 200, hit.body.len(), "HIT"),
        ("HEAD", "origin", 200, 0, "HIT"),
        ("GET", "not_found", 404, missing.body.len(), "-"),
        ("POST", "api_create_payment", 401, denied.body.len(), "-"),
    ];
    for (i, (method, route, status, bytes, cache)) in expect.into_iter().enumerate() {
        assert_eq!(field(i, "method"), method, "line {i}");
        assert_eq!(field(i, "route"), route, "line {i}");
        assert_eq!(field(i, "status"), status, "line {i}");
        assert_eq!(field(i, "bytes"), bytes as u64, "line {i}");
        assert_eq!(field(i, "cache"), cache, "line {i}");
        assert!(field(i, "duration_us").is_u64(), "line {i}");
        assert_eq!(field(i, "version"), "HTTP/1.1", "line {i}");
        assert!(
            field(i, "peer")
                .as_str()
                .is_some_and(|p| p.starts_with("127.0.0.1:")),
            "line {i}"
        );
    }
    assert!(miss.body.len() > 100, "a PNG came back");
    // The load balancer's id is kept; the others are made here, each different.
    assert_eq!(field(0, "request_id"), "lb-4711");
    let made: Vec<String> = (1..5)
        .map(|i| {
            field(i, "request_id")
                .as_str()
                .expect("a string")
                .to_owned()
        })
        .collect();
    let mut distinct = made.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), made.len(), "{made:?}");
    // The 401's problem document names the id of its log line, for support tickets.
    let problem: Value = serde_json::from_slice(&denied.body).expect("a problem document");
    assert_eq!(problem["instance"], field(4, "request_id"));
    // No path or query: the token is a capability and stays out of the log.
    let everything = lines.iter().map(Value::to_string).collect::<String>();
    assert!(!everything.contains("token="), "{everything}");
}

#[tokio::test]
async fn off_by_default() {
    let (child, base, log) = serve(&[]);
    let image = format!(
        "{base}{}",
        image_path(&image_token("https://example.com/b"))
    );
    assert_eq!(get(&image).await.status, 200);
    assert_eq!(get(&format!("{base}/healthz")).await.status, 200);
    assert_eq!(stop_and_read(child, log), Vec::<Value>::new());
}
