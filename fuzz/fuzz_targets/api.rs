//! Fuzz target `api`: arbitrary QR API requests through the real handlers, in process.
//!
//! One embedded store (a temporary directory) and one registered merchant for the whole run; each
//! input becomes one request: a route from the API's own path table (or an arbitrary path), a
//! method, an optional valid `Authorization` + subscription key (so the fuzzer reaches the JSON
//! validators behind authentication, not only the 401), a `Content-Type` and an arbitrary body.
//!
//! Invariants: never panics (libFuzzer aborts on a panic in any thread), never answers `500`
//! (bad input is the caller's fault: a 4xx that names it), and never takes more than
//! [`DEADLINE`] (a hung handler would hang a worker in the server).
//!
//! Run: `cargo +nightly fuzz run api`; build only: `cargo build --manifest-path fuzz/Cargo.toml`.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use libfuzzer_sys::fuzz_target;
use qr_origin::clock::{Clock, SystemClock};
use qr_origin::config::Config;
use qr_origin::router::{Route, recognize};
use qr_origin::secret::sha256_hex;
use qr_origin::state::AppState;
use qr_origin::store::NewMerchant;

const DEADLINE: Duration = Duration::from_secs(5);
const CLIENT_ID: &str = "fuzz-client";
const CLIENT_SECRET: &str = "fuzz-client-secret";
const SUBSCRIPTION_KEY: &str = "fuzz-subscription-key";
const MSN: &str = "123456";

/// Path prefixes the API serves (`{id}` routes get the fuzzer's bytes as the id).
const PATHS: &[&str] = &[
    "/accesstoken/get",
    "/qr/v1",
    "/qr/v1/merchant-redirect",
    "/qr/v1/merchant-redirect/",
    "/qr/v1/merchant-callback",
    "/qr/v1/merchant-callback/",
    "/qr/v1/logos",
    "/qr/v1/logos/",
    "/qr/v1/style",
    "/webhooks/v1/webhooks",
    "/webhooks/v1/webhooks/",
    "/",
];
const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::HEAD,
    Method::PATCH,
];
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "image/png",
    "image/svg+xml",
    "text/plain",
    "",
];

struct World {
    rt: tokio::runtime::Runtime,
    state: Arc<AppState>,
    bearer: String,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = Config::local(dir.path());
        cfg.signing_keys = vec![("fuzz".into(), "fuzz-signing-secret-0123456789abcdef".into())];
        let state = rt.block_on(async {
            let (_listener, state) = qr_origin::server::bind(cfg, Arc::new(SystemClock))
                .await
                .expect("bind");
            state
                .store
                .add_merchant(&NewMerchant {
                    msn: MSN.into(),
                    name: "Fuzz AS".into(),
                    client_id: CLIENT_ID.into(),
                    client_secret_sha256: sha256_hex(CLIENT_SECRET),
                    subscription_key_sha256: sha256_hex(SUBSCRIPTION_KEY),
                    created_at_ms: SystemClock.now_ms(),
                })
                .await
                .expect("merchant");
            state
        });
        let login = Request::post("/accesstoken/get")
            .header("client_id", CLIENT_ID)
            .header("client_secret", CLIENT_SECRET)
            .header("ocp-apim-subscription-key", SUBSCRIPTION_KEY)
            .header("merchant-serial-number", MSN)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let (status, body) = rt.block_on(call(&state, login));
        assert_eq!(status, 200, "login: {}", String::from_utf8_lossy(&body));
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let bearer = format!("Bearer {}", v["access_token"].as_str().expect("token"));
        World {
            rt,
            state,
            bearer,
            _dir: dir,
        }
    })
}

/// The request through the router's own path table and the API's handler; non-API routes are
/// not this target's concern (the origin and links have their own targets and tests).
async fn call(state: &Arc<AppState>, req: Request<Full<Bytes>>) -> (u16, Bytes) {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let Ok((Route::Api(route), param)) = recognize(&method, &path) else {
        return (404, Bytes::new());
    };
    let param = param.to_owned();
    let res = tokio::time::timeout(
        DEADLINE,
        qr_origin::api::handle(&state.api, route, &param, req),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} took over {DEADLINE:?}"));
    let status = res.status().as_u16();
    let body = tokio::time::timeout(DEADLINE, res.into_body().collect())
        .await
        .expect("response body in time")
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (status, body)
}

fuzz_target!(|data: &[u8]| {
    let [flags, path_i, method_i, ct_i, rest @ ..] = data else {
        return;
    };
    let w = world();
    // `path suffix \0 body`: the suffix goes after the chosen prefix (an id, a query, garbage).
    let (suffix, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let prefix = PATHS[usize::from(*path_i) % PATHS.len()];
    let path = format!("{prefix}{}", percent(suffix));
    let method = METHODS[usize::from(*method_i) % METHODS.len()].clone();
    let Ok(mut builder) = std::panic::catch_unwind(|| Request::builder().method(method).uri(&path))
    else {
        return;
    };
    if flags & 1 == 1 {
        builder = builder
            .header("authorization", &w.bearer)
            .header("ocp-apim-subscription-key", SUBSCRIPTION_KEY);
    }
    let ct = CONTENT_TYPES[usize::from(*ct_i) % CONTENT_TYPES.len()];
    if !ct.is_empty() {
        builder = builder.header("content-type", ct);
    }
    let Ok(req) = builder.body(Full::new(Bytes::copy_from_slice(body))) else {
        return; // not a valid URI: hyper would have refused it before any handler
    };
    let (status, answer) = w.rt.block_on(call(&w.state, req));
    assert_ne!(
        status,
        500,
        "500 for {path}: {}",
        String::from_utf8_lossy(&answer)
    );
});

/// Bytes as a path suffix: unreserved ASCII verbatim, everything else percent-encoded, so the
/// handlers see every byte value through their own decoding.
fn percent(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~/?=&".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}
