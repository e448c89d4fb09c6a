//! The one conformance suite every [`Store`] implementation must pass.
//!
//! Each implementation's tests call [`run_all`] on a fresh, empty store:
//! ```ignore
//! #[tokio::test]
//! async fn passes_the_store_conformance_suite() {
//!     conformance::run_all(&PostgresStore::connect(url).await?).await;
//! }
//! ```
//! Cases use their own merchant serial numbers, so they never see each other's rows. A failed
//! case panics with the rule it checks.

use super::{Conflict, LinkKind, NewAccessToken, NewLink, NewMerchant, Store, StoreError};

/// Runs every case against `store`, which must start empty.
pub async fn run_all(store: &dyn Store) {
    merchants_are_added_listed_and_unique(store).await;
    credentials_are_found_by_client_id(store).await;
    access_tokens_expire(store).await;
    links_are_created_and_found(store).await;
    live_ids_are_unique_per_merchant_and_kind(store).await;
    codes_are_never_reused(store).await;
    targets_change_in_place(store).await;
    deleted_links_are_gone_but_remembered(store).await;
    expired_links_are_hidden_and_free_their_id(store).await;
    merchants_only_reach_their_own_links(store).await;
    payment_links_need_no_id(store).await;
}

/// A merchant with predictable credentials derived from its serial number.
pub fn merchant(msn: &str) -> NewMerchant {
    NewMerchant {
        msn: msn.to_owned(),
        name: format!("Merchant {msn}"),
        client_id: format!("client-{msn}"),
        client_secret_sha256: format!("secret-hash-{msn}"),
        subscription_key_sha256: format!("key-hash-{msn}"),
        created_at_ms: 1_000,
    }
}

/// A non-expiring merchant-redirect link.
pub fn redirect(msn: &str, qr_id: &str, code: &str) -> NewLink {
    NewLink {
        code: code.to_owned(),
        kind: LinkKind::Redirect,
        msn: msn.to_owned(),
        qr_id: Some(qr_id.to_owned()),
        target: Some(format!("https://example.com/{code}")),
        created_at_ms: 1_000,
        expires_at_ms: None,
    }
}

