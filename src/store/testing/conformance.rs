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

use crate::store::{
    Conflict, DefaultStyle, Delivery, DeliveryResult, Link, LinkKind, LogoData, LogoFormat,
    NewAccessToken, NewCallbackQr, NewLink, NewLogo, NewMerchant, NewScan, NewWebhook, OutboxState,
    ScanRecorded, Store, StoreError, StoredStyle, StyleChange,
};

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
    callback_qrs_keep_their_code_and_change_description(store).await;
    scans_enqueue_one_event_per_registered_webhook(store).await;
    scans_of_dead_codes_write_nothing(store).await;
    customer_tokens_expire(store).await;
    webhooks_are_listed_limited_and_deleted(store).await;
    claims_follow_per_webhook_order_and_leases(store).await;
    finished_deliveries_record_their_outcome(store).await;
    deleted_webhooks_get_nothing_more(store).await;
    finished_events_are_pruned_pending_ones_kept(store).await;
    logos_are_stored_once_per_merchant_listed_and_deleted(store).await;
    default_styles_name_only_the_merchants_own_logos(store).await;
    qr_styles_are_stored_changed_and_hold_their_logo(store).await;
    callback_qr_styles_are_stored_and_changed(store).await;
    scan_counts_add_up_fold_and_go_with_their_qr(store).await;
}

/// A PNG logo for `msn` whose bytes (and so id) are derived from `n`. The bytes are not a real
/// image: the store never looks inside.
pub fn logo(msn: &str, n: u8) -> NewLogo {
    let bytes = vec![0x89, b'P', b'N', b'G', n, n, n];
    NewLogo {
        id: format!("{n:02x}").repeat(32),
        msn: msn.to_owned(),
        format: LogoFormat::Png,
        bytes,
        width: 64 + u32::from(n),
        height: 32,
        created_at_ms: 1_000 + i64::from(n),
    }
}

/// A default style for `msn`, naming `logo`.
pub fn default_style(msn: &str, logo: Option<&str>) -> DefaultStyle {
    DefaultStyle {
        msn: msn.to_owned(),
        style: format!("{{\"shape\":\"dots\",\"logo\":{logo:?}}}"),
        logo: logo.map(str::to_owned),
        updated_at_ms: 5_000,
    }
}

/// A webhook registration for `user.checked-in.v1`.
pub fn webhook(msn: &str, id: &str) -> NewWebhook {
    NewWebhook {
        id: id.to_owned(),
        msn: msn.to_owned(),
        url: format!("https://hooks.example/{id}"),
        secret: format!("secret-{id}"),
        events: vec!["user.checked-in.v1".to_owned()],
        created_at_ms: 1_000,
    }
}

/// A callback QR.
pub fn callback(msn: &str, qr_id: &str, code: &str) -> NewCallbackQr {
    NewCallbackQr {
        code: code.to_owned(),
        msn: msn.to_owned(),
        qr_id: qr_id.to_owned(),
        location_description: format!("Kiosk {qr_id}"),
        created_at_ms: 1_000,
        style: StyleChange::Keep,
    }
}

/// A scan of `code` at `at_ms` with a checked-in event whose body names `n`.
pub fn scan(code: &str, token: &str, at_ms: i64) -> NewScan {
    NewScan {
        code: code.to_owned(),
        customer_token: token.to_owned(),
        scanned_at_ms: at_ms,
        expires_at_ms: at_ms + 900_000,
        event: "user.checked-in.v1".to_owned(),
        body: format!("{{\"customerToken\":\"{token}\"}}"),
    }
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
        style: None,
    }
}

/// A QR's stored style: dots, naming `logo`.
pub fn qr_style(shape: &str, logo: Option<&str>) -> StoredStyle {
    StoredStyle {
        style: match logo {
            Some(id) => format!("{{\"shape\":\"{shape}\",\"logo\":\"{id}\"}}"),
            None => format!("{{\"shape\":\"{shape}\"}}"),
        },
        logo: logo.map(str::to_owned),
    }
}

/// Adds the merchants `msns`.
async fn merchants(store: &dyn Store, msns: &[&str]) {
    for msn in msns {
        store.add_merchant(&merchant(msn)).await.expect("add");
    }
}

/// Creates `link` at 1 000, which must succeed.
async fn create(store: &dyn Store, link: &NewLink) -> Link {
    store.create_link(link, 1_000).await.expect("create")
}

/// The link stored under `code`, live or not, which must be there.
async fn stored(store: &dyn Store, code: &str) -> Link {
    store
        .link_by_code(code)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{code} is stored"))
}

/// The merchant's redirect QR `qr_id` is out of reach at `now_ms` (deleted or expired): not
/// found, not listed, and not revived by an update.
async fn assert_out_of_reach(store: &dyn Store, msn: &str, qr_id: &str, now_ms: i64) {
    let kind = LinkKind::Redirect;
    let found = store.merchant_link(msn, kind, qr_id, now_ms).await;
    assert_eq!(found.expect("read"), None, "{qr_id} is not found");
    let listed = store.merchant_links(msn, kind, now_ms).await.expect("list");
    assert!(listed.is_empty(), "{qr_id} is not listed");
    let target = "https://x.example";
    let updated = store
        .set_link_target(msn, kind, qr_id, target, &StyleChange::Keep, now_ms)
        .await;
    assert_eq!(
        updated.expect("update"),
        None,
        "an update does not revive {qr_id}"
    );
}

