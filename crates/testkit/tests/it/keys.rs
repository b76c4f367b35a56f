//! Keys and secrets (issue #6, items 5 and 7): a sealed secret opens only in its owner's row,
//! rows sealed in the old unbound format are re-sealed at start and keep working, a rotation
//! never weakens a merchant's sign type unless told to, and a notification that cannot be
//! signed is a failed attempt, never an unsigned POST.

use crate::support::{assert_raw_error, count_rows, create_fields, unpaid_order, yuan};
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::{App, AppError, AppSettings, Downgrade, RotateKeyInput, SystemClock};
use paygate_client::{paths, CreateOrder};
use paygate_domain::secret::SealFormat;
use paygate_domain::sign::SignType;
use paygate_domain::{MerchantId, OutTradeNo};
use paygate_store::{Store, StoreOptions};
use paygate_testkit::{
    both_databases, client_for, create_merchant, spawn_app, spawn_app_with, DbBackend,
    MerchantServer, TestApp, TestOptions,
};
use std::sync::Arc;

async fn sealed_secret_of(t: &TestApp, id: &MerchantId) -> String {
    t.store()
        .get_merchant(id)
        .await
        .expect("read merchant")
        .expect("merchant exists")
        .secret_sealed
}

async fn set_sealed_secret(t: &TestApp, id: &MerchantId, sealed: &str) {
    sqlx::query("UPDATE merchants SET secret_sealed = $1 WHERE id = $2")
        .bind(sealed)
        .bind(id.as_str())
        .execute(t.store().pool())
        .await
        .expect("rewrite secret");
}

/// A second process starting over the test app's database with the same master key.
async fn start_another_process(t: &TestApp) -> App {
    let store = Store::connect(&t.db.url, &StoreOptions::default())
        .await
        .expect("connect");
    App::new(
        store,
        t.master_key.clone(),
        AppSettings::default(),
        Arc::new(SystemClock),
    )
    .await
    .expect("start")
}

async fn a_secret_copied_to_another_merchant_does_not_open(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let other = create_merchant(&t.app, SignType::Md5).await;
    let stolen = sealed_secret_of(&t, &other.id).await;
    set_sealed_secret(&t, t.merchant_id(), &stolen).await;

    // Neither the merchant's own secret nor the one whose sealed value was copied opens it.
    let own = t
        .client
        .call_raw(paths::CREATE, create_fields("COPIED-1", "1.00"))
        .await
        .expect("an answer");
    assert_eq!(assert_raw_error(&own, "1006"), 503);
    let impostor = paygate_app::CreatedMerchant {
        id: t.merchant_id().clone(),
        ..other.clone()
    };
    let forged = client_for(&t.base_url, &impostor)
        .call_raw(paths::CREATE, create_fields("COPIED-2", "1.00"))
        .await
        .expect("an answer");
    assert_eq!(assert_raw_error(&forged, "1006"), 503);
    assert!(forged.1.get("sign").is_none(), "nothing is signed with it");
    assert!(matches!(
        t.app.merchant_keys(t.merchant_id()).await,
        Err(AppError::Internal(_))
    ));
    assert_eq!(count_rows(&t, "orders").await, 0);

    // The owner of the copied value is untouched.
    let order = client_for(&t.base_url, &other)
        .create_order(&unpaid_order("OWNER-1", "1.00"))
        .await
        .expect("the rightful owner still signs");
    assert_eq!(order.out_trade_no.as_str(), "OWNER-1");
    t.stop().await;
}
both_databases!(a_secret_copied_to_another_merchant_does_not_open);

async fn old_format_secrets_are_resealed_at_start_and_keep_working(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let id = t.merchant_id().clone();
    let key = t.master_key.clone();
    set_sealed_secret(
        &t,
        &id,
        &key.seal_unbound_for_tests(t.merchant.secret.expose()),
    )
    .await;
    let platform = t
        .store()
        .platform_secrets()
        .await
        .expect("platform secrets");
    assert_eq!(platform.len(), 1);
    let (name, sealed) = &platform[0];
    let old_platform = key.seal_unbound_for_tests(&key.unseal(sealed, name).unwrap());
    assert!(t
        .store()
        .reseal_platform_secret(name, sealed, &old_platform)
        .await
        .unwrap());
    assert!(
        t.app.merchant_keys(&id).await.is_err(),
        "an old-format row does not open until a start re-seals it"
    );

    // Two processes start at once; each row is re-sealed once and both open the same keys.
    let (a, b) = tokio::join!(start_another_process(&t), start_another_process(&t));
    assert_eq!(a.platform_public_key(), t.app.platform_public_key());
    assert_eq!(b.platform_public_key(), t.app.platform_public_key());
    let resealed = sealed_secret_of(&t, &id).await;
    assert_eq!(SealFormat::of(&resealed), SealFormat::Bound);
    assert_eq!(
        key.unseal(&resealed, id.as_str()).unwrap(),
        t.merchant.secret.expose()
    );
    let platform = t.store().platform_secrets().await.unwrap();
    assert_eq!(SealFormat::of(&platform[0].1), SealFormat::Bound);

    // The merchant's requests work again, and a further start changes nothing.
    let order = t
        .client
        .create_order(&unpaid_order("RESEALED-1", "1.00"))
        .await
        .expect("the re-sealed secret opens");
    assert_eq!(order.out_trade_no.as_str(), "RESEALED-1");
    start_another_process(&t).await;
    assert_eq!(sealed_secret_of(&t, &id).await, resealed);
    assert_eq!(t.store().platform_secrets().await.unwrap(), platform);
    t.stop().await;
}
both_databases!(old_format_secrets_are_resealed_at_start_and_keep_working);

