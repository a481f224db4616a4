//! Orgs, users, tokens, OAuth clients, grant codes, ids and schemas.

use std::sync::Arc;

use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::schema::standard::standard_schema;
use chrono::{Duration, Utc};

use super::*;
use crate::token::hash_token;

pub async fn bootstrap_happens_once(store: Arc<dyn Store>) {
    assert_eq!(store.bootstrap_record().await.unwrap(), None);
    with_org(&store).await;
    let mut second = bootstrap_record(OTHER_ORG, OTHER_ADMIN);
    second.access_token = "1000.second".into();
    let kept = store
        .bootstrap(
            org(OTHER_ORG),
            user(OTHER_ADMIN, OTHER_ORG),
            standard_schema(),
            token("1000.second", OTHER_ORG, OTHER_ADMIN, None),
            second,
        )
        .await
        .unwrap();
    assert_eq!(kept.org_id, ORG, "the first bootstrap wins");
    assert_eq!(store.bootstrap_record().await.unwrap().unwrap().access_token, "1000.first");
    assert!(store.get_org(OTHER_ORG).await.unwrap().is_none());
    let stored = store.get_org(ORG).await.unwrap().unwrap();
    assert_eq!(stored.time_zone, "Asia/Kolkata");
    assert_eq!(store.users(ORG).await.unwrap().len(), 1);
    assert_eq!(store.get_user(ORG, ADMIN).await.unwrap().unwrap().full_name(), "Mara Quist");
    assert!(store.get_user(OTHER_ORG, ADMIN).await.unwrap().is_none());
}

pub async fn tokens_resolve_expire_and_stay_unknown(store: Arc<dyn Store>) {
    with_org(&store).await;
    let now = Utc::now();
    store.insert_access_token(token("1000.short", ORG, ADMIN, Some(now + Duration::seconds(60)))).await.unwrap();
    match store.lookup_token(&hash_token("1000.first"), now).await.unwrap() {
        TokenLookup::Valid(principal) => {
            assert_eq!((principal.org, principal.user), (ORG, ADMIN));
            assert_eq!(principal.scopes, ["ZohoCRM.bulk.ALL"]);
            assert_eq!(principal.expires_at, None, "the bootstrap token never expires");
        }
        other => panic!("bootstrap token: {other:?}"),
    }
    match store.lookup_token(&hash_token("1000.short"), now).await.unwrap() {
        // The expiry comes with the principal (the API's token cache refuses it past then),
        // to the millisecond both stores keep.
        TokenLookup::Valid(principal) => {
            let expires = principal.expires_at.expect("the short token's expiry").timestamp_millis();
            assert_eq!(expires, (now + Duration::seconds(60)).timestamp_millis());
        }
        other => panic!("short token: {other:?}"),
    }
    let later = now + Duration::seconds(61);
    assert_eq!(store.lookup_token(&hash_token("1000.short"), later).await.unwrap(), TokenLookup::Expired);
    assert_eq!(store.lookup_token(&hash_token("1000.nope"), now).await.unwrap(), TokenLookup::Unknown);
}

pub async fn reserved_ids_never_overlap(store: Arc<dyn Store>) {
    let a = store.reserve_ids(10).await.unwrap();
    let b = store.reserve_ids(5).await.unwrap();
    assert!(b >= a + 10, "{a} then {b}");
    assert_eq!(a.to_string().len(), 19);
}

fn client(id: &str, zgid: OrgId, user: UserId) -> OAuthClient {
    OAuthClient {
        client_id: id.into(),
        org: zgid,
        user,
        secret_hash: hash_token("secret"),
        name: "Self Client".into(),
        kind: ClientKind::SelfClient,
        redirect_uris: vec!["https://app.example.com/cb".into()],
        created_at: Utc::now(),
    }
}

pub async fn grant_codes_redeem_once_and_expire(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_client(client("1000.SELF", ORG, ADMIN)).await.unwrap();
    let now = Utc::now();
    let grant = |code: &str, expires_at| GrantCode {
        code_hash: hash_token(code),
        client_id: "1000.SELF".into(),
        org: ORG,
        user: ADMIN,
        scopes: vec!["ZohoCRM.bulk.ALL".into(), "ZohoFiles.files.ALL".into()],
        redirect_uri: None,
        expires_at,
    };
    store.insert_grant(grant("1000.code", now + Duration::minutes(3))).await.unwrap();
    store.insert_grant(grant("1000.old", now - Duration::seconds(1))).await.unwrap();
    let redeemed = store.redeem_grant(&hash_token("1000.code"), now).await.unwrap().expect("a fresh code");
    assert_eq!(redeemed.scopes, ["ZohoCRM.bulk.ALL", "ZohoFiles.files.ALL"]);
    assert_eq!((redeemed.org, redeemed.user), (ORG, ADMIN));
    assert!(store.redeem_grant(&hash_token("1000.code"), now).await.unwrap().is_none(), "one use only");
    assert!(store.redeem_grant(&hash_token("1000.old"), now).await.unwrap().is_none(), "expired");
    assert!(store.redeem_grant(&hash_token("1000.none"), now).await.unwrap().is_none());
}