fn conflict(r: Result<impl std::fmt::Debug, StoreError>) -> Conflict {
    match r {
        Err(StoreError::Conflict(c)) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn merchants_are_added_listed_and_unique(store: &dyn Store) {
    merchants(store, &["100002", "100001"]).await;
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
    let same_client = NewMerchant {
        msn: "100003".into(),
        ..merchant("100001")
    };
    for (taken, expected) in [
        (same_msn, Conflict::MerchantMsn),
        (same_client, Conflict::ClientId),
    ] {
        let added = store.add_merchant(&taken).await;
        assert_eq!(conflict(added), expected, "{taken:?}");
    }
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
    merchants(store, &["500001", "500002"]).await;
    create(store, &redirect("500001", "shared", "Code500001")).await;
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
    create(store, &redirect("500002", "shared", "Code500003")).await;
    let callback = NewLink {
        kind: LinkKind::Callback,
        target: None,
        ..redirect("500001", "shared", "Code500004")
    };
    create(store, &callback).await;
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
    merchants(store, &["600001", "600002"]).await;
    create(store, &redirect("600001", "a", "Code600001")).await;
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
            &StyleChange::Keep,
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
                &StyleChange::Keep,
                5_000,
            )
            .await
            .expect("update unknown"),
        None
    );
}

async fn deleted_links_are_gone_but_remembered(store: &dyn Store) {
    store.add_merchant(&merchant("800001")).await.expect("add");
    create(store, &redirect("800001", "poster", "Code800001")).await;
    let deleted = store
        .delete_link("800001", LinkKind::Redirect, "poster", 2_000)
        .await
        .expect("delete")
        .expect("found");
    assert_eq!(deleted.code, "Code800001");
    assert_eq!(deleted.deleted_at_ms, Some(2_000));

    let by_code = stored(store, "Code800001").await;
    assert_eq!(by_code.deleted_at_ms, Some(2_000));
    assert!(!by_code.is_live(2_000));
    assert_out_of_reach(store, "800001", "poster", 3_000).await;
    assert_eq!(
        store
            .delete_link("800001", LinkKind::Redirect, "poster", 3_000)
            .await
            .expect("again"),
        None,
        "deleting twice finds nothing"
    );

    let reborn = store
        .create_link(&redirect("800001", "poster", "Code800002"), 4_000)
        .await
        .expect("the id is free again");
    assert_eq!(reborn.code, "Code800002");
    let old = stored(store, "Code800001").await;
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
    // Gone at its expiry.
    assert_out_of_reach(store, "900101", "flyer", 10_000).await;
    let expired = stored(store, "Code900101").await;
    assert!(!expired.is_live(10_000) && expired.is_live(9_999));

    store
        .create_link(&redirect("900101", "flyer", "Code900102"), 11_000)
        .await
        .expect("an expired id is free again");
    assert!(
        !stored(store, "Code900101").await.is_live(11_000),
        "the expired code stays dead"
    );
}

async fn merchants_only_reach_their_own_links(store: &dyn Store) {
    merchants(store, &["910001", "910002"]).await;
    create(store, &redirect("910001", "mine", "Code910001")).await;
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
            .set_link_target(
                b,
                LinkKind::Redirect,
                "mine",
                "https://evil.example",
                &StyleChange::Keep,
                2_000
            )
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
    let a = stored(store, "Code910001").await;
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
            style: None,
        };
        store
            .create_link(&payment, 1_000)
            .await
            .expect("payments without an id never clash");
    }
    let p = stored(store, "Code920002").await;
    assert_eq!(p.kind, LinkKind::Payment);
    assert!(p.is_live(600_999) && !p.is_live(601_000));
}

async fn callback_qrs_keep_their_code_and_change_description(store: &dyn Store) {
    store.add_merchant(&merchant("930001")).await.expect("add");
    let put = store
        .put_callback_qr(&callback("930001", "kiosk-1", "Code930001"), 1_000)
        .await
        .expect("create");
    assert!(put.created);
    assert_eq!(put.qr.link.code, "Code930001");
    assert_eq!(put.qr.link.kind, LinkKind::Callback);
    assert_eq!(put.qr.link.qr_id.as_deref(), Some("kiosk-1"));
    assert_eq!(put.qr.location_description, "Kiosk kiosk-1");

    let again = NewCallbackQr {
        code: "Code930002".into(),
        location_description: "Bakery æøå".into(),
        ..callback("930001", "kiosk-1", "")
    };
    let updated = store.put_callback_qr(&again, 2_000).await.expect("update");
    assert!(!updated.created, "an existing id is updated, not created");
    assert_eq!(updated.qr.link.code, "Code930001", "the code never changes");
    assert_eq!(updated.qr.location_description, "Bakery æøå");
    assert_eq!(updated.qr.link.updated_at_ms, 2_000);
    assert_eq!(
        store.link_by_code("Code930002").await.expect("read"),
        None,
        "the unused code was not stored"
    );
    assert_eq!(
        store
            .callback_qr("930001", "kiosk-1", 3_000)
            .await
            .expect("read"),
        Some(updated.qr.clone())
    );

    store
        .put_callback_qr(&callback("930001", "kiosk-2", "Code930003"), 1_500)
        .await
        .expect("second");
    let all = store.callback_qrs("930001", 3_000).await.expect("list");
    let ids: Vec<_> = all.iter().filter_map(|q| q.link.qr_id.as_deref()).collect();
    assert_eq!(ids, ["kiosk-1", "kiosk-2"], "oldest first");
    assert!(
        store
            .merchant_links("930001", LinkKind::Redirect, 3_000)
            .await
            .expect("redirects")
            .is_empty(),
        "callback QRs are not redirect QRs"
    );
    assert_eq!(
        store
            .callback_qr("930009", "kiosk-1", 3_000)
            .await
            .expect("other"),
        None,
        "another merchant does not see them"
    );

    store
        .delete_link("930001", LinkKind::Callback, "kiosk-1", 4_000)
        .await
        .expect("delete")
        .expect("found");
    assert_eq!(
        store
            .callback_qr("930001", "kiosk-1", 5_000)
            .await
            .expect("read"),
        None
    );
    let reborn = store
        .put_callback_qr(&callback("930001", "kiosk-1", "Code930004"), 5_000)
        .await
        .expect("the id is free again");
    assert!(reborn.created);
    assert_eq!(
        reborn.qr.link.code, "Code930004",
        "a new code after deletion"
    );
    assert_eq!(
        conflict(
            store
                .put_callback_qr(&callback("930001", "kiosk-3", "Code930001"), 5_000)
                .await
        ),
        Conflict::Code,
        "a deleted QR's code stays taken"
    );
    assert!(matches!(
        store
            .put_callback_qr(&callback("939999", "x", "Code939999"), 1_000)
            .await,
        Err(StoreError::Missing(_))
    ));
}

