//! The tests' merchants and the clients signed as them.

use paygate_app::{App, CreatedMerchant, NewMerchantInput};
use paygate_client::Client;
use paygate_domain::address::PrivateTargets;
use paygate_domain::sign::{SignKey, SignType, VerifyKey};
use paygate_domain::PayType;

/// The tests' merchant: its notify endpoint is a `MerchantServer` on loopback, so it is allowed
/// private addresses (as the demo merchant is).
pub async fn create_merchant(app: &App, sign_type: SignType) -> CreatedMerchant {
    create_merchant_with(app, sign_type, PrivateTargets::Allowed).await
}

/// A merchant as production creates it by default when `private_targets` is `Refused`.
pub async fn create_merchant_with(
    app: &App,
    sign_type: SignType,
    private_targets: PrivateTargets,
) -> CreatedMerchant {
    app.create_merchant(NewMerchantInput {
        id: None,
        name: "Test shop".into(),
        sign_type,
        rsa_public_key: None,
        // Every pay type: those no channel serves in a test still answer 1008.
        pay_types: PayType::ALL.to_vec(),
        notify_delays_secs: None,
        private_targets,
    })
    .await
    .expect("create merchant")
}

/// The key a merchant signs its requests with.
pub fn sign_key_of(merchant: &CreatedMerchant) -> SignKey {
    match merchant.sign_type {
        SignType::Md5 => SignKey::Md5(merchant.secret.clone()),
        SignType::HmacSha256 => SignKey::HmacSha256(merchant.secret.clone()),
        SignType::Rsa2 => SignKey::Rsa2(
            paygate_domain::sign::RsaPrivateKey::from_text(
                merchant
                    .rsa_private_key
                    .as_deref()
                    .expect("generated RSA key"),
            )
            .expect("parse generated RSA key"),
        ),
    }
}

pub fn client_for(base_url: &str, merchant: &CreatedMerchant) -> Client {
    let mut builder = Client::builder(base_url, merchant.id.clone(), sign_key_of(merchant));
    match merchant.sign_type {
        SignType::Md5 => builder = builder.verify_key(VerifyKey::Md5(merchant.secret.clone())),
        SignType::HmacSha256 => {
            builder = builder.verify_key(VerifyKey::HmacSha256(merchant.secret.clone()))
        }
        SignType::Rsa2 => {}
    }
    builder.build().expect("build client")
}
