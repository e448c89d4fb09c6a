//! Real scans over a real server (in-process, real store file): several User-Agents, `HEAD`s
//! and previewers, visitors told apart by their forwarded address, then the scans API.

use crate::common;

use common::api::{Api, add_merchant, path_of};
use http::Method;
use serde_json::{Value, json};

use super::{ANDROID, DESKTOP, IPHONE, SLACKBOT, WHATSAPP};

/// `GET` of a short link from `client` (forwarded by the trusted loopback proxy) with `ua`.
async fn scan(srv: &common::TestServer, path: &str, client: &str, ua: &str) -> u16 {
    common::request(
        Method::GET,
        &srv.url(path),
        &[("user-agent", ua), ("x-forwarded-for", client)],
    )
    .await
    .status
    .as_u16()
}

/// The scans of `qr` (`/qr/v1/merchant-redirect/poster/scans` …) as JSON, asserting 200.
async fn scans(api: &Api, path: &str, extra: &[(&str, &str)]) -> Value {
    let r = api.call(Method::GET, path, None, None, extra).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/json");
    r.json()
}

/// Every bucket's field summed, as the total must be.
fn bucket_sum(v: &Value, field: &str) -> u64 {
    v["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b[field].as_u64().expect("number"))
        .sum()
}

#[tokio::test]
async fn scans_are_counted_by_platform_bots_apart_and_heads_ignored() {
    let srv = common::start_with(|c| {
        // The test client is the "proxy": X-Forwarded-For names the visitor.
        c.scans.trusted_proxies =
            vec![qr_origin::config::scans::Cidr::parse("127.0.0.1").expect("cidr")];
    })
    .await;
    let creds = add_merchant(&srv.state.config.data_dir, "123456", "Acme AS");
    let api = Api::login(&srv.base, &creds).await;
    let created = api
        .redirect_to("text/targetUrl", "poster 1", "https://example.com/menu")
        .await;
    assert_eq!(created.status, 200);
    let short = path_of(created.json()["url"].as_str().expect("url"));

    // Three iPhone scans by two visitors, two Android by one, one desktop; two previewers;
    // HEADs from anyone never count.
    for (client, ua) in [
        ("203.0.113.1", IPHONE),
        ("203.0.113.1", IPHONE),
        ("203.0.113.2", IPHONE),
        ("198.51.100.7", ANDROID),
        ("198.51.100.7", ANDROID),
        ("192.0.2.9", DESKTOP),
        ("192.0.2.50", SLACKBOT),
        ("192.0.2.51", WHATSAPP),
    ] {
        assert_eq!(scan(&srv, &short, client, ua).await, 302, "{ua}");
    }
    for ua in [IPHONE, SLACKBOT] {
        let head = common::request(Method::HEAD, &srv.url(&short), &[("user-agent", ua)]).await;
        assert_eq!(head.status, 302);
    }
    // A dead code is no scan.
    assert_eq!(scan(&srv, "/r/NoSuchCod", "203.0.113.1", IPHONE).await, 404);

    // A callback QR: its check-ins count the same way.
    let put = api
        .call(
            Method::PUT,
            "/qr/v1/merchant-callback/kiosk-1",
            None,
            Some(json!({"locationDescription": "Kiosk"})),
            &[("merchant-serial-number", "123456")],
        )
        .await;
    assert!(
        put.status.is_success(),
        "{}",
        String::from_utf8_lossy(&put.body)
    );
    let content = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk-1",
            None,
            None,
            &[("merchant-serial-number", "123456")],
        )
        .await
        .json()["qrContent"]
        .as_str()
        .expect("qrContent")
        .to_owned();
    assert_eq!(
        scan(&srv, &path_of(&content), "203.0.113.1", ANDROID).await,
        200
    );

    // Counted in memory at once (metrics), in the store after a flush.
    let metrics =
        String::from_utf8_lossy(&common::get(&srv.url("/metrics")).await.body).into_owned();
    for line in [
        "qr_origin_scans_total{platform=\"ios\"} 3",
        "qr_origin_scans_total{platform=\"android\"} 3",
        "qr_origin_scans_total{platform=\"other\"} 1",
        "qr_origin_scan_bots_total{platform=\"other\"} 2",
        "qr_origin_scan_bots_total{platform=\"ios\"} 0",
        "qr_origin_scans_dropped_total 0",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    srv.state.scans.flush().await.expect("flush");

    let v = scans(&api, "/qr/v1/merchant-redirect/poster%201/scans", &[]).await;
    assert_eq!(v["id"], "poster 1");
    assert_eq!(v["interval"], "day");
    assert_eq!(v["buckets"].as_array().expect("buckets").len(), 7);
    assert_eq!(
        v["total"],
        json!({"scans": 6, "uniqueVisitors": 4, "bots": 2,
               "platforms": {"ios": 3, "android": 2, "other": 1}})
    );
    for field in ["scans", "uniqueVisitors", "bots"] {
        assert_eq!(
            bucket_sum(&v, field),
            v["total"][field].as_u64().expect("n"),
            "{field}"
        );
    }
    // The last bucket is today's (the test clock's), the others zero-filled.
    let last = &v["buckets"][6];
    assert_eq!(last["scans"], 6);
    assert_eq!(v["buckets"][0]["scans"], 0);
    assert_eq!(
        v["to"].as_str().map(|t| t.ends_with("T00:00:00Z")),
        Some(true)
    );

    // Hours of the same range add up to the same total.
    let hours = scans(
        &api,
        &format!(
            "/qr/v1/merchant-redirect/poster%201/scans?interval=hour&from={}&to={}",
            v["from"].as_str().expect("from"),
            v["to"].as_str().expect("to")
        ),
        &[],
    )
    .await;
    assert_eq!(hours["buckets"].as_array().expect("buckets").len(), 7 * 24);
    assert_eq!(hours["total"], v["total"]);

    let kiosk = api
        .call(
            Method::GET,
            "/qr/v1/merchant-callback/kiosk-1/scans",
            None,
            None,
            &[("merchant-serial-number", "123456")],
        )
        .await;
    assert_eq!(
        kiosk.status,
        200,
        "{}",
        String::from_utf8_lossy(&kiosk.body)
    );
    assert_eq!(kiosk.json()["total"]["platforms"]["android"], 1);
    assert_eq!(kiosk.json()["total"]["uniqueVisitors"], 1);

    // Nothing identifying reached the store file: no address, no User-Agent.
    let db = std::fs::read(
        srv.state
            .config
            .data_dir
            .join(qr_origin::store::sqlite::DB_FILE),
    )
    .expect("store file");
    let wal = std::fs::read(
        srv.state
            .config
            .data_dir
            .join(format!("{}-wal", qr_origin::store::sqlite::DB_FILE)),
    )
    .unwrap_or_default();
    for needle in ["203.0.113.1", "198.51.100.7", "iPhone", "Slackbot"] {
        for bytes in [&db, &wal] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} stored"
            );
        }
    }

    // Deleting the QR deletes its counts; the id used again starts at zero.
    let del = api
        .bare(Method::DELETE, "/qr/v1/merchant-redirect/poster%201")
        .await;
    assert_eq!(del.status, 200);
    let gone = api
        .bare(Method::GET, "/qr/v1/merchant-redirect/poster%201/scans")
        .await;
    assert_eq!(gone.status, 404);
    let again = api
        .redirect_to("text/targetUrl", "poster 1", "https://example.com/menu")
        .await;
    assert_eq!(again.status, 200);
    let v = scans(&api, "/qr/v1/merchant-redirect/poster%201/scans", &[]).await;
    assert_eq!(v["total"]["scans"], 0);
    srv.stop().await;
}