async fn scans_enqueue_one_event_per_registered_webhook(store: &dyn Store) {
    store.add_merchant(&merchant("940002")).await.expect("add");
    callback_with_hooks(store, "940001", "till", &["hook-940001-a", "hook-940001-b"]).await;
    let other_event = NewWebhook {
        events: vec!["some.other.v1".into()],
        ..webhook("940001", "hook-940001-c")
    };
    store.add_webhook(&other_event, 25).await.expect("c");
    add_hook(store, "940002", "hook-940002-a").await;

    let recorded = scanned(store, "Code940001", "tok-940001-1", 10_000).await;
    assert_eq!(
        recorded.enqueued, 2,
        "one per webhook registered for the event"
    );
    assert_eq!(recorded.qr.location_description, "Kiosk till");
    for hook in ["hook-940001-a", "hook-940001-b"] {
        let events = store.outbox_events(hook).await.expect("outbox");
        assert_eq!(events.len(), 1, "{hook}");
        let e = &events[0];
        assert_eq!(e.event, "user.checked-in.v1");
        assert_eq!(e.body, r#"{"customerToken":"tok-940001-1"}"#);
        assert_eq!((e.state, e.attempts), (OutboxState::Pending, 0));
        assert_eq!((e.created_at_ms, e.next_attempt_at_ms), (10_000, 10_000));
    }
    for hook in ["hook-940001-c", "hook-940002-a"] {
        assert!(
            store.outbox_events(hook).await.expect("outbox").is_empty(),
            "{hook} is not registered for the event or not the merchant's"
        );
    }
    scanned(store, "Code940001", "tok-940001-2", 11_000).await;
    let seqs: Vec<_> = store
        .outbox_events("hook-940001-a")
        .await
        .expect("outbox")
        .iter()
        .map(|e| (e.seq, e.body.clone()))
        .collect();
    assert_eq!(seqs.len(), 2);
    assert!(
        seqs[0].0 < seqs[1].0,
        "later scans get later sequence numbers"
    );
    assert!(seqs[1].1.contains("tok-940001-2"));
    let stats = store.outbox_stats().await.expect("stats");
    assert!(stats.pending >= 4);
    assert!(
        stats
            .oldest_pending_created_at_ms
            .is_some_and(|t| t <= 10_000)
    );
}

async fn scans_of_dead_codes_write_nothing(store: &dyn Store) {
    store.add_merchant(&merchant("950001")).await.expect("add");
    store
        .add_webhook(&webhook("950001", "hook-950001"), 25)
        .await
        .expect("hook");
    store
        .put_callback_qr(&callback("950001", "gone", "Code950001"), 1_000)
        .await
        .expect("qr");
    create(store, &redirect("950001", "sign", "Code950002")).await;
    store
        .delete_link("950001", LinkKind::Callback, "gone", 2_000)
        .await
        .expect("delete")
        .expect("found");
    for (code, why) in [
        ("Code950001", "deleted"),
        ("Code950002", "not a callback QR"),
        ("Code95000X", "unknown"),
    ] {
        let token = format!("tok-{code}");
        assert_eq!(
            store
                .record_scan(&scan(code, &token, 3_000))
                .await
                .expect("scan"),
            None,
            "{why}"
        );
        assert_eq!(
            store.scan_by_token(&token, 3_000).await.expect("read"),
            None,
            "{why}: no scan stored"
        );
    }
    assert!(
        store
            .outbox_events("hook-950001")
            .await
            .expect("outbox")
            .is_empty()
    );
}

async fn customer_tokens_expire(store: &dyn Store) {
    store.add_merchant(&merchant("960001")).await.expect("add");
    store
        .put_callback_qr(&callback("960001", "door", "Code960001"), 1_000)
        .await
        .expect("qr");
    let recorded = scanned(store, "Code960001", "tok-960001", 10_000).await;
    assert_eq!(
        recorded.enqueued, 0,
        "no webhooks, no events, scan still recorded"
    );
    let s = store
        .scan_by_token("tok-960001", 909_999)
        .await
        .expect("read")
        .expect("valid for 15 minutes");
    assert_eq!(
        (s.code.as_str(), s.msn.as_str(), s.qr_id.as_str()),
        ("Code960001", "960001", "door")
    );
    assert_eq!((s.scanned_at_ms, s.expires_at_ms), (10_000, 910_000));
    assert_eq!(
        store
            .scan_by_token("tok-960001", 910_000)
            .await
            .expect("read"),
        None,
        "expired"
    );
}

async fn webhooks_are_listed_limited_and_deleted(store: &dyn Store) {
    merchants(store, &["970001", "970002"]).await;
    let two_events = NewWebhook {
        events: vec!["user.checked-in.v1".into(), "a.b.v1".into()],
        ..webhook("970001", "hook-970001-0")
    };
    // Three webhooks a merchant per event.
    let add = |w: NewWebhook| async move { store.add_webhook(&w, 3).await };
    let first = add(two_events).await.expect("first");
    assert_eq!(first.events, ["a.b.v1", "user.checked-in.v1"], "sorted");
    assert_eq!(first.url, "https://hooks.example/hook-970001-0");
    for i in 1..3 {
        let id = format!("hook-970001-{i}");
        add(webhook("970001", &id)).await.expect("under the limit");
    }
    assert_eq!(
        conflict(add(webhook("970001", "hook-970001-3")).await),
        Conflict::WebhookLimit
    );
    let other = NewWebhook {
        events: vec!["a.b.v1".into()],
        ..webhook("970001", "hook-970001-4")
    };
    add(other).await.expect("the limit is per event");
    add(webhook("970002", "hook-970002-0"))
        .await
        .expect("the limit is per merchant");
    assert_eq!(
        conflict(add(webhook("970002", "hook-970001-0")).await),
        Conflict::WebhookId
    );
    assert!(matches!(
        add(webhook("979999", "hook-979999")).await,
        Err(StoreError::Missing(_))
    ));

    let listed = store.webhooks("970001").await.expect("list");
    let ids: Vec<_> = listed.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "hook-970001-0",
            "hook-970001-1",
            "hook-970001-2",
            "hook-970001-4"
        ]
    );
    assert_eq!(
        store
            .delete_webhook("970002", "hook-970001-1", 2_000)
            .await
            .expect("delete"),
        None,
        "another merchant cannot delete it"
    );
    let deleted = store
        .delete_webhook("970001", "hook-970001-1", 2_000)
        .await
        .expect("delete")
        .expect("found");
    assert_eq!(deleted.id, "hook-970001-1");
    assert_eq!(
        store
            .delete_webhook("970001", "hook-970001-1", 3_000)
            .await
            .expect("again"),
        None
    );
    assert_eq!(store.webhooks("970001").await.expect("list").len(), 3);
    add(webhook("970001", "hook-970001-5"))
        .await
        .expect("a deleted webhook frees its slot");
}