fn conflict(r: Result<impl std::fmt::Debug, StoreError>) -> Conflict {
    match r {
        Err(StoreError::Conflict(c)) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn merchants_are_added_listed_and_unique(store: &dyn Store) {
    store
        .add_merchant(&merchant("100002"))
        .await
        .expect("add 100002");
    store
        .add_merchant(&merchant("100001"))
        .await
        .expect("add 100001");
    let listed = store.list_merchants().await.expect("list");
    let ours: Vec<_> = listed
        .iter()
        .filter(|m| m.msn.starts_with("10000"))
        .collect();
    assert_eq!(ours.len(), 2, "both merchants listed: {listed:?}");
    assert_eq!(ours[0].msn, "100001", "listed by serial number");
    assert_eq!(ours[0].name, "Merchant 100001");
    assert_eq!(ours[0].client_ids, vec!["client-100001".to_owned()]);

    let same_msn = NewMerchant {
        client_id: "client-other".into(),
        ..merchant("100001")
    };
    assert_eq!(
        conflict(store.add_merchant(&same_msn).await),
        Conflict::MerchantMsn
    );
    let same_client = NewMerchant {
        msn: "100003".into(),
        ..merchant("100001")
    };
    assert_eq!(
        conflict(store.add_merchant(&same_client).await),
        Conflict::ClientId
    );
    assert!(
        !store
            .list_merchants()
            .await
            .expect("list")
            .iter()
            .any(|m| m.msn == "100003"),
        "a rejected merchant leaves nothing behind"
    );
}

async fn credentials_are_found_by_client_id(store: &dyn Store) {
    store.add_merchant(&merchant("200001")).await.expect("add");
    let c = store
        .credential("client-200001")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(c.msn, "200001");
    assert_eq!(c.client_secret_sha256, "secret-hash-200001");
    assert_eq!(c.subscription_key_sha256, "key-hash-200001");
    assert_eq!(store.credential("client-nobody").await.expect("read"), None);
}

async fn access_tokens_expire(store: &dyn Store) {
    store.add_merchant(&merchant("300001")).await.expect("add");
    let token = NewAccessToken {
        token_sha256: "token-300001".into(),
        client_id: "client-300001".into(),
        msn: "300001".into(),
        created_at_ms: 10_000,
        expires_at_ms: 20_000,
    };
    store.add_access_token(&token).await.expect("add token");
    let grant = store
        .access_grant("token-300001", 19_999)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(grant.msn, "300001");
    assert_eq!(grant.client_id, "client-300001");
    assert_eq!(grant.subscription_key_sha256, "key-hash-300001");
    assert_eq!(grant.expires_at_ms, 20_000);
    assert_eq!(
        store
            .access_grant("token-300001", 20_000)
            .await
            .expect("read"),
        None,
        "expired"
    );
    assert_eq!(
        store.access_grant("token-unknown", 0).await.expect("read"),
        None
    );

    // Adding a later token forgets the expired one for good.
    let later = NewAccessToken {
        token_sha256: "token-300001-b".into(),
        created_at_ms: 30_000,
        expires_at_ms: 40_000,
        ..token.clone()
    };
    store
        .add_access_token(&later)
        .await
        .expect("add later token");
    assert_eq!(
        store.access_grant("token-300001", 0).await.expect("read"),
        None,
        "purged"
    );
    assert!(
        store
            .access_grant("token-300001-b", 30_000)
            .await
            .expect("read")
            .is_some()
    );

    let orphan = NewAccessToken {
        token_sha256: "token-orphan".into(),
        client_id: "client-nobody".into(),
        ..token
    };
    assert!(
        store.add_access_token(&orphan).await.is_err(),
        "token for an unknown client"
    );
}

async fn links_are_created_and_found(store: &dyn Store) {
    store.add_merchant(&merchant("400001")).await.expect("add");
    let new = redirect("400001", "billboard_1", "Code400001");
    let created = store.create_link(&new, 1_000).await.expect("create");
    assert_eq!(created.code, "Code400001");
    assert_eq!(created.kind, LinkKind::Redirect);
    assert_eq!(created.qr_id.as_deref(), Some("billboard_1"));
    assert_eq!(
        created.target.as_deref(),
        Some("https://example.com/Code400001")
    );
    assert_eq!(
        (created.created_at_ms, created.updated_at_ms),
        (1_000, 1_000)
    );
    assert_eq!(created.deleted_at_ms, None);

    assert_eq!(
        store.link_by_code("Code400001").await.expect("by code"),
        Some(created.clone())
    );
    assert_eq!(
        store
            .merchant_link("400001", LinkKind::Redirect, "billboard_1", 2_000)
            .await
            .expect("by id"),
        Some(created.clone())
    );
    assert_eq!(
        store.link_by_code("NoSuchCode").await.expect("by code"),
        None
    );
    assert_eq!(
        store
            .merchant_link("400001", LinkKind::Payment, "billboard_1", 2_000)
            .await
            .expect("other kind"),
        None,
        "ids are per kind"
    );

    let unicode = redirect("400001", "Kasse æøå ÆØÅ-_+% 1", "Code400002");
    store
        .create_link(&unicode, 1_500)
        .await
        .expect("create unicode id");
    let all = store
        .merchant_links("400001", LinkKind::Redirect, 2_000)
        .await
        .expect("list");
    let ids: Vec<_> = all.iter().filter_map(|l| l.qr_id.as_deref()).collect();
    assert_eq!(
        ids,
        ["billboard_1", "Kasse æøå ÆØÅ-_+% 1"],
        "oldest first, text intact"
    );

    let stranger = redirect("499999", "x", "Code499999");
    assert!(
        matches!(
            store.create_link(&stranger, 1_000).await,
            Err(StoreError::Missing(_))
        ),
        "links need a known merchant"
    );
}

async fn live_ids_are_unique_per_merchant_and_kind(store: &dyn Store) {
    store.add_merchant(&merchant("500001")).await.expect("add");
    store.add_merchant(&merchant("500002")).await.expect("add");
    store
        .create_link(&redirect("500001", "shared", "Code500001"), 1_000)
        .await
        .expect("A");
    let dup = redirect("500001", "shared", "Code500002");
    assert_eq!(
        conflict(store.create_link(&dup, 1_000).await),
        Conflict::QrId
    );
    assert_eq!(
        store.link_by_code("Code500002").await.expect("read"),
        None,
        "nothing written"
    );
    store
        .create_link(&redirect("500002", "shared", "Code500003"), 1_000)
        .await
        .expect("same id, other merchant");
    let callback = NewLink {
        kind: LinkKind::Callback,
        target: None,
        ..redirect("500001", "shared", "Code500004")
    };
    store
        .create_link(&callback, 1_000)
        .await
        .expect("same id, other kind");
    assert_eq!(
        store
            .link_by_code("Code500004")
            .await
            .expect("read")
            .map(|l| l.kind),
        Some(LinkKind::Callback)
    );
}

async fn codes_are_never_reused(store: &dyn Store) {
    store.add_merchant(&merchant("600001")).await.expect("add");
    store.add_merchant(&merchant("600002")).await.expect("add");
    store
        .create_link(&redirect("600001", "a", "Code600001"), 1_000)
        .await
        .expect("create");
    let again = redirect("600002", "b", "Code600001");
    assert_eq!(
        conflict(store.create_link(&again, 1_000).await),
        Conflict::Code
    );

    store
        .delete_link("600001", LinkKind::Redirect, "a", 2_000)
        .await
        .expect("delete");
    let after_delete = redirect("600001", "a", "Code600001");
    assert_eq!(
        conflict(store.create_link(&after_delete, 3_000).await),
        Conflict::Code,
        "a deleted QR's code stays taken"
    );
}

async fn targets_change_in_place(store: &dyn Store) {
    store.add_merchant(&merchant("700001")).await.expect("add");
    let created = store
        .create_link(&redirect("700001", "sign", "Code700001"), 1_000)
        .await
        .expect("create");
    let updated = store
        .set_link_target(
            "700001",
            LinkKind::Redirect,
            "sign",
            "https://example.com/new",
            5_000,
        )
        .await
        .expect("update")
        .expect("found");
    assert_eq!(
        updated.code, created.code,
        "the code (and so the printed QR) stays"
    );
    assert_eq!(updated.target.as_deref(), Some("https://example.com/new"));
    assert_eq!(
        (updated.created_at_ms, updated.updated_at_ms),
        (1_000, 5_000)
    );
    assert_eq!(
        store.link_by_code("Code700001").await.expect("read"),
        Some(updated)
    );
    assert_eq!(
        store
            .set_link_target(
                "700001",
                LinkKind::Redirect,
                "nope",
                "https://x.example",
                5_000
            )
            .await
            .expect("update unknown"),
        None
    );
}

async fn deleted_links_are_gone_but_remembered(store: &dyn Store) {
    store.add_merchant(&merchant("800001")).await.expect("add");
    store
        .create_link(&redirect("800001", "poster", "Code800001"), 1_000)
        .await
        .expect("create");
    let deleted = store
        .delete_link("800001", LinkKind::Redirect, "poster", 2_000)
        .await
        .expect("delete")
        .expect("found");
    assert_eq!(deleted.code, "Code800001");
    assert_eq!(deleted.deleted_at_ms, Some(2_000));

    let by_code = store
        .link_by_code("Code800001")
        .await
        .expect("read")
        .expect("remembered");
    assert_eq!(by_code.deleted_at_ms, Some(2_000));
    assert!(!by_code.is_live(2_000));
    assert_eq!(
        store
            .merchant_link("800001", LinkKind::Redirect, "poster", 2_000)
            .await
            .expect("read"),
        None
    );
    assert!(
        store
            .merchant_links("800001", LinkKind::Redirect, 2_000)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .delete_link("800001", LinkKind::Redirect, "poster", 3_000)
            .await
            .expect("again"),
        None,
        "deleting twice finds nothing"
    );
    assert_eq!(
        store
            .set_link_target(
                "800001",
                LinkKind::Redirect,
                "poster",
                "https://x.example",
                3_000
            )
            .await
            .expect("update deleted"),
        None,
        "a deleted QR cannot be revived by an update"
    );

    let reborn = store
        .create_link(&redirect("800001", "poster", "Code800002"), 4_000)
        .await
        .expect("the id is free again");
    assert_eq!(reborn.code, "Code800002");
    let old = store
        .link_by_code("Code800001")
        .await
        .expect("read")
        .expect("still remembered");
    assert_eq!(old.deleted_at_ms, Some(2_000), "the old code stays dead");
}

async fn expired_links_are_hidden_and_free_their_id(store: &dyn Store) {
    store.add_merchant(&merchant("900101")).await.expect("add");
    let short = NewLink {
        expires_at_ms: Some(10_000),
        ..redirect("900101", "flyer", "Code900101")
    };
    store.create_link(&short, 1_000).await.expect("create");
    let found = store
        .merchant_link("900101", LinkKind::Redirect, "flyer", 9_999)
        .await
        .expect("r");
    assert!(found.is_some(), "live until its expiry");
    assert_eq!(
        store
            .merchant_link("900101", LinkKind::Redirect, "flyer", 10_000)
            .await
            .expect("read"),
        None,
        "gone at its expiry"
    );
    assert!(
        store
            .merchant_links("900101", LinkKind::Redirect, 10_000)
            .await
            .expect("l")
            .is_empty()
    );
    assert_eq!(
        store
            .set_link_target(
                "900101",
                LinkKind::Redirect,
                "flyer",
                "https://x.example",
                10_000
            )
            .await
            .expect("update expired"),
        None
    );
    let expired = store
        .link_by_code("Code900101")
        .await
        .expect("read")
        .expect("remembered");
    assert!(!expired.is_live(10_000) && expired.is_live(9_999));

    store
        .create_link(&redirect("900101", "flyer", "Code900102"), 11_000)
        .await
        .expect("an expired id is free again");
    assert!(
        !store
            .link_by_code("Code900101")
            .await
            .expect("read")
            .expect("kept")
            .is_live(11_000),
        "the expired code stays dead"
    );
}

async fn merchants_only_reach_their_own_links(store: &dyn Store) {
    store
        .add_merchant(&merchant("910001"))
        .await
        .expect("add A");
    store
        .add_merchant(&merchant("910002"))
        .await
        .expect("add B");
    store
        .create_link(&redirect("910001", "mine", "Code910001"), 1_000)
        .await
        .expect("create");
    let b = "910002";
    assert_eq!(
        store
            .merchant_link(b, LinkKind::Redirect, "mine", 2_000)
            .await
            .expect("r"),
        None
    );
    assert!(
        store
            .merchant_links(b, LinkKind::Redirect, 2_000)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .set_link_target(b, LinkKind::Redirect, "mine", "https://evil.example", 2_000)
            .await
            .expect("update"),
        None
    );
    assert_eq!(
        store
            .delete_link(b, LinkKind::Redirect, "mine", 2_000)
            .await
            .expect("del"),
        None
    );
    let a = store
        .link_by_code("Code910001")
        .await
        .expect("read")
        .expect("A's link");
    assert!(a.is_live(2_000), "untouched by B");
    assert_eq!(a.target.as_deref(), Some("https://example.com/Code910001"));
}

async fn payment_links_need_no_id(store: &dyn Store) {
    store.add_merchant(&merchant("920001")).await.expect("add");
    for code in ["Code920001", "Code920002"] {
        let payment = NewLink {
            code: code.into(),
            kind: LinkKind::Payment,
            msn: "920001".into(),
            qr_id: None,
            target: Some("https://pay.example/deeplink?token=abc".into()),
            created_at_ms: 1_000,
            expires_at_ms: Some(601_000),
        };
        store
            .create_link(&payment, 1_000)
            .await
            .expect("payments without an id never clash");
    }
    let p = store
        .link_by_code("Code920002")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(p.kind, LinkKind::Payment);
    assert!(p.is_live(600_999) && !p.is_live(601_000));
}
