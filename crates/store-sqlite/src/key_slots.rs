//! Unique keys by slot (migration 0020). A key's value is found through a small integer, its
//! slot, instead of through the text itself:
//!
//! - `key_slots (scope, slot, record_id)`, primary key `(scope, slot)`: the index a probe
//!   searches. An entry is about half the size of a `(scope, value)` one and compares as two
//!   integers, so a chunk of keys landing at random places costs far less (the 1,000,000-row
//!   insert about a fifth less time, docs/PERFORMANCE.md).
//! - `unique_keys (record_id, scope, value, slot)`, primary key `(record_id, scope)`: each
//!   record's keys, with their values as written, in the order of the records (a new record's
//!   keys are appended).
//!
//! A value's slot is its home ([`home_slot`]: a hash of the value) or, when another value
//! holds that home, one of the [`WINDOW`] slots after it: a probe reads the slots from home to
//! home + `WINDOW` and keeps the one whose record holds the same value in `unique_keys`, so a
//! key is exact whatever the hash does. Two values sharing a home is about a one-in-a-billion
//! event at 100,000 keys; a window full of them cannot happen by chance, and cannot be forced
//! without about 2^58 tries (the hash is SipHash over 62 bits).

use bulkwrite_store::{StoreError, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};
use siphasher::sip::SipHasher13;
use std::hash::Hasher;

use crate::db_error;

/// Slots after its home a value may take when its home is taken.
pub(crate) const WINDOW: i64 = 16;

/// The hash's keys. Fixed: a slot is stored, and must come out the same in every process.
const HASH_KEYS: (u64, u64) = (0x6275_6c6b_7772_6974, 0x6b65_795f_736c_6f74);

/// [`home_slot`] of `ann@zylker.com`, pinned by a test: slots are stored.
#[cfg(test)]
const HOME_OF_ANN: i64 = 4_071_426_727_214_972_542;

/// The first slot `value` may take: 62 bits of its hash, so that `home + WINDOW` never
/// overflows.
pub(crate) fn home_slot(value: &str) -> i64 {
    #[cfg(test)]
    if let Some(home) = tests::forced_home(value) {
        return home;
    }
    let mut hasher = SipHasher13::new_with_keys(HASH_KEYS.0, HASH_KEYS.1);
    hasher.write(value.as_bytes());
    (hasher.finish() >> 2) as i64
}

/// `values` with their home slots, as the JSON array `[[home, value], …]` a probe of values
/// reads with `json_each` (see [`held`]), in the order of the slots: the probe then walks the
/// index from one end to the other (a 1,000,000-row upsert 6% faster than in the values' order).
/// A chunk's probes use [`homes_in_order`] instead.
pub(crate) fn homes_json(values: &[&str]) -> StoreResult<String> {
    serde_json::to_string(&sorted_homes(values)).map_err(crate::json_error)
}

/// `values`' home slots, as the JSON array `[home, …]` a probe of many values reads with
/// `json_each` (see [`probe_sql`]), in ascending order, with the values in the same order: a
/// row of the probe names its value by its place in the array (`j.key`). The homes being plain
/// numbers, nothing is parsed again for each value, where a probe by `[home, value]` pairs
/// parsed each pair three times (1,000 values probed in 2.0 ms instead of 3.5,
/// docs/PERFORMANCE.md).
pub(crate) fn homes_in_order(values: &[&str]) -> StoreResult<(String, Vec<String>)> {
    let homes = sorted_homes(values);
    let array =
        serde_json::to_string(&homes.iter().map(|(home, _)| *home).collect::<Vec<_>>()).map_err(crate::json_error)?;
    Ok((array, homes.into_iter().map(|(_, value)| value.to_string()).collect()))
}

/// `values` with their home slots, in the order of the slots.
fn sorted_homes<'a>(values: &[&'a str]) -> Vec<(i64, &'a str)> {
    let mut homes: Vec<(i64, &str)> = values.iter().map(|value| (home_slot(value), *value)).collect();
    homes.sort_unstable();
    homes
}

/// A probe of many values, the JSON array of [`homes_in_order`] its fourth parameter, in the
/// scope `{scope}` names: a row for each slot of a value's window, naming the value by its place
/// in the array (`j.key`) and giving the record the slot points at (`s.record_id`), which may
/// hold another value sharing the home. With `checked`, the row also gives the value that
/// record holds in the scope (`u.value`), for the caller to compare.
pub(crate) fn probe_sql(scope: &str, checked: bool) -> String {
    let slots = window(scope, "j.value");
    if checked {
        format!(
            "SELECT j.key, s.record_id, u.value FROM json_each(?4) j {slots}
             CROSS JOIN unique_keys u ON u.record_id = s.record_id AND u.scope = s.scope"
        )
    } else {
        format!("SELECT j.key, s.record_id FROM json_each(?4) j {slots}")
    }
}