async fn claims_follow_per_webhook_order_and_leases(store: &dyn Store) {
    callback_with_hooks(store, "980001", "q", &["hook-980001-a"]).await;
    for i in 0..3 {
        scanned(store, "Code980001", &format!("tok-980001-{i}"), 10_000 + i).await;
    }
    add_hook(store, "980001", "hook-980001-b").await;
    scanned(store, "Code980001", "tok-980001-3", 10_003).await;

    assert!(
        claim(store, 9_999, "hook-980001").await.is_empty(),
        "nothing is due before it was created"
    );
    let first = claim(store, 20_000, "hook-980001").await;
    assert_eq!(first.len(), 2, "one head per webhook: {first:?}");
    let a = first
        .iter()
        .find(|d| d.webhook_id == "hook-980001-a")
        .expect("a's head");
    assert!(a.body.contains("tok-980001-0"), "the oldest event first");
    assert_eq!(
        (a.attempts, a.url.as_str()),
        (0, "https://hooks.example/hook-980001-a")
    );
    assert_eq!(a.secret, "secret-hook-980001-a");
    let b = first
        .iter()
        .find(|d| d.webhook_id == "hook-980001-b")
        .expect("b's head");
    assert!(
        b.body.contains("tok-980001-3"),
        "b only gets scans after it registered"
    );

    assert!(
        claim(store, 20_000, "hook-980001").await.is_empty(),
        "leased heads are not claimed twice, and their successors wait"
    );
    let after_lease = claim(store, 50_000, "hook-980001").await;
    assert_eq!(
        after_lease.len(),
        2,
        "a lapsed lease frees the event (crashed worker)"
    );
    let a2 = after_lease
        .iter()
        .find(|d| d.webhook_id == "hook-980001-a")
        .expect("a again");
    assert_eq!(a2.id, a.id, "the same head, not its successor");
    assert!(
        !finish(store, a, &DeliveryResult::Delivered, 50_001).await,
        "the stale claim is refused"
    );
    assert!(
        finish(store, a2, &DeliveryResult::Delivered, 50_001).await,
        "the current claim counts"
    );
    let next = claim(store, 50_002, "hook-980001").await;
    assert_eq!(next.len(), 1, "a's next event; b's head is still leased");
    assert!(next[0].body.contains("tok-980001-1"), "in order");
}

/// Merchant `msn` with callback QR `qr_id` (code `Code{msn}`, created at 1 000) and the
/// webhooks `hooks`.
async fn callback_with_hooks(store: &dyn Store, msn: &str, qr_id: &str, hooks: &[&str]) {
    store.add_merchant(&merchant(msn)).await.expect("add");
    let qr = callback(msn, qr_id, &format!("Code{msn}"));
    store.put_callback_qr(&qr, 1_000).await.expect("qr");
    for id in hooks {
        add_hook(store, msn, id).await;
    }
}

/// Registers webhook `id` of `msn` (25 a merchant per event allowed).
async fn add_hook(store: &dyn Store, msn: &str, id: &str) {
    store
        .add_webhook(&webhook(msn, id), 25)
        .await
        .expect("webhook");
}

/// What a claim at `now_ms` (30 s leases) hands out for the webhooks whose ids start with
/// `prefix`: the cases share one store, and other cases' events may be due too.
async fn claim(store: &dyn Store, now_ms: i64, prefix: &str) -> Vec<Delivery> {
    store
        .claim_deliveries(now_ms, 30_000, 1000)
        .await
        .expect("claim")
        .into_iter()
        .filter(|d| d.webhook_id.starts_with(prefix))
        .collect()
}

/// Records `result` for the claimed `d` at `now_ms`: whether the store took it.
async fn finish(store: &dyn Store, d: &Delivery, result: &DeliveryResult, now_ms: i64) -> bool {
    store
        .finish_delivery(d, result, now_ms)
        .await
        .expect("finish")
}

/// A scan of the live callback QR `code`.
async fn scanned(store: &dyn Store, code: &str, token: &str, at_ms: i64) -> ScanRecorded {
    store
        .record_scan(&scan(code, token, at_ms))
        .await
        .expect("scan")
        .expect("live QR")
}