#[tokio::test]
async fn the_scans_api_checks_its_query_and_the_owner() {
    let srv = common::start().await;
    let dir = &srv.state.config.data_dir;
    let api = Api::login(&srv.base, &add_merchant(dir, "123456", "Acme AS")).await;
    let other = Api::login(&srv.base, &add_merchant(dir, "654321", "Other AS")).await;
    let created = api
        .redirect_to("text/targetUrl", "sign", "https://example.com/x")
        .await;
    assert_eq!(created.status, 200);

    // Another merchant's QR, an unknown one: 404. No credentials: 401.
    for (who, path) in [
        (&other, "/qr/v1/merchant-redirect/sign/scans"),
        (&api, "/qr/v1/merchant-redirect/nope/scans"),
    ] {
        assert_eq!(who.bare(Method::GET, path).await.status, 404, "{path}");
    }
    let anon = common::get(&srv.url("/qr/v1/merchant-redirect/sign/scans")).await;
    assert_eq!(anon.status, 401);

    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "from"),
        ("interval=week", "interval"),
        (
            "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&interval=hour",
            "interval",
        ),
    ] {
        let r = api
            .bare(
                Method::GET,
                &format!("/qr/v1/merchant-redirect/sign/scans?{query}"),
            )
            .await;
        assert_eq!(r.status, 400, "{query}");
        assert_eq!(r.invalid_params(), vec![field.to_owned()], "{query}");
    }
    // HEAD and POST: not routes.
    let post = api
        .bare(Method::POST, "/qr/v1/merchant-redirect/sign/scans")
        .await;
    assert_eq!(post.status, 405);
    srv.stop().await;
}

#[tokio::test]
async fn the_chart_is_an_svg_that_renders() {
    let srv = common::start().await;
    let api = Api::merchant(&srv, "123456", "Acme AS").await;
    let created = api
        .redirect_to("text/targetUrl", "chart 1", "https://example.com/x")
        .await;
    assert_eq!(
        created.status,
        200,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let short = path_of(created.json()["url"].as_str().expect("url"));
    for ua in [IPHONE, IPHONE, ANDROID, DESKTOP] {
        let r = common::get_with(&srv.url(&short), &[("user-agent", ua)]).await;
        assert_eq!(r.status, 302);
    }
    srv.state.scans.flush().await.expect("flush");

    let r = api
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect/chart%201/scans",
            Some("image/svg+xml"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "image/svg+xml");
    let text = String::from_utf8(r.body.to_vec()).expect("utf-8");
    assert!(
        !text.contains("<script") && text.contains("Scans of chart 1"),
        "{text}"
    );
    assert!(
        text.contains("iOS 2") && text.contains("Android 1"),
        "{text}"
    );

    // Parsed as SVG and drawn at 600 px: the bars are there, in the platform colours.
    let tree = resvg::usvg::Tree::from_data(&r.body, &resvg::usvg::Options::default())
        .expect("a valid SVG");
    assert_eq!(tree.size().width(), 600.0);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(600, 320).expect("pixmap");
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    let ios_blue = pixmap
        .pixels()
        .iter()
        .filter(|p| (p.red(), p.green(), p.blue()) == (0x00, 0x72, 0xb2))
        .count();
    assert!(ios_blue > 1000, "the iOS bar is drawn ({ios_blue} px)");
    srv.stop().await;
}