/// `s`, a slot of the window from `home` (an expression of `j`), in `{scope}`. `CROSS JOIN`
/// keeps the array the outer loop: joined plainly, SQLite reads every slot of the scope for each
/// value.
fn window(scope: &str, home: &str) -> String {
    format!("CROSS JOIN key_slots s ON s.scope = {scope} AND s.slot BETWEEN {home} AND {home} + {WINDOW}")
}

/// The join of a probe of values after `FROM json_each(…) j` of [`homes_json`] (`[home, value]`
/// pairs): `s`, a slot of the window of a value the array lists, then `u`, the key whose value
/// is that value.
pub(crate) fn held(scope: &str) -> String {
    format!(
        "{} CROSS JOIN unique_keys u ON u.record_id = s.record_id AND u.scope = s.scope AND u.value = j.value ->> 1",
        window(scope, "(j.value ->> 0)")
    )
}

/// The record holding `value` in `scope`, as `(record_id, slot)`.
pub(crate) fn holder(tx: &Connection, scope: i64, value: &str) -> StoreResult<Option<(i64, i64)>> {
    tx.prepare_cached(&format!("SELECT u.record_id, u.slot FROM json_each(?2) j {}", held("?1")))
        .map_err(db_error)?
        .query_row(params![scope, homes_json(&[value])?], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(db_error)
}

/// Gives `record` the key `value` in `scope`, which no record holds (the caller probed it): the
/// first free slot of its window.
pub(crate) fn insert_free(tx: &Connection, scope: i64, value: &str, record: i64) -> StoreResult<()> {
    let mut take = tx
        .prepare_cached("INSERT OR IGNORE INTO key_slots (scope, slot, record_id) VALUES (?1, ?2, ?3)")
        .map_err(db_error)?;
    let slot = first_taken(value, |slot| Ok(take.execute(params![scope, slot, record]).map_err(db_error)? == 1))?;
    tx.prepare_cached("INSERT INTO unique_keys (record_id, scope, value, slot) VALUES (?1, ?2, ?3, ?4)")
        .map_err(db_error)?
        .execute(params![record, scope, value, slot])
        .map_err(db_error)?;
    Ok(())
}

/// The first slot of `value`'s window that `take` takes (answering `true`).
fn first_taken(value: &str, mut take: impl FnMut(i64) -> StoreResult<bool>) -> StoreResult<i64> {
    let home = home_slot(value);
    for slot in home..=home + WINDOW {
        if take(slot)? {
            return Ok(slot);
        }
    }
    Err(StoreError::Backend(format!("every slot of the unique key {value:?} is taken").into()))
}

/// Removes the key `value` in `scope`, if a record holds it.
pub(crate) fn delete_value(tx: &Connection, scope: i64, value: &str) -> StoreResult<()> {
    if let Some((record, slot)) = holder(tx, scope, value)? {
        tx.prepare_cached("DELETE FROM key_slots WHERE scope = ?1 AND slot = ?2")
            .map_err(db_error)?
            .execute(params![scope, slot])
            .map_err(db_error)?;
        tx.prepare_cached("DELETE FROM unique_keys WHERE record_id = ?1 AND scope = ?2")
            .map_err(db_error)?
            .execute(params![record, scope])
            .map_err(db_error)?;
    }
    Ok(())
}

/// Removes every key of the records `first..end`.
pub(crate) fn delete_of_records(tx: &Connection, first: i64, end: i64) -> StoreResult<()> {
    tx.prepare_cached(
        "DELETE FROM key_slots WHERE (scope, slot, record_id) IN
             (SELECT scope, slot, record_id FROM unique_keys WHERE record_id >= ?1 AND record_id < ?2)",
    )
    .map_err(db_error)?
    .execute([first, end])
    .map_err(db_error)?;
    tx.prepare_cached("DELETE FROM unique_keys WHERE record_id >= ?1 AND record_id < ?2")
        .map_err(db_error)?
        .execute([first, end])
        .map_err(db_error)?;
    Ok(())
}

/// Removes every key of `record`.
pub(crate) fn delete_of_record(tx: &Connection, record: i64) -> StoreResult<()> {
    delete_of_records(tx, record, record + 1)
}

/// Slots for the keys of a database migrated from `unique_keys (scope, value, record_id)`
/// (migration 0020): the keys, then the keys the org snapshots hold, which get their slots in
/// their rows. Both are read a row at a time (a large database's keys are never all in memory);
/// a snapshot's slots are claimed in a scratch table, dropped at the end.
pub(crate) fn migrate(tx: &Connection) -> StoreResult<()> {
    {
        let mut keys = tx.prepare("SELECT scope, value, record_id FROM unique_keys_0019").map_err(db_error)?;
        let mut rows = keys.query([]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let (scope, value, record): (i64, String, i64) =
                (row.get(0).map_err(db_error)?, row.get(1).map_err(db_error)?, row.get(2).map_err(db_error)?);
            insert_free(tx, scope, &value, record)?;
        }
    }
    tx.execute_batch(
        "DROP TABLE unique_keys_0019;
         CREATE TABLE snapshot_slots_0020 (
             org INTEGER NOT NULL, snapshot TEXT NOT NULL, scope INTEGER NOT NULL, slot INTEGER NOT NULL,
             PRIMARY KEY (org, snapshot, scope, slot)
         ) WITHOUT ROWID;",
    )
    .map_err(db_error)?;
    {
        let mut keys = tx
            .prepare(
                "SELECT rowid, org, snapshot, row_json ->> '$.scope', row_json ->> '$.value' FROM snapshot_rows
                 WHERE tbl = 'unique_keys' ORDER BY rowid",
            )
            .map_err(db_error)?;
        let mut claim = tx
            .prepare("INSERT OR IGNORE INTO snapshot_slots_0020 (org, snapshot, scope, slot) VALUES (?1, ?2, ?3, ?4)")
            .map_err(db_error)?;
        let mut set = tx
            .prepare("UPDATE snapshot_rows SET row_json = json_set(row_json, '$.slot', ?1) WHERE rowid = ?2")
            .map_err(db_error)?;
        let mut rows = keys.query([]).map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let (rowid, org, snapshot, scope, value): (i64, i64, String, i64, String) = (
                row.get(0).map_err(db_error)?,
                row.get(1).map_err(db_error)?,
                row.get(2).map_err(db_error)?,
                row.get(3).map_err(db_error)?,
                row.get(4).map_err(db_error)?,
            );
            let slot = first_taken(&value, |slot| {
                Ok(claim.execute(params![org, snapshot, scope, slot]).map_err(db_error)? == 1)
            })?;
            set.execute([slot, rowid]).map_err(db_error)?;
        }
    }
    tx.execute_batch("DROP TABLE snapshot_slots_0020").map_err(db_error)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bulkwrite_core::ids::RecordId;

    /// In this crate's unit tests, a value `collide:…` has home slot 42, so that tests can make
    /// values share a home.
    pub(crate) fn forced_home(value: &str) -> Option<i64> {
        value.starts_with("collide:").then_some(42)
    }

    /// A migrated database, and a connection of its own to it.
    async fn migrated() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bulkwrite.sqlite");
        drop(crate::SqliteStore::open(&path).await.unwrap());
        let conn = Connection::open(&path).unwrap();
        (dir, conn)
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0)).unwrap()
    }

    /// `(value, record)` of the keys of scope 1 a probe of `values` finds, by the join reads use.
    fn probe(conn: &Connection, values: &[&str]) -> Vec<(String, i64)> {
        let sql = format!("SELECT u.value, u.record_id FROM json_each(?1) j {} ORDER BY u.value", held("1"));
        let mut statement = conn.prepare(&sql).unwrap();
        let rows = statement.query_map([homes_json(values).unwrap()], |row| Ok((row.get(0)?, row.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn a_home_slot_is_stable_and_leaves_room_for_the_window() {
        // Stored slots depend on it: a change of the hash would lose every key of a database.
        assert_eq!(home_slot("ann@zylker.com"), HOME_OF_ANN);
        assert_ne!(home_slot("ann@zylker.com"), home_slot("ann@zylker.co"));
        assert!((0..=i64::MAX - WINDOW).contains(&home_slot("ann@zylker.com")));
        assert!((0..=i64::MAX - WINDOW).contains(&home_slot("\u{10ffff}")));
        assert_eq!(home_slot("collide:a"), home_slot("collide:b"));
    }

    #[tokio::test]
    async fn values_sharing_a_home_take_the_slots_after_it_and_each_finds_its_own_record() {
        let (_dir, conn) = migrated().await;
        insert_free(&conn, 1, "collide:a", 101).unwrap();
        insert_free(&conn, 1, "collide:b", 102).unwrap();
        insert_free(&conn, 2, "collide:a", 201).unwrap();
        assert_eq!(holder(&conn, 1, "collide:a").unwrap(), Some((101, 42)));
        assert_eq!(holder(&conn, 1, "collide:b").unwrap(), Some((102, 43)));
        assert_eq!(holder(&conn, 2, "collide:a").unwrap(), Some((201, 42)), "scopes have slots of their own");
        assert_eq!(holder(&conn, 1, "collide:c").unwrap(), None, "a home held by other values");
        assert_eq!(
            probe(&conn, &["collide:b", "collide:c", "collide:a"]),
            [("collide:a".to_string(), 101), ("collide:b".to_string(), 102)]
        );

        // A slot freed before another value's is passed over by probes, and taken again.
        delete_value(&conn, 1, "collide:a").unwrap();
        assert_eq!(holder(&conn, 1, "collide:a").unwrap(), None);
        assert_eq!(holder(&conn, 1, "collide:b").unwrap(), Some((102, 43)));
        insert_free(&conn, 1, "collide:c", 103).unwrap();
        assert_eq!(holder(&conn, 1, "collide:c").unwrap(), Some((103, 42)));

        // A full window is an error, never a key given twice or dropped.
        for n in 0..WINDOW - 1 {
            insert_free(&conn, 1, &format!("collide:{n}"), 300 + n).unwrap();
        }
        let full = insert_free(&conn, 1, "collide:one too many", 999).unwrap_err();
        assert!(format!("{full:?}").contains("every slot"), "{full:?}");
        assert_eq!(count(&conn, "key_slots"), count(&conn, "unique_keys"));

        delete_of_record(&conn, 102).unwrap();
        assert_eq!(holder(&conn, 1, "collide:b").unwrap(), None);
        assert_eq!(count(&conn, "key_slots"), count(&conn, "unique_keys"));
    }

    /// A probe of many values reads each value's window, never every slot of the scope (as
    /// SQLite plans a plain join of `json_each` and `key_slots`: a 1,000,000-row upsert then
    /// never ended).
    #[tokio::test]
    async fn a_probe_of_many_values_searches_each_window() {
        let (_dir, conn) = migrated().await;
        let plan_of = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Vec<String> {
            let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            statement.query_map(params, |row| row.get(3)).unwrap().map(Result::unwrap).collect()
        };
        let window = "SEARCH s USING PRIMARY KEY (scope=? AND slot>? AND slot<?)".to_string();
        let key = "SEARCH u USING PRIMARY KEY (record_id=? AND scope=?)".to_string();
        // By `[home, value]` pairs (one value's holder), and by homes alone (a chunk's probes).
        let pairs =
            plan_of(&format!("SELECT u.value, u.record_id FROM json_each(?1) j {}", held("?2")), params!["[]", 1]);
        // A chunk's probe: the scope (here `?1`) and, fourth, the homes.
        let chunk_params = params![1, 0, 0, "[]"];
        let homes = plan_of(&probe_sql("?1", false), chunk_params);
        let checked = plan_of(&probe_sql("?1", true), chunk_params);
        for plan in [&pairs, &homes, &checked] {
            assert_eq!(plan[0], "SCAN j VIRTUAL TABLE INDEX 1:", "{plan:?}");
            assert!(plan.contains(&window), "{plan:?}");
        }
        assert!(pairs.contains(&key) && checked.contains(&key), "{pairs:?} {checked:?}");
    }

    /// An upsert's probe reads the slots alone and keeps the records that hold the value.
    #[tokio::test]
    async fn a_value_is_found_by_its_record_not_by_a_record_sharing_its_home() {
        let (_dir, conn) = migrated().await;
        let scope = crate::key_scopes::Scopes::new(1, "Leads").get(&conn, "Email").unwrap();
        for (id, email) in [(101, "collide:a"), (102, "collide:b")] {
            conn.execute(
                "INSERT INTO records (id, org, module, owner, created_by, modified_by, created_at, modified_at, data)
                 VALUES (?1, 1, 'Leads', 1, 1, 1, 0, 0, json_object('Email', ?2))",
                params![id, email],
            )
            .unwrap();
            insert_free(&conn, scope, email, id).unwrap();
        }
        let finding = |row_no: u64, value: &str| {
            let mut row = bulkwrite_core::mapping::RowDraft::new(row_no, Vec::new());
            row.find_key = Some(bulkwrite_core::mapping::FindKey::Unique {
                field: "Email".into(),
                value: value.into(),
                column: "Email".into(),
            });
            row
        };
        let rows = [finding(1, "collide:b"), finding(2, "collide:c")];
        for keys_only in [false, true] {
            let named = crate::chunk::stored::read_named(&conn, 1, "Leads", &rows, keys_only).unwrap();
            let keys: Vec<_> = named.keys.into_iter().collect();
            assert_eq!(keys, [(("Email".to_string(), "collide:b".to_string()), RecordId::new(102))], "{keys_only}");
            assert_eq!(named.records.contains_key(&RecordId::new(102)), !keys_only);
        }
    }

    /// Keys and snapshot keys of a database made before slots, two of each sharing a home, get
    /// slots of their own when the database is migrated.
    #[test]
    fn keys_from_before_slots_get_slots_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("bulkwrite.sqlite")).unwrap();
        let before = &crate::migrate::MIGRATIONS[..crate::migrate::KEY_SLOTS];
        for sql in before {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO id_sequence (singleton, next_id) VALUES (1, 1000);
             INSERT INTO unique_keys (scope, value, record_id) VALUES (1, 'collide:a', 101), (1, 'collide:b', 102), (1, 'ann@zylker.com', 103);
             INSERT INTO snapshot_rows (org, snapshot, tbl, row_json) VALUES
                 (7, 'before', 'unique_keys', json_object('scope', 1, 'value', 'collide:a', 'record_id', 101)),
                 (7, 'before', 'unique_keys', json_object('scope', 1, 'value', 'collide:b', 'record_id', 102)),
                 (7, 'other', 'unique_keys', json_object('scope', 1, 'value', 'collide:b', 'record_id', 102));
             PRAGMA user_version = {};",
            before.len()
        ))
        .unwrap();
        crate::migrate::migrate(&mut conn, 1000).unwrap();
        assert_eq!(holder(&conn, 1, "collide:a").unwrap(), Some((101, 42)));
        assert_eq!(holder(&conn, 1, "collide:b").unwrap(), Some((102, 43)));
        assert_eq!(holder(&conn, 1, "ann@zylker.com").unwrap(), Some((103, HOME_OF_ANN)));
        let mut statement = conn
            .prepare("SELECT snapshot, row_json ->> '$.value', row_json ->> '$.slot' FROM snapshot_rows ORDER BY rowid")
            .unwrap();
        let rows: Vec<(String, String, i64)> = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected = [("before", "collide:a", 42), ("before", "collide:b", 43), ("other", "collide:b", 42)];
        assert_eq!(rows, expected.map(|(snapshot, value, slot)| (snapshot.to_string(), value.to_string(), slot)));
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('unique_keys_0019', 'snapshot_slots_0020')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the scratch tables are gone");
    }

    #[tokio::test]
    async fn unprobed_keys_meeting_a_held_home_are_counted_and_taken_back_whole() {
        let (_dir, conn) = migrated().await;
        let scope = crate::key_scopes::Scopes::new(1, "Leads").get(&conn, "Email").unwrap();
        insert_free(&conn, scope, "collide:held", 100).unwrap();
        let keys = |values: &[(&str, u64)]| -> Vec<_> {
            values.iter().map(|(value, id)| (("Email".to_string(), value.to_string()), RecordId::new(*id))).collect()
        };
        let fresh = keys(&[("ann@zylker.com", 200), ("bob@zylker.com", 201)]);
        assert_eq!(crate::chunk::insert_keys(&conn, 1, "Leads", &fresh).unwrap(), 2);
        assert_eq!(holder(&conn, scope, "bob@zylker.com").unwrap(), Some((201, home_slot("bob@zylker.com"))));

        // Another value at a held home: left out, and the chunk's keys all taken back.
        let meeting = keys(&[("cat@zylker.com", 300), ("collide:other", 301)]);
        assert_eq!(crate::chunk::insert_keys(&conn, 1, "Leads", &meeting).unwrap(), 1);
        delete_of_records(&conn, 300, 302).unwrap();
        assert_eq!(holder(&conn, scope, "cat@zylker.com").unwrap(), None);
        assert_eq!(holder(&conn, scope, "collide:held").unwrap(), Some((100, 42)), "the holder keeps its key");
        assert_eq!((count(&conn, "key_slots"), count(&conn, "unique_keys")), (3, 3));
    }
}