/// Merchant `msn` with callback QR `Code{msn}`, webhook `hook-{msn}`, and two scans at 10 000
/// (customer tokens `tok-{msn}-0`, `tok-{msn}-1`).
async fn two_scans_for_one_webhook(store: &dyn Store, msn: &str) {
    callback_with_hooks(store, msn, "q", &[&format!("hook-{msn}")]).await;
    let code = format!("Code{msn}");
    for i in 0..2 {
        scanned(store, &code, &format!("tok-{msn}-{i}"), 10_000).await;
    }
}

async fn finished_deliveries_record_their_outcome(store: &dyn Store) {
    two_scans_for_one_webhook(store, "990001").await;
    let head = |now: i64| async move { claim(store, now, "hook-990001").await.pop() };
    let d = head(10_000).await.expect("due");
    let retry = DeliveryResult::Retry {
        next_attempt_at_ms: 15_000,
        error: "HTTP 500".into(),
    };
    assert!(finish(store, &d, &retry, 10_100).await);
    assert!(
        head(14_999).await.is_none(),
        "not before its retry time, nor its successor"
    );
    let d = head(15_000).await.expect("due again");
    assert_eq!(d.attempts, 1);
    let failed = DeliveryResult::Failed {
        error: "gave up".into(),
    };
    assert!(finish(store, &d, &failed, 15_100).await);
    let d2 = head(15_200)
        .await
        .expect("the next event goes once the head is given up");
    assert!(d2.body.contains("tok-990001-1"));
    assert!(finish(store, &d2, &DeliveryResult::Delivered, 15_300).await);
    let events = store.outbox_events("hook-990001").await.expect("outbox");
    assert_eq!(events[0].state, OutboxState::Failed);
    assert_eq!(events[0].attempts, 2);
    assert_eq!(events[0].last_error.as_deref(), Some("gave up"));
    assert_eq!(events[0].finished_at_ms, Some(15_100));
    assert_eq!(events[1].state, OutboxState::Delivered);
    assert_eq!(
        (events[1].attempts, events[1].finished_at_ms),
        (1, Some(15_300))
    );
    assert!(
        !finish(store, &d2, &DeliveryResult::Delivered, 15_400).await,
        "a finished event is not finished twice"
    );
    assert!(head(1_000_000).await.is_none(), "nothing left");
}

async fn deleted_webhooks_get_nothing_more(store: &dyn Store) {
    two_scans_for_one_webhook(store, "990101").await;
    let in_flight = claim(store, 10_000, "hook-990101")
        .await
        .pop()
        .expect("head");
    store
        .delete_webhook("990101", "hook-990101", 10_050)
        .await
        .expect("delete")
        .expect("found");
    assert!(
        !finish(store, &in_flight, &DeliveryResult::Delivered, 10_100).await,
        "an attempt in flight at deletion is not recorded as delivered"
    );
    let events = store.outbox_events("hook-990101").await.expect("outbox");
    assert!(
        events.iter().all(|e| e.state == OutboxState::Dropped),
        "{events:?}"
    );
    assert!(claim(store, 10_000_000, "hook-990101").await.is_empty());
    let recorded = scanned(store, "Code990101", "tok-990101-9", 20_000).await;
    assert_eq!(recorded.enqueued, 0, "a deleted webhook gets no new events");
}

async fn finished_events_are_pruned_pending_ones_kept(store: &dyn Store) {
    two_scans_for_one_webhook(store, "990201").await;
    let d = claim(store, 10_000, "hook-990201")
        .await
        .pop()
        .expect("head");
    assert!(finish(store, &d, &DeliveryResult::Delivered, 20_000).await);
    store.prune_outbox(20_000).await.expect("prune");
    assert_eq!(
        store
            .outbox_events("hook-990201")
            .await
            .expect("outbox")
            .len(),
        2,
        "finished at the cut-off: kept"
    );
    assert!(store.prune_outbox(20_001).await.expect("prune") >= 1);
    let left = store.outbox_events("hook-990201").await.expect("outbox");
    assert_eq!(left.len(), 1, "the delivered event is gone");
    assert_eq!(left[0].state, OutboxState::Pending, "the pending one stays");
    assert!(left[0].body.contains("tok-990201-1"));
    store
        .prune_outbox(i64::MAX)
        .await
        .expect("prune everything finished");
    assert_eq!(
        store
            .outbox_events("hook-990201")
            .await
            .expect("outbox")
            .len(),
        1,
        "pending events are never pruned"
    );
    assert_eq!(
        store.scan_by_token("tok-990201-0", 0).await.expect("read"),
        None,
        "expired scans are forgotten"
    );
}

