//! Profiles: stored per org, replaced by name, and named by users.

use std::sync::Arc;

use bulkwrite_core::perms::{FieldAccess, ModuleAccess, Profile, ProfilePerms};

use super::*;

pub async fn profiles_are_stored_per_org_and_users_take_one(store: Arc<dyn Store>) {
    with_org(&store).await;
    assert!(store.stored_profiles(ORG).await.unwrap().is_empty());
    let mut perms = ProfilePerms::default();
    perms.set_module("Leads", ModuleAccess { create: false, ..ModuleAccess::FULL });
    perms.set_field("Contacts", "Email", FieldAccess::Hidden);
    let sales = Profile { name: "Sales".into(), custom: true, perms: perms.clone() };
    store.put_profile(ORG, sales.clone()).await.unwrap();
    store.put_profile(ORG, Profile { name: "Standard".into(), custom: false, perms: perms.clone() }).await.unwrap();
    let mut changed = perms.clone();
    changed.set_field("Leads", "Phone", FieldAccess::ReadOnly);
    let sales_again = Profile { name: "SALES".into(), custom: true, perms: changed.clone() };
    store.put_profile(ORG, sales_again).await.unwrap();
    let stored = store.stored_profiles(ORG).await.unwrap();
    let names: Vec<(&str, bool)> = stored.iter().map(|p| (p.name.as_str(), p.custom)).collect();
    assert_eq!(names, [("SALES", true), ("Standard", false)], "replaced in place, by name");
    assert_eq!(stored[0].perms, changed);
    assert_eq!(stored[1].perms, perms);
    assert!(store.stored_profiles(OTHER_ORG).await.unwrap().is_empty());
    assert!(matches!(store.put_profile(OTHER_ORG, sales).await, Err(StoreError::NotFound(_))));

    store.set_user_profile(ORG, ADMIN, "SALES").await.unwrap();
    assert_eq!(store.get_user(ORG, ADMIN).await.unwrap().unwrap().profile, "SALES");
    assert!(matches!(store.set_user_profile(OTHER_ORG, ADMIN, "Standard").await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.set_user_profile(ORG, OTHER_ADMIN, "Standard").await, Err(StoreError::NotFound(_))));
}
