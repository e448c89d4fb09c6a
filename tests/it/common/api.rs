//! QR API helpers for integration tests: merchants created with the real `qr-origin merchant add`
//! binary, access tokens fetched over HTTP, and JSON calls with bodies.

use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::{Reply, TestServer};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_qr-origin");

/// API credentials as `merchant add` prints them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub subscription_key: String,
    pub msn: String,
}

impl Credentials {
    /// What `qr-origin merchant add` printed.
    fn of(v: &Value) -> Credentials {
        let s = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("{k} in {v}"))
                .to_owned()
        };
        Credentials {
            client_id: s("client_id"),
            client_secret: s("client_secret"),
            subscription_key: s("subscription_key"),
            msn: s("msn"),
        }
    }
}

/// Runs `qr-origin merchant add` on `data_dir` (also while a server uses it) and parses its JSON.
pub fn add_merchant(data_dir: &Path, msn: &str, name: &str) -> Credentials {
    Credentials::of(&merchant_cli(
        data_dir,
        &["add", "--msn", msn, "--name", name],
    ))
}

/// Sends `method url` with `headers` and an optional body over HTTP/1.1.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let body = body.map_or_else(Bytes::new, |b| Bytes::copy_from_slice(b.as_bytes()));
    send_bytes(method, url, headers, body).await
}

/// [`send`] with a body of any bytes (logo uploads).
pub async fn send_bytes(method: Method, url: &str, headers: &[(&str, &str)], body: Bytes) -> Reply {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body)).expect("valid request");
    let resp = client.request(req).await.expect("server answers");
    let (parts, body) = resp.into_parts();
    let body = http_body_util::BodyExt::collect(body)
        .await
        .expect("full body")
        .to_bytes();
    Reply {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
    }
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `name`s of a problem body's `invalidParams`, in order.
    pub fn invalid_params(&self) -> Vec<String> {
        let v = self.json();
        v["invalidParams"]
            .as_array()
            .unwrap_or_else(|| panic!("no invalidParams in {v}"))
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect()
    }
}

/// A merchant's authenticated session against one server.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub creds: Credentials,
    pub token: String,
}

impl Api {
    /// Fetches an access token with `creds` (asserting success).
    pub async fn login(base: &str, creds: &Credentials) -> Api {
        let r = access_token(base, creds).await;
        assert_eq!(
            r.status,
            200,
            "access token: {}",
            String::from_utf8_lossy(&r.body)
        );
        let token = r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        Api {
            base: base.to_owned(),
            creds: creds.clone(),
            token,
        }
    }

    /// A new merchant `msn` added to `srv`'s store, logged in.
    pub async fn merchant(srv: &TestServer, msn: &str, name: &str) -> Api {
        Api::login(
            &srv.base,
            &add_merchant(&srv.state.config.data_dir, msn, name),
        )
        .await
    }

    /// The `Authorization` value of this session.
    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// The headers every QR API call carries: `bearer` (from [`Api::bearer`]) and the
    /// subscription key.
    fn credentials<'a>(&'a self, bearer: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("authorization", bearer),
            (
                "ocp-apim-subscription-key",
                self.creds.subscription_key.as_str(),
            ),
        ]
    }

    /// A QR API call with this merchant's token and key, `Accept` as given (if any), a JSON
    /// body (if any), and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        accept: Option<&str>,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let bearer = self.bearer();
        let mut headers = self.credentials(&bearer);
        if let Some(a) = accept {
            headers.push(("accept", a));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        headers.extend_from_slice(extra);
        let body = body.map(|b| b.to_string());
        send(
            method,
            &format!("{}{path}", self.base),
            &headers,
            body.as_deref(),
        )
        .await
    }

    /// A call with neither `Accept` nor a body nor extra headers: the QR API's plain GETs and
    /// DELETEs.
    pub async fn bare(&self, method: Method, path: &str) -> Reply {
        self.call(method, path, None, None, &[]).await
    }

    /// A merchant-callback call: no `Accept`, this merchant's `Merchant-Serial-Number` (which
    /// those endpoints insist on) and a JSON body if any.
    pub async fn callback(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let msn = [("merchant-serial-number", self.creds.msn.as_str())];
        self.call(method, path, None, body, &msn).await
    }

    /// `POST /qr/v1/logos` with `bytes` as `content_type` (no `Content-Type` when empty).
    pub async fn upload_logo(&self, content_type: &str, bytes: &[u8]) -> Reply {
        let bearer = self.bearer();
        let mut headers = self.credentials(&bearer);
        if !content_type.is_empty() {
            headers.push(("content-type", content_type));
        }
        send_bytes(
            Method::POST,
            &format!("{}/qr/v1/logos", self.base),
            &headers,
            Bytes::copy_from_slice(bytes),
        )
        .await
    }

    pub async fn create_redirect(&self, accept: &str, body: Value) -> Reply {
        self.call(
            Method::POST,
            "/qr/v1/merchant-redirect",
            Some(accept),
            Some(body),
            &[],
        )
        .await
    }

    /// [`Api::create_redirect`] of QR `id` pointing at `url`, with nothing else set.
    pub async fn redirect_to(&self, accept: &str, id: &str, url: &str) -> Reply {
        let body = serde_json::json!({"id": id, "redirectUrl": url});
        self.create_redirect(accept, body).await
    }
}