async fn logos_are_stored_once_per_merchant_listed_and_deleted(store: &dyn Store) {
    merchants(store, &["881001", "881002"]).await;
    let a = logo("881001", 1);
    assert!(store.add_logo(&a, 3).await.expect("first upload"));
    assert!(
        !store.add_logo(&a, 3).await.expect("same bytes again"),
        "a repeated upload stores nothing new"
    );
    let svg = NewLogo {
        format: LogoFormat::Svg,
        ..logo("881001", 2)
    };
    assert!(store.add_logo(&svg, 3).await.expect("second"));
    assert!(store.add_logo(&logo("881001", 3), 3).await.expect("third"));
    assert_eq!(
        conflict(store.add_logo(&logo("881001", 4), 3).await),
        Conflict::LogoLimit
    );
    assert!(
        !store.add_logo(&a, 3).await.expect("at the limit"),
        "a repeat at the limit is still just a repeat"
    );
    assert!(matches!(
        store.add_logo(&logo("889999", 1), 3).await,
        Err(StoreError::Missing(_))
    ));
    // The same bytes from another merchant: that merchant's own copy.
    let b = logo("881002", 1);
    assert!(store.add_logo(&b, 3).await.expect("other merchant"));

    let listed = store.merchant_logos("881001").await.expect("list");
    let ids: Vec<_> = listed.iter().map(|l| l.id.clone()).collect();
    assert_eq!(ids, [a.id.clone(), svg.id.clone(), logo("881001", 3).id]);
    assert_eq!(listed[0].len, a.bytes.len() as u64);
    assert_eq!((listed[0].width, listed[0].height), (a.width, a.height));
    assert_eq!(listed[0].format, LogoFormat::Png);
    assert_eq!(listed[1].format, LogoFormat::Svg);
    assert_eq!(listed[0].msn, "881001");
    assert_eq!(listed[0].created_at_ms, a.created_at_ms);
    assert_eq!(
        store.merchant_logo("881001", &svg.id).await.expect("one"),
        Some(listed[1].clone())
    );
    assert_eq!(
        store.merchant_logo("881002", &svg.id).await.expect("one"),
        None,
        "not another merchant's"
    );
    assert_eq!(
        store.logo(&svg.id).await.expect("by id"),
        Some(LogoData {
            id: svg.id.clone(),
            format: LogoFormat::Svg,
            bytes: svg.bytes.clone(),
        })
    );
    assert_eq!(store.logo(&"ff".repeat(32)).await.expect("by id"), None);

    assert!(
        !store
            .delete_logo("881002", &svg.id, 10_000)
            .await
            .expect("delete"),
        "another merchant cannot delete it"
    );
    assert!(
        store
            .delete_logo("881001", &a.id, 10_000)
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_logo("881001", &a.id, 10_000)
            .await
            .expect("again")
    );
    assert_eq!(
        store.merchant_logo("881001", &a.id).await.expect("one"),
        None
    );
    assert_eq!(
        store.logo(&a.id).await.expect("by id").map(|l| l.bytes),
        Some(b.bytes.clone()),
        "the other merchant's copy stays"
    );
    assert!(
        store
            .delete_logo("881002", &b.id, 10_000)
            .await
            .expect("delete")
    );
    assert_eq!(store.logo(&a.id).await.expect("by id"), None);
    assert!(
        store.add_logo(&logo("881001", 4), 3).await.expect("freed"),
        "a deleted logo frees its slot"
    );
}

