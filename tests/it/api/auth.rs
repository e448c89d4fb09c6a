//! Authentication and merchant isolation over real HTTP: every wrong credential is the same 401,
//! and merchant B can neither see nor change nor delete merchant A's QRs.

use crate::common;

use common::api::{Api, Credentials, access_token, add_merchant, send};
use http::Method;
use serde_json::json;

#[tokio::test]
async fn every_wrong_credential_is_the_same_401() {
    let srv = common::start().await;
    let good = add_merchant(&srv.state.config.data_dir, "110001", "Good AS");
    let other = add_merchant(&srv.state.config.data_dir, "110002", "Other AS");
    assert_eq!(access_token(&srv.base, &good).await.status, 200);

    let wrong = [
        Credentials {
            client_secret: "wrong".into(),
            ..good.clone()
        },
        Credentials {
            client_secret: other.client_secret.clone(),
            ..good.clone()
        },
        Credentials {
            subscription_key: other.subscription_key.clone(),
            ..good.clone()
        },
        Credentials {
            client_id: uuid::Uuid::new_v4().to_string(),
            ..good.clone()
        },
        Credentials {
            msn: other.msn.clone(),
            ..good.clone()
        },
        Credentials {
            client_secret: String::new(),
            ..good.clone()
        },
    ];
    let mut bodies = Vec::new();
    for creds in &wrong {
        let r = access_token(&srv.base, creds).await;
        assert_eq!(r.status, 401, "{creds:?}");
        assert_eq!(r.header("www-authenticate"), "Bearer");
        let mut v = r.json();
        v["instance"] = json!(null);
        bodies.push(v);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the answer never says which part was wrong"
    );

    let no_headers = send(Method::POST, &srv.url("/accesstoken/get"), &[], None).await;
    assert_eq!(no_headers.status, 401);
    let wrong_method = send(Method::GET, &srv.url("/accesstoken/get"), &[], None).await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn qr_calls_need_a_valid_token_and_the_matching_subscription_key() {
    let srv = common::start().await;
    let a = Api::merchant(&srv, "120001", "A AS").await;
    let b = Api::merchant(&srv, "120002", "B AS").await;
    let url = srv.url("/qr/v1/merchant-redirect");
    let bearer = format!("Bearer {}", a.token);

    let ok = send(
        Method::GET,
        &url,
        &[
            ("authorization", &bearer),
            ("ocp-apim-subscription-key", &a.creds.subscription_key),
        ],
        None,
    )
    .await;
    assert_eq!(ok.status, 200);

    for headers in [
        vec![],
        vec![(
            "ocp-apim-subscription-key",
            a.creds.subscription_key.as_str(),
        )],
        vec![("authorization", bearer.as_str())],
        vec![
            ("authorization", bearer.as_str()),
            (
                "ocp-apim-subscription-key",
                b.creds.subscription_key.as_str(),
            ),
        ],
        vec![
            ("authorization", "Bearer not-a-token"),
            (
                "ocp-apim-subscription-key",
                a.creds.subscription_key.as_str(),
            ),
        ],
        vec![
            ("authorization", a.token.as_str()),
            (
                "ocp-apim-subscription-key",
                a.creds.subscription_key.as_str(),
            ),
        ],
        vec![
            ("authorization", "Basic Zm9vOmJhcg=="),
            (
                "ocp-apim-subscription-key",
                a.creds.subscription_key.as_str(),
            ),
        ],
    ] {
        let r = send(Method::GET, &url, &headers, None).await;
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.header("content-type"), "application/json");
    }

    // A Merchant-Serial-Number that is not the token's merchant is refused.
    let r = a
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            None,
            None,
            &[("merchant-serial-number", "120002")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = a
        .call(
            Method::GET,
            "/qr/v1/merchant-redirect",
            None,
            None,
            &[("merchant-serial-number", "120001")],
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn merchants_cannot_reach_each_others_qrs() {
    let srv = common::start().await;
    let dir = &srv.state.config.data_dir;
    let a = Api::login(&srv.base, &add_merchant(dir, "130001", "A AS")).await;
    let b = Api::login(&srv.base, &add_merchant(dir, "130002", "B AS")).await;

    let created = a
        .redirect_to("text/targetUrl", "shop", "https://a.example/shop")
        .await;
    assert_eq!(created.status, 200);
    let short = created.json()["url"].as_str().expect("url").to_owned();

    // B sees nothing of A's.
    let list = b.bare(Method::GET, "/qr/v1/merchant-redirect").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json(), json!([]));
    assert_eq!(
        b.bare(Method::GET, "/qr/v1/merchant-redirect/shop")
            .await
            .status,
        404
    );
    let put = b
        .call(
            Method::PUT,
            "/qr/v1/merchant-redirect/shop",
            None,
            Some(json!({"redirectUrl": "https://evil.example"})),
            &[],
        )
        .await;
    assert_eq!(put.status, 404);
    assert_eq!(
        b.bare(Method::DELETE, "/qr/v1/merchant-redirect/shop")
            .await
            .status,
        404
    );

    // A's QR is untouched.
    let scan = common::get(&srv.url(&common::api::path_of(&short))).await;
    assert_eq!(scan.status, 302);
    assert_eq!(scan.header("location"), "https://a.example/shop");

    // The same id is fine for B, and independent.
    let b_created = b
        .redirect_to("text/targetUrl", "shop", "https://b.example/shop")
        .await;
    assert_eq!(b_created.status, 200);
    assert_ne!(b_created.json()["url"], short.as_str());
    assert_eq!(
        b.bare(Method::DELETE, "/qr/v1/merchant-redirect/shop")
            .await
            .status,
        200
    );
    let a_one = a.bare(Method::GET, "/qr/v1/merchant-redirect/shop").await;
    assert_eq!(
        a_one.status, 200,
        "B deleting its own 'shop' leaves A's alone"
    );
    assert_eq!(a_one.json()["redirectUrl"], "https://a.example/shop");
}