fn rotation(sign_type: Option<SignType>, downgrade: Downgrade) -> RotateKeyInput {
    RotateKeyInput {
        sign_type,
        rsa_public_key: None,
        downgrade,
    }
}

async fn stored_sign_type(t: &TestApp) -> SignType {
    t.app
        .get_merchant(t.merchant_id())
        .await
        .unwrap()
        .unwrap()
        .sign_type
}

async fn rotation_keeps_the_sign_type_and_refuses_a_silent_downgrade(backend: DbBackend) {
    let t = spawn_app_with(
        backend,
        TestOptions {
            sign_type: SignType::Rsa2,
            ..TestOptions::default()
        },
    )
    .await;
    let id = t.merchant_id().clone();
    let kept = t
        .app
        .rotate_merchant_key(&id, rotation(None, Downgrade::Refuse))
        .await
        .expect("rotate");
    assert_eq!(kept.sign_type, SignType::Rsa2);
    assert!(kept.rsa_private_key.is_some(), "a new RSA pair is issued");
    assert_eq!(stored_sign_type(&t).await, SignType::Rsa2);

    for weaker in [SignType::Md5, SignType::HmacSha256] {
        let sealed_before = sealed_secret_of(&t, &id).await;
        match t
            .app
            .rotate_merchant_key(&id, rotation(Some(weaker), Downgrade::Refuse))
            .await
        {
            Err(AppError::Param { field, reason }) => {
                assert_eq!(field, "sign_type");
                assert!(reason.contains("--allow-downgrade"), "{reason}");
            }
            other => panic!("RSA2 -> {weaker} must be refused, got {other:?}"),
        }
        assert_eq!(stored_sign_type(&t).await, SignType::Rsa2);
        assert_eq!(
            sealed_secret_of(&t, &id).await,
            sealed_before,
            "nothing written"
        );
    }

    let hmac = t
        .app
        .rotate_merchant_key(&id, rotation(Some(SignType::HmacSha256), Downgrade::Allow))
        .await
        .expect("an explicit downgrade is allowed");
    assert_eq!(hmac.sign_type, SignType::HmacSha256);
    assert_eq!(stored_sign_type(&t).await, SignType::HmacSha256);
    let md5 = t
        .app
        .rotate_merchant_key(&id, rotation(Some(SignType::Md5), Downgrade::Refuse))
        .await;
    assert!(matches!(md5, Err(AppError::Param { .. })), "{md5:?}");
    let upgraded = t
        .app
        .rotate_merchant_key(&id, rotation(Some(SignType::Rsa2), Downgrade::Refuse))
        .await
        .expect("an upgrade needs no permission");
    assert_eq!(upgraded.sign_type, SignType::Rsa2);

    // The rotated keys sign requests.
    let order = client_for(&t.base_url, &upgraded)
        .create_order(&unpaid_order("ROTATED-1", "1.00"))
        .await
        .expect("the new RSA2 key signs");
    assert_eq!(order.out_trade_no.as_str(), "ROTATED-1");
    t.stop().await;
}
both_databases!(rotation_keeps_the_sign_type_and_refuses_a_silent_downgrade);

async fn a_notification_that_cannot_be_signed_is_a_failed_attempt_not_an_unsigned_post(
    backend: DbBackend,
) {
    let t = spawn_app(backend).await;
    let merchant = MerchantServer::start().await;
    t.fund_wallet("alice", "50.00").await;
    let mut create = CreateOrder::new(
        OutTradeNo::parse("UNSIGNABLE-1").unwrap(),
        yuan("5.00"),
        "tea",
        merchant.url.as_str(),
    );
    create.auth_code = Some(t.pay_code("alice").await.into());
    let order = t.client.create_order(&create).await.expect("paid order");
    let notification = t
        .store()
        .notifications_for_trade(&order.trade_no)
        .await
        .unwrap()
        .remove(0);
    // A nested value has no string-to-sign: signing this payload fails.
    sqlx::query("UPDATE notifications SET payload = $1 WHERE id = $2")
        .bind(r#"{"trade_no": "x", "nested": {"not": "flat"}}"#)
        .bind(notification.id)
        .execute(t.store().pool())
        .await
        .unwrap();

    let notifier = Notifier::new(t.app.clone(), NotifierSettings::default()).unwrap();
    notifier.try_step().await.expect("step");
    assert_eq!(merchant.received().len(), 0, "nothing unsigned was sent");
    let attempts = t
        .store()
        .notification_attempts(notification.id)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "signing failed");
    assert_eq!(attempts[0].http_status, None);
    let after = t
        .store()
        .get_notification(notification.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.status.as_str(), "PENDING", "retried later");
    assert_eq!(after.attempts, 1);
    t.stop().await;
}
both_databases!(a_notification_that_cannot_be_signed_is_a_failed_attempt_not_an_unsigned_post);