pub async fn revoking_a_refresh_token_revokes_its_access_tokens(store: Arc<dyn Store>) {
    with_org(&store).await;
    let refresh = RefreshToken {
        token_hash: hash_token("1000.refresh"),
        client_id: "1000.SELF".into(),
        org: ORG,
        user: ADMIN,
        scopes: vec!["ZohoCRM.bulk.ALL".into()],
        created_at: Utc::now(),
    };
    store.insert_refresh_token(refresh).await.unwrap();
    let mut minted = token("1000.minted", ORG, ADMIN, Some(Utc::now() + Duration::hours(1)));
    minted.refresh_hash = Some(hash_token("1000.refresh"));
    minted.client_id = Some("1000.SELF".into());
    store.insert_access_token(minted).await.unwrap();
    store.insert_access_token(token("1000.other", ORG, ADMIN, None)).await.unwrap();
    assert_eq!(
        store.get_refresh_token(&hash_token("1000.refresh")).await.unwrap().unwrap().scopes,
        ["ZohoCRM.bulk.ALL"]
    );
    assert_eq!(store.revoke_token(&hash_token("1000.refresh")).await.unwrap(), Revoked::Refresh);
    assert!(store.get_refresh_token(&hash_token("1000.refresh")).await.unwrap().is_none());
    assert_eq!(store.lookup_token(&hash_token("1000.minted"), Utc::now()).await.unwrap(), TokenLookup::Unknown);
    assert!(matches!(store.lookup_token(&hash_token("1000.other"), Utc::now()).await.unwrap(), TokenLookup::Valid(_)));
    assert_eq!(store.revoke_token(&hash_token("1000.other")).await.unwrap(), Revoked::Access);
    assert_eq!(store.revoke_token(&hash_token("1000.other")).await.unwrap(), Revoked::Unknown);
}

pub async fn orgs_users_and_clients(store: Arc<dyn Store>) {
    with_org(&store).await;
    store.create_org(org(OTHER_ORG), user(OTHER_ADMIN, OTHER_ORG), standard_schema()).await.unwrap();
    let zgids: Vec<OrgId> = store.orgs().await.unwrap().iter().map(|o| o.zgid).collect();
    assert_eq!(zgids, [ORG, OTHER_ORG]);
    let mut second = user(UserId::new(5_725_767_000_000_000_102), ORG);
    second.email = "second@example.com".into();
    store.create_user(second.clone()).await.unwrap();
    let mut clash = user(UserId::new(5_725_767_000_000_000_103), ORG);
    clash.email = "SECOND@example.com".into();
    assert!(matches!(store.create_user(clash).await, Err(StoreError::Conflict(_))), "emails are unique per org");
    assert_eq!(store.users(ORG).await.unwrap().len(), 2);
    store.set_password_hash(ORG, second.id, Some("hash".into())).await.unwrap();
    let (found, hash) = store.user_by_email(ORG, "Second@Example.com").await.unwrap().unwrap();
    assert_eq!((found.id, hash.as_deref()), (second.id, Some("hash")));
    assert!(store.user_by_email(OTHER_ORG, "second@example.com").await.unwrap().is_none());
    store.create_client(client("1000.A", ORG, ADMIN)).await.unwrap();
    store.create_client(client("1000.B", OTHER_ORG, OTHER_ADMIN)).await.unwrap();
    let mine = store.clients(ORG).await.unwrap();
    assert_eq!(mine.iter().map(|c| c.client_id.as_str()).collect::<Vec<_>>(), ["1000.A"]);
    let got = store.get_client("1000.B").await.unwrap().unwrap();
    assert_eq!((got.org, got.kind, got.redirect_uris.len()), (OTHER_ORG, ClientKind::SelfClient, 1));
}

pub async fn schemas_round_trip(store: Arc<dyn Store>) {
    with_org(&store).await;
    let mut schema = store.org_schema(ORG).await.unwrap();
    assert_eq!(schema, standard_schema());
    let podcast = vec!["Podcast".to_string()];
    store.add_picklist_values(ORG, "Leads", "Lead_Source", &podcast).await.unwrap();
    store.add_picklist_values(ORG, "Leads", "Lead_Source", &podcast).await.unwrap();
    let grown = store.org_schema(ORG).await.unwrap();
    let values = &grown.module("Leads").unwrap().field("Lead_Source").unwrap().pick_list_values;
    assert_eq!(values.iter().filter(|v| *v == "Podcast").count(), 1);
    let refused = store.update_org_schema(
        ORG,
        Box::new(|schema| {
            schema.modules.clear();
            Err("no".to_string())
        }),
    );
    assert_eq!(refused.await.unwrap(), Err("no".to_string()));
    assert!(!store.org_schema(ORG).await.unwrap().modules.is_empty(), "a refused change leaves the schema");
    let changed = store.update_org_schema(
        ORG,
        Box::new(|schema| {
            schema.modules.retain(|m| m.api_name != "Deals");
            Ok(())
        }),
    );
    assert!(changed.await.unwrap().unwrap().module("Deals").is_none());
    assert!(store.org_schema(ORG).await.unwrap().module("Deals").is_none());
    schema.modules.retain(|m| m.api_name == "Leads");
    store.save_org_schema(ORG, &schema).await.unwrap();
    assert_eq!(store.org_schema(ORG).await.unwrap().modules.len(), 1);
    assert!(store.save_org_schema(OTHER_ORG, &schema).await.is_err());
}