async fn default_styles_name_only_the_merchants_own_logos(store: &dyn Store) {
    let (own, theirs) = own_and_theirs(store, "882001", "882002", 7).await;
    assert_eq!(store.default_style("882001").await.expect("none"), None);

    let plain = default_style("882001", None);
    store.put_default_style(&plain).await.expect("put");
    assert_eq!(
        store.default_style("882001").await.expect("get"),
        Some(plain)
    );
    let with_logo = DefaultStyle {
        updated_at_ms: 6_000,
        ..default_style("882001", Some(&own.id))
    };
    store.put_default_style(&with_logo).await.expect("replace");
    assert_eq!(
        store.default_style("882001").await.expect("get"),
        Some(with_logo.clone())
    );
    assert_eq!(store.default_style("882002").await.expect("get"), None);

    for bad in [
        default_style("882001", Some(&theirs.id)),
        default_style("882001", Some(&"ab".repeat(32))),
        default_style("889998", None),
    ] {
        assert!(
            matches!(
                store.put_default_style(&bad).await,
                Err(StoreError::Missing(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        store.default_style("882001").await.expect("get"),
        Some(with_logo),
        "a refused style changes nothing"
    );

    assert_eq!(
        conflict(store.delete_logo("882001", &own.id, 10_000).await),
        Conflict::LogoInUse
    );
    assert!(
        store
            .merchant_logo("882001", &own.id)
            .await
            .expect("get")
            .is_some(),
        "a logo in use stays"
    );
    assert!(store.delete_default_style("882001").await.expect("delete"));
    assert!(!store.delete_default_style("882001").await.expect("again"));
    assert_eq!(store.default_style("882001").await.expect("get"), None);
    assert!(
        store
            .delete_logo("882001", &own.id, 10_000)
            .await
            .expect("delete"),
        "free once the style is gone"
    );
}

/// Merchants `own_msn` and `their_msn`, each with one logo (numbers `n` and `n + 1`).
async fn own_and_theirs(
    store: &dyn Store,
    own_msn: &str,
    their_msn: &str,
    n: u8,
) -> (NewLogo, NewLogo) {
    let pair = (logo(own_msn, n), logo(their_msn, n + 1));
    for (msn, l) in [(own_msn, &pair.0), (their_msn, &pair.1)] {
        store.add_merchant(&merchant(msn)).await.expect("add");
        store.add_logo(l, 10).await.expect("add");
    }
    pair
}

async fn qr_styles_are_stored_changed_and_hold_their_logo(store: &dyn Store) {
    let (own, theirs) = own_and_theirs(store, "883001", "883002", 11).await;
    let now = 2_000;

    let styled = qr_style("dots", Some(&own.id));
    let created = store
        .create_link(
            &NewLink {
                style: Some(styled.clone()),
                ..redirect("883001", "poster", "StyLe00001")
            },
            now,
        )
        .await
        .expect("create with a style");
    assert_eq!(created.style, Some(styled.clone()));
    let read = |qr_id: &'static str| async move {
        store
            .merchant_link("883001", LinkKind::Redirect, qr_id, now)
            .await
            .expect("get")
            .expect("live")
    };
    assert_eq!(read("poster").await.style, Some(styled.clone()), "stored");
    assert_eq!(
        store
            .link_by_code("StyLe00001")
            .await
            .expect("by code")
            .map(|l| l.style),
        Some(Some(styled.clone()))
    );
    store
        .create_link(&redirect("883001", "plain", "StyLe00002"), now)
        .await
        .expect("create without");
    let listed = store
        .merchant_links("883001", LinkKind::Redirect, now)
        .await
        .expect("list");
    let styles: Vec<_> = listed.iter().map(|l| l.style.clone()).collect();
    assert_eq!(
        styles,
        [Some(styled.clone()), None],
        "a list carries each QR's own"
    );

    // Only the merchant's own logos, and nothing written when refused.
    for bad in [
        qr_style("dots", Some(&theirs.id)),
        qr_style("dots", Some(&"cd".repeat(32))),
    ] {
        let new = NewLink {
            style: Some(bad.clone()),
            ..redirect("883001", "refused", "StyLe00003")
        };
        assert!(
            matches!(
                store.create_link(&new, now).await,
                Err(StoreError::Missing(_))
            ),
            "{bad:?}"
        );
        assert_eq!(
            store
                .merchant_link("883001", LinkKind::Redirect, "refused", now)
                .await
                .expect("get"),
            None
        );
        assert!(
            matches!(
                store
                    .set_link_target(
                        "883001",
                        LinkKind::Redirect,
                        "poster",
                        "https://example.com/refused",
                        &StyleChange::Set(bad),
                        now,
                    )
                    .await,
                Err(StoreError::Missing(_))
            ),
            "an update naming another merchant's logo"
        );
    }
    let poster = read("poster").await;
    assert_eq!(
        (poster.style, poster.target.as_deref()),
        (Some(styled.clone()), Some("https://example.com/StyLe00001")),
        "a refused update changes nothing"
    );

    // An update keeps, replaces or clears the stored style, with the target in one write.
    let update = |qr_id: &'static str, change: StyleChange| async move {
        store
            .set_link_target(
                "883001",
                LinkKind::Redirect,
                qr_id,
                "https://example.com/moved",
                &change,
                now,
            )
            .await
            .expect("update")
            .expect("live")
    };
    let kept = update("poster", StyleChange::Keep).await;
    assert_eq!(kept.style, Some(styled.clone()));
    assert_eq!(read("poster").await.style, Some(styled.clone()), "kept");
    let rounded = qr_style("rounded", None);
    let replaced = update("plain", StyleChange::Set(rounded.clone())).await;
    assert_eq!(replaced.style, Some(rounded.clone()));
    assert_eq!(read("plain").await.style, Some(rounded), "replaced");
    assert_eq!(update("plain", StyleChange::Clear).await.style, None);
    assert_eq!(read("plain").await.style, None, "cleared");

    // A logo a live QR's style names stays until the QR lets go of it or dies.
    assert_eq!(
        conflict(store.delete_logo("883001", &own.id, now).await),
        Conflict::LogoOnQr
    );
    assert!(
        store
            .merchant_logo("883001", &own.id)
            .await
            .expect("get")
            .is_some()
    );
    store
        .delete_link("883001", LinkKind::Redirect, "poster", now)
        .await
        .expect("delete")
        .expect("live");
    // An expiring QR holds it only while it lives.
    store
        .create_link(
            &NewLink {
                style: Some(styled.clone()),
                expires_at_ms: Some(now + 1_000),
                ..redirect("883001", "short-lived", "StyLe00004")
            },
            now,
        )
        .await
        .expect("create");
    assert_eq!(
        conflict(store.delete_logo("883001", &own.id, now).await),
        Conflict::LogoOnQr
    );
    assert!(
        store
            .delete_logo("883001", &own.id, now + 1_000)
            .await
            .expect("delete"),
        "free once no live QR names it"
    );
    assert!(
        store
            .merchant_logo("883002", &theirs.id)
            .await
            .expect("get")
            .is_some(),
        "another merchant's logo is untouched"
    );
}

async fn callback_qr_styles_are_stored_and_changed(store: &dyn Store) {
    let (own, theirs) = own_and_theirs(store, "884001", "884002", 13).await;
    let now = 2_000;
    let styled = qr_style("dots", Some(&own.id));
    let put = |change: StyleChange, description: &'static str| {
        let new = NewCallbackQr {
            style: change,
            location_description: description.to_owned(),
            ..callback("884001", "kiosk", "CbStyle001")
        };
        async move { store.put_callback_qr(&new, now).await }
    };
    let created = put(StyleChange::Set(styled.clone()), "Kiosk 1")
        .await
        .expect("create with a style");
    assert!(created.created);
    assert_eq!(created.qr.link.style, Some(styled.clone()));
    assert_eq!(created.qr.location_description, "Kiosk 1");
    let read = || async {
        store
            .callback_qr("884001", "kiosk", now)
            .await
            .expect("get")
            .expect("live")
    };
    let got = read().await;
    assert_eq!(
        (got.link.style.clone(), got.location_description.as_str()),
        (Some(styled.clone()), "Kiosk 1"),
        "the style and the description each in their column"
    );

    let kept = put(StyleChange::Keep, "Kiosk 2").await.expect("update");
    assert!(!kept.created);
    assert_eq!(kept.qr.link.style, Some(styled.clone()));
    assert_eq!(read().await.link.style, Some(styled.clone()), "kept");
    assert!(
        matches!(
            put(
                StyleChange::Set(qr_style("dots", Some(&theirs.id))),
                "Kiosk 3"
            )
            .await,
            Err(StoreError::Missing(_))
        ),
        "another merchant's logo"
    );
    let got = read().await;
    assert_eq!(
        (got.link.style, got.location_description.as_str()),
        (Some(styled.clone()), "Kiosk 2"),
        "a refused update changes nothing"
    );
    assert_eq!(
        conflict(store.delete_logo("884001", &own.id, now).await),
        Conflict::LogoOnQr
    );
    let rounded = qr_style("rounded", None);
    let replaced = put(StyleChange::Set(rounded.clone()), "Kiosk 4")
        .await
        .expect("replace");
    assert_eq!(replaced.qr.link.style, Some(rounded.clone()));
    let listed = store.callback_qrs("884001", now).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|q| (q.link.style.clone(), q.location_description.clone()))
            .collect::<Vec<_>>(),
        [(Some(rounded), "Kiosk 4".to_owned())]
    );
    let cleared = put(StyleChange::Clear, "Kiosk 5").await.expect("clear");
    assert_eq!(cleared.qr.link.style, None);
    assert_eq!(read().await.link.style, None, "cleared");
    assert!(
        store
            .delete_logo("884001", &own.id, now)
            .await
            .expect("delete"),
        "free once the QR lets go of it"
    );
    // A scan of a styled QR reads the row as it always did.
    put(StyleChange::Set(qr_style("dots", None)), "Kiosk 6")
        .await
        .expect("restyle");
    let recorded = scanned(store, "CbStyle001", "tok-style", now).await;
    assert_eq!(recorded.qr.location_description, "Kiosk 6");
    assert_eq!(recorded.qr.link.style, Some(qr_style("dots", None)));
}

