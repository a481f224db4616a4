//! A record's unique keys as `records.keys` holds them beside the record (migration 0021): a
//! JSON array of `[field, value]` pairs in byte order, or NULL when it holds none. Every write
//! that adds or frees keys in `unique_keys` writes the records' `keys` in the same transaction,
//! so a record's keys are read with it, never looked up by record.

use std::collections::HashSet;

use bulkwrite_core::ids::RecordId;
use bulkwrite_core::plan::Key;
use bulkwrite_store::merge::{needs_no_escape, StoredRecord};
use bulkwrite_store::{StoreError, StoreResult};

use crate::copy::CopyRows;
use crate::statements::execute;

/// Deletes the keys records held (`$3`: their ids, `$4`: their `keys` as read), each key only
/// while that record still holds it: probes of the keys' primary key, as a record's keys name
/// their field and value (the records are `$1`'s and in module `$2`).
const FREE_KEYS: &str = "DELETE FROM unique_keys WHERE ctid = ANY(ARRAY(
         SELECT u.ctid FROM unnest($3::int8[], $4::text[]) AS d (id, keys)
         CROSS JOIN LATERAL json_array_elements(d.keys::json) AS k (pair)
         JOIN key_scopes s ON s.org = $1 AND s.module = $2 AND s.field = k.pair ->> 0
         CROSS JOIN LATERAL (
             SELECT ctid FROM unique_keys WHERE scope = s.id AND value = k.pair ->> 1 AND record_id = d.id LIMIT 1
         ) AS u
     ))";

/// Frees the keys of records that go or give theirs up: `held` pairs each record's id with its
/// `keys` as read (see [`FREE_KEYS`]).
pub(crate) async fn free(
    tx: &deadpool_postgres::Transaction<'_>,
    (org, module): (i64, &str),
    held: &[(i64, Option<String>)],
) -> StoreResult<()> {
    let (ids, keys): (Vec<i64>, Vec<Option<&str>>) =
        held.iter().filter(|(_, keys)| keys.is_some()).map(|(id, keys)| (*id, keys.as_deref())).unzip();
    if ids.is_empty() {
        return Ok(());
    }
    execute(tx, FREE_KEYS, &[&org, &module, &ids, &keys]).await.map(drop)
}

/// A record's keys, borrowed (`encode` puts them in byte order).
pub(crate) type KeyRefs<'a> = Vec<(&'a str, &'a str)>;

/// The keys stored in `records.keys` (`None`: NULL, no keys), in byte order.
pub(crate) fn decode(text: Option<&str>) -> StoreResult<Vec<Key>> {
    let Some(text) = text else { return Ok(Vec::new()) };
    if let Some(key) = one_plain_key(text) {
        return Ok(vec![key]);
    }
    let mut keys: Vec<Key> =
        serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("a record's keys: {error}")))?;
    keys.sort();
    Ok(keys)
}

/// The key of `[["field","value"]]`, as [`encode`] writes a record's one key, when neither part
/// has anything JSON escapes; `None` for anything else (parsed as JSON then). Most records hold
/// one key: parsing it as JSON was 3% of the server's CPU in a 1,000,000-row upsert.
fn one_plain_key(text: &str) -> Option<Key> {
    let (field, value) = text.strip_prefix("[[\"")?.strip_suffix("\"]]")?.split_once("\",\"")?;
    let plain = |part: &str| needs_no_escape(part.as_bytes());
    (plain(field) && plain(value)).then(|| (field.to_string(), value.to_string()))
}

/// `keys` as `records.keys` holds them, in byte order (`None` for none).
pub(crate) fn encode(mut keys: KeyRefs<'_>) -> StoreResult<Option<String>> {
    if keys.is_empty() {
        return Ok(None);
    }
    keys.sort_unstable();
    serde_json::to_string(&keys).map(Some).map_err(|error| StoreError::Corrupt(format!("a record's keys: {error}")))
}

/// `keys` as a `COPY` row's `keys` column.
pub(crate) fn copy(rows: &mut CopyRows, keys: &[(&str, &str)]) -> StoreResult<()> {
    if keys.is_empty() {
        rows.null();
        Ok(())
    } else {
        rows.json(&keys)
    }
}

/// The keys a plan adds, by the record that takes them (new records' keys, and the keys
/// updates take).
pub(crate) struct Added<'a>(Vec<(RecordId, &'a str, &'a str)>);

impl<'a> Added<'a> {
    pub(crate) fn of(key_inserts: &'a [(Key, RecordId)]) -> Added<'a> {
        let mut added: Vec<(RecordId, &str, &str)> =
            key_inserts.iter().map(|((field, value), id)| (*id, field.as_str(), value.as_str())).collect();
        added.sort_unstable();
        Added(added)
    }

    /// The keys `id` takes, in byte order.
    pub(crate) fn of_record(&self, id: RecordId) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        let start = self.0.partition_point(|(record, ..)| *record < id);
        self.0[start..].iter().take_while(move |(record, ..)| *record == id).map(|&(_, field, value)| (field, value))
    }

    /// Whether `id` takes any key.
    fn takes_any(&self, id: RecordId) -> bool {
        self.of_record(id).next().is_some()
    }
}

