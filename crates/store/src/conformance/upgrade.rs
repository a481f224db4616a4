//! Checks an upgraded database passes, whichever backend made it. Not cases of their own: each
//! backend's upgrade test writes the old schema's rows, opens the store, then calls these.

use bulkwrite_core::ids::{OrgId, RecordId};
use bulkwrite_core::lookup::{LookupBy, LookupHit, LookupQuery};

use crate::{Keep, OrgStateStore, RecordStore};

/// Two `Accounts` records whose `Account_Name` keys (`zylker`, `acme`) the old schema held, and a
/// snapshot `before` holding both with their keys: the keys find their records, a deleted
/// record's key goes, and restoring the snapshot brings it back.
pub async fn keys_written_before_the_upgrade_find_their_records(
    store: &(impl RecordStore + OrgStateStore),
    org: OrgId,
    (zylker, acme): (RecordId, RecordId),
) {
    let query = LookupQuery {
        module: "Accounts".into(),
        field: "Account_Name".into(),
        by: LookupBy::UniqueKey,
        values: vec!["zylker".into(), "acme".into()],
        display_field: "Account_Name".into(),
    };
    let found = |hits: Vec<(String, LookupHit)>| {
        let mut found: Vec<(String, RecordId)> = hits.into_iter().map(|(value, hit)| (value, hit.id)).collect();
        found.sort();
        found
    };
    let both = vec![("acme".to_string(), acme), ("zylker".to_string(), zylker)];
    assert_eq!(found(store.find_records(org, &query).await.unwrap()), both, "the keys written before");
    let deleted = store.delete_records(org, "Accounts", &[zylker]).await.unwrap();
    assert_eq!(deleted, [zylker]);
    assert_eq!(found(store.find_records(org, &query).await.unwrap()), both[..1], "a deleted record's key goes");
    store.restore_snapshot(org, "before", &Keep { token_hash: None }).await.unwrap().expect("the snapshot");
    assert_eq!(found(store.find_records(org, &query).await.unwrap()), both, "the snapshot's keys restored");
    // The records' values too, whatever shape the old schema stored them in.
    let mut names: Vec<Option<String>> =
        store.find_records(org, &query).await.unwrap().into_iter().map(|(_, hit)| hit.name).collect();
    names.sort();
    assert_eq!(names, [Some("Acme".to_string()), Some("Zylker".to_string())], "each name read by its key");
    let restored = store.get_record(org, "Accounts", zylker).await.unwrap().expect("the restored record");
    assert_eq!(restored.values.get("Account_Name"), Some(&serde_json::json!("Zylker")), "its values restored");
}