/// Scan analytics (migration 0006): additive hours, visitors credited to the hour they are new
/// in, one shared key per day, folding past retention, and nothing kept for a deleted QR.
async fn scan_counts_add_up_fold_and_go_with_their_qr(store: &dyn Store) {
    use crate::store::scans::{DAY_MS, DayVisitors, HOUR_MS, HourScans, ScanBatch, ScanCounts};
    store.add_merchant(&merchant("820001")).await.expect("add");
    store
        .create_link(&redirect("820001", "poster", "Scan820001"), 1_000)
        .await
        .expect("create");
    let day = 20_000 * DAY_MS;
    let (h1, h2) = (day + 9 * HOUR_MS, day + 17 * HOUR_MS);

    // One key per day, whoever asks first.
    let key = store.scan_key(day, [1; 16]).await.expect("key");
    assert_eq!(key, [1; 16]);
    assert_eq!(store.scan_key(day, [2; 16]).await.expect("key"), [1; 16]);

    let hour = |code: &str, h: i64, ios: u64, bots: u64| HourScans {
        code: code.to_owned(),
        hour_ms: h,
        counts: ScanCounts {
            ios,
            bots,
            ..ScanCounts::default()
        },
    };
    let first = ScanBatch {
        hours: vec![hour("Scan820001", h1, 2, 1), hour("Unknown999", h1, 5, 0)],
        visitors: vec![DayVisitors {
            code: "Scan820001".to_owned(),
            day_ms: day,
            seen: vec![(11, h1), (12, h1)],
        }],
    };
    // A second instance's flush: visitor 12 again (not new), 13 new at h2.
    let second = ScanBatch {
        hours: vec![hour("Scan820001", h1, 1, 0), hour("Scan820001", h2, 1, 0)],
        visitors: vec![DayVisitors {
            code: "Scan820001".to_owned(),
            day_ms: day,
            seen: vec![(12, h2), (13, h2)],
        }],
    };
    store.add_scans(&first).await.expect("first flush");
    store.add_scans(&second).await.expect("second flush");
    let rows = store
        .scan_counts("Scan820001", day, day + DAY_MS)
        .await
        .expect("read");
    let c = |ios, bots, visitors| ScanCounts {
        ios,
        bots,
        visitors,
        ..ScanCounts::default()
    };
    assert_eq!(rows, vec![(h1, c(3, 1, 2)), (h2, c(1, 0, 1))], "additive");
    assert!(
        store
            .scan_counts("Unknown999", 0, i64::MAX)
            .await
            .expect("read")
            .is_empty(),
        "a code without a live link is not counted"
    );
    assert!(
        store
            .scan_counts("Scan820001", h2 + HOUR_MS, day + DAY_MS)
            .await
            .expect("read")
            .is_empty(),
        "the range is honoured"
    );

    // Many visitors: past the exact set, within 2 %.
    // Well-mixed like the keyed hashes the counter makes (SplitMix64's finaliser).
    let mix = |i: u64| {
        let mut z = i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let many: Vec<(u64, i64)> = (100..5_100u64).map(|i| (mix(i), h2)).collect();
    let flood = ScanBatch {
        hours: vec![],
        visitors: vec![DayVisitors {
            code: "Scan820001".to_owned(),
            day_ms: day,
            seen: many,
        }],
    };
    store.add_scans(&flood).await.expect("flood");
    let rows = store
        .scan_counts("Scan820001", h2, h2 + HOUR_MS)
        .await
        .expect("read");
    let visitors = rows[0].1.visitors as f64;
    assert!(
        (visitors - 5_001.0).abs() / 5_001.0 <= 0.02,
        "sketch estimate {visitors}"
    );

    // A day later: the key and visitor sets are gone, hours past retention fold into the day.
    store
        .prune_scans(day + DAY_MS, day + DAY_MS)
        .await
        .expect("prune");
    assert_eq!(
        store.scan_key(day, [3; 16]).await.expect("key"),
        [3; 16],
        "the old key was deleted"
    );
    let rows = store
        .scan_counts("Scan820001", day, day + DAY_MS)
        .await
        .expect("read");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, day);
    assert_eq!(rows[0].1.ios, 4);
    assert_eq!(rows[0].1.bots, 1);

    // Deleted: counts go, and a late flush brings nothing back.
    store
        .delete_link("820001", LinkKind::Redirect, "poster", 2_000)
        .await
        .expect("delete")
        .expect("found");
    store
        .delete_scans("Scan820001")
        .await
        .expect("delete scans");
    store.add_scans(&second).await.expect("late flush");
    assert!(
        store
            .scan_counts("Scan820001", 0, i64::MAX)
            .await
            .expect("read")
            .is_empty()
    );
    // The id reused: a new code, starting at zero.
    store
        .create_link(&redirect("820001", "poster", "Scan820002"), 3_000)
        .await
        .expect("reuse");
    assert!(
        store
            .scan_counts("Scan820002", 0, i64::MAX)
            .await
            .expect("read")
            .is_empty()
    );
}