/// What a plan changes of the keys of the records it updates: the keys it frees and the keys
/// it adds. A record keeps its stored `keys` unless the plan changes one of them.
pub(crate) struct Changes<'a> {
    freed: HashSet<&'a Key>,
    added: Added<'a>,
}

impl<'a> Changes<'a> {
    pub(crate) fn of(key_deletes: &'a [Key], key_inserts: &'a [(Key, RecordId)]) -> Changes<'a> {
        Changes { freed: key_deletes.iter().collect(), added: Added::of(key_inserts) }
    }

    /// The keys record `id` holds after the plan, when the plan changes them (`stored`: the
    /// record as read, with its keys); `None` when they stay as stored. In no order.
    pub(crate) fn after(&self, id: RecordId, stored: Option<&'a StoredRecord>) -> Option<KeyRefs<'a>> {
        let kept = stored.map(|record| record.keys.as_slice()).unwrap_or_default();
        let frees = kept.iter().any(|key| self.freed.contains(key));
        if !frees && !self.added.takes_any(id) {
            return None;
        }
        let mut keys: KeyRefs<'a> = kept
            .iter()
            .filter(|key| !self.freed.contains(key))
            .map(|(field, value)| (field.as_str(), value.as_str()))
            .collect();
        for key in self.added.of_record(id) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Some(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: &str, value: &str) -> Key {
        (field.to_string(), value.to_string())
    }

    #[test]
    fn keys_round_trip_in_byte_order_and_none_is_null() {
        let text = encode(vec![("Email", "a\"b@x.co"), ("Code", "c-1")]).unwrap().unwrap();
        assert_eq!(text, r#"[["Code","c-1"],["Email","a\"b@x.co"]]"#);
        assert_eq!(decode(Some(&text)).unwrap(), [key("Code", "c-1"), key("Email", "a\"b@x.co")]);
        assert_eq!(encode(Vec::new()).unwrap(), None);
        assert!(decode(None).unwrap().is_empty());
        // As the migration's `json_agg` writes them, spaces and order aside.
        assert_eq!(
            decode(Some(r#"[["Email", "b@x"], ["Code", "c"]]"#)).unwrap(),
            [key("Code", "c"), key("Email", "b@x")]
        );
        assert!(matches!(decode(Some("[1]")), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn one_key_is_read_as_json_reads_it() {
        for text in [
            r#"[["Email","a@x.co"]]"#,
            r#"[["Email","a\"b@x.co"]]"#,
            r#"[["Email","a\\b"]]"#,
            r#"[["Email","\u00e9"]]"#,
            r#"[["Email","é,\",\"x"]]"#,
            r#"[["Email",""]]"#,
        ] {
            let json: Vec<Key> = serde_json::from_str(text).unwrap();
            assert_eq!(decode(Some(text)).unwrap(), json, "{text}");
        }
        assert_eq!(one_plain_key(r#"[["Email","a@x.co"]]"#), Some(key("Email", "a@x.co")));
        assert_eq!(one_plain_key(r#"[["Email","a\"b"]]"#), None, "an escape: read as JSON");
        assert_eq!(one_plain_key("[[\"Email\",\"a\tb\"]]"), None, "a raw tab is not JSON");
        assert!(matches!(decode(Some(r#"[["Email","a","b"]]"#)), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn each_record_gets_the_keys_it_takes() {
        let inserts = vec![
            (key("Email", "b@x"), RecordId::new(7)),
            (key("Email", "a@x"), RecordId::new(9)),
            (key("Code", "c"), RecordId::new(7)),
        ];
        let added = Added::of(&inserts);
        assert_eq!(added.of_record(RecordId::new(7)).collect::<Vec<_>>(), [("Code", "c"), ("Email", "b@x")]);
        assert_eq!(added.of_record(RecordId::new(9)).collect::<Vec<_>>(), [("Email", "a@x")]);
        assert_eq!(added.of_record(RecordId::new(8)).count(), 0);
    }

    #[test]
    fn an_update_keeps_its_keys_unless_the_plan_frees_or_adds_one() {
        let stored = StoredRecord {
            owner: bulkwrite_core::ids::UserId::new(1),
            layout_id: None,
            data: "{}".into(),
            version: 1,
            keys: vec![key("Code", "c-1"), key("Email", "old@x")],
        };
        let (id, other) = (RecordId::new(5), RecordId::new(6));
        let deletes = vec![key("Email", "old@x")];
        let inserts = vec![(key("Email", "new@x"), id), (key("Email", "else@x"), other)];
        let changes = Changes::of(&deletes, &inserts);
        fn sorted(keys: Option<KeyRefs<'_>>) -> Option<KeyRefs<'_>> {
            keys.map(|mut keys| {
                keys.sort_unstable();
                keys
            })
        }
        assert_eq!(sorted(changes.after(id, Some(&stored))), Some(vec![("Code", "c-1"), ("Email", "new@x")]));
        let unchanged = Changes::of(&[], &[]);
        assert_eq!(unchanged.after(id, Some(&stored)), None, "nothing freed or added: as stored");
        let cleared = vec![key("Code", "c-1"), key("Email", "old@x")];
        assert_eq!(Changes::of(&cleared, &[]).after(id, Some(&stored)), Some(vec![]), "every key freed");
        assert_eq!(changes.after(other, None), Some(vec![("Email", "else@x")]));
    }
}