/// `POST /accesstoken/get` with `creds`.
pub async fn access_token(base: &str, creds: &Credentials) -> Reply {
    send(
        Method::POST,
        &format!("{base}/accesstoken/get"),
        &[
            ("client_id", &creds.client_id),
            ("client_secret", &creds.client_secret),
            ("ocp-apim-subscription-key", &creds.subscription_key),
            ("merchant-serial-number", &creds.msn),
        ],
        None,
    )
    .await
}

/// Percent-encodes an id for a path segment.
pub fn encode_id(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a short link (`/r/AbCdEfGhIj`) inside an absolute short URL.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or_else(|| "/".to_owned(), |i| after_scheme[i..].to_owned())
}

/// `qr-origin merchant list` on `data_dir`: the JSON it prints.
pub fn list_merchants(data_dir: &Path) -> Value {
    merchant_cli(data_dir, &["list"])
}

/// `qr-origin merchant add` on the PostgreSQL database at `database_url` (through
/// `QR_ORIGIN_DATABASE_URL`, as an operator would set it).
pub fn add_merchant_on(database_url: &str, msn: &str, name: &str) -> Credentials {
    let dir = super::temp_dir("merchant-cli");
    let v = merchant_cli_env(
        &dir,
        &["add", "--msn", msn, "--name", name],
        &[("QR_ORIGIN_DATABASE_URL", database_url)],
    );
    let _ = std::fs::remove_dir_all(&dir);
    Credentials::of(&v)
}

/// Runs `qr-origin merchant <args> --data-dir <data_dir>`; asserts success and parses stdout.
fn merchant_cli(data_dir: &Path, args: &[&str]) -> Value {
    merchant_cli_env(data_dir, args, &[])
}

/// [`merchant_cli`] with environment variables set.
fn merchant_cli_env(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = Command::new(BIN)
        .arg("merchant")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("QR_ORIGIN_DATA_DIR")
        .env_remove("QR_ORIGIN_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .expect("run qr-origin merchant");
    assert!(
        out.status.success(),
        "merchant {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("merchant prints JSON")
}

/// The claims inside an image URL's token (`…/qr-generator/v1?token=h.p.s`), decoded without
/// checking the signature (the origin tests check that).
pub fn token_claims(image_url: &str) -> Value {
    use base64::Engine;
    let token = image_url
        .split_once("token=")
        .unwrap_or_else(|| panic!("no token in {image_url}"))
        .1;
    let payload = token.split('.').nth(1).expect("three parts");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&json).expect("JSON payload")
}

/// A `w`×`h` RGBA PNG: an opaque blue square with a transparent corner.
pub fn png_logo(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    let mut writer = e.write_header().expect("header");
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let corner = x < w / 4 && y < h / 4;
            data.extend_from_slice(if corner {
                &[0, 0, 0, 0]
            } else {
                &[20, 40, 200, 255]
            });
        }
    }
    writer.write_image_data(&data).expect("data");
    writer.finish().expect("finish");
    out
}
