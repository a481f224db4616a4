//! A row's field values ([`RowValues`]): a short list in the order the fields were set, keyed by
//! names the mapper shares between rows.
//!
//! A row used to hold a `serde_json::Map` (an `IndexMap`): per row a hash table and an entry
//! list allocated, and per field its name copied and hashed with SipHash on insert and on every
//! lookup. Building and freeing those maps was about a sixth of the runtime's CPU in a
//! 1,000,000-row insert (docs/PERFORMANCE.md). A row holds a few dozen fields at most, set once
//! each and read whole, so a list is all it needs: the mapper appends, a lookup scans.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

/// A field's API name, shared by every row the same column maps.
pub type FieldName = Arc<str>;

/// Field values in the order they were set; setting a field again replaces its value in place
/// (as a `serde_json::Map` with `preserve_order` does).
///
/// An insert's values can be frozen into the JSON text the insert writes ([`Self::freeze`],
/// see `plan::freeze_for_insert`): the list is freed at once, where the row was mapped, and the
/// store copies the text. Frozen values still read as they were (less their nulls, with
/// `Full_Name` as the text has it): a read parses the text once (a field the text does not
/// name is known absent without it), and a change thaws them first.
#[derive(Clone, Debug, Default)]
pub struct RowValues {
    entries: Vec<(FieldName, Value)>,
    frozen: Option<Frozen>,
}

/// Values frozen into their insert's text.
#[derive(Clone, Debug)]
struct Frozen {
    /// The `Full_Name` rule the text was written by.
    full_name: bool,
    text: String,
    /// The entries read back from the text, once something reads them.
    thawed: OnceLock<Vec<(FieldName, Value)>>,
}

impl Frozen {
    fn entries(&self) -> &[(FieldName, Value)] {
        self.thawed.get_or_init(|| parse_entries(&self.text))
    }

    /// Whether the text may name `field` (`"field":` occurs in it); a name that JSON would
    /// escape is always looked for in the entries.
    fn may_name(&self, field: &str) -> bool {
        if !field.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$') {
            return true;
        }
        self.text
            .match_indices(field)
            .any(|(at, _)| self.text[..at].ends_with('"') && self.text[at + field.len()..].starts_with("\":"))
    }
}

/// The entries of a JSON object's text, in order (the text was written from entries, so it
/// parses; if it did not, there would be none).
fn parse_entries(text: &str) -> Vec<(FieldName, Value)> {
    serde_json::from_str::<Map<String, Value>>(text)
        .map(|map| map.into_iter().map(|(name, value)| (FieldName::from(name), value)).collect())
        .unwrap_or_default()
}

/// Equal values, frozen or not.
impl PartialEq for RowValues {
    fn eq(&self, other: &RowValues) -> bool {
        self.entries() == other.entries()
    }
}

impl RowValues {
    /// No values.
    pub fn new() -> RowValues {
        RowValues::default()
    }

    /// No values, with room for `capacity` fields.
    pub fn with_capacity(capacity: usize) -> RowValues {
        RowValues { entries: Vec::with_capacity(capacity), frozen: None }
    }

    /// Frees the entries and keeps `text` instead: their JSON as an insert writes it, by the
    /// `full_name` rule (see the type's comment).
    pub(crate) fn freeze(&mut self, full_name: bool, text: String) {
        self.entries = Vec::new();
        self.frozen = Some(Frozen { full_name, text, thawed: OnceLock::new() });
    }

    /// The text of frozen values, if they were frozen by the `full_name` rule.
    pub(crate) fn frozen_text(&self, full_name: bool) -> Option<&str> {
        self.frozen.as_ref().filter(|frozen| frozen.full_name == full_name).map(|frozen| frozen.text.as_str())
    }

    fn entries(&self) -> &[(FieldName, Value)] {
        match &self.frozen {
            Some(frozen) => frozen.entries(),
            None => &self.entries,
        }
    }

    /// Makes frozen values a list again, before a change.
    fn thaw(&mut self) {
        if let Some(frozen) = self.frozen.take() {
            self.entries = match frozen.thawed.into_inner() {
                Some(entries) => entries,
                None => parse_entries(&frozen.text),
            };
        }
    }

    /// How many fields are set.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    fn position(&self, field: &str) -> Option<usize> {
        if self.frozen.as_ref().is_some_and(|frozen| !frozen.may_name(field)) {
            return None;
        }
        self.entries().iter().position(|(name, _)| &**name == field)
    }

    /// The value of `field`, if set.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.position(field).map(|at| &self.entries()[at].1)
    }

    /// Whether `field` is set.
    pub fn contains_key(&self, field: &str) -> bool {
        self.position(field).is_some()
    }

    /// Sets `field`, in place if it is set already (returning the value it had), else last.
    pub fn insert(&mut self, field: impl AsRef<str> + Into<FieldName>, value: Value) -> Option<Value> {
        self.thaw();
        match self.position(field.as_ref()) {
            Some(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            None => {
                self.entries.push((field.into(), value));
                None
            }
        }
    }

    /// Sets `field` last, which the caller knows is not set (the mapper, whose columns map
    /// distinct fields): no scan.
    pub(crate) fn push_unset(&mut self, field: FieldName, value: Value) {
        debug_assert!(!self.contains_key(&field), "{field} is set already");
        self.thaw();
        self.entries.push((field, value));
    }

    /// Unsets `field`, keeping the others in their order.
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        self.thaw();
        self.position(field).map(|at| self.entries.remove(at).1)
    }

    /// Unsets every field.
    pub fn clear(&mut self) {
        self.frozen = None;
        self.entries.clear();
    }

    /// Keeps the fields `keep` accepts, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Value) -> bool) {
        self.thaw();
        self.entries.retain(|(name, value)| keep(name, value));
    }

    /// `(field, value)` in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries().iter())
    }

    /// The values as a JSON object, in the same order.
    pub fn into_map(mut self) -> Map<String, Value> {
        self.thaw();
        let mut map = Map::with_capacity(self.entries.len());
        for (name, value) in self.entries {
            map.insert(name.to_string(), value);
        }
        map
    }
}

/// [`RowValues::iter`]: `(field, value)` in order.
pub struct Iter<'a>(std::slice::Iter<'a, (FieldName, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Value);

    fn next(&mut self) -> Option<(&'a str, &'a Value)> {
        self.0.next().map(|(name, value)| (&**name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a> IntoIterator for &'a RowValues {
    type Item = (&'a str, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for RowValues {
    type Item = (FieldName, Value);
    type IntoIter = std::vec::IntoIter<(FieldName, Value)>;

    fn into_iter(mut self) -> Self::IntoIter {
        self.thaw();
        self.entries.into_iter()
    }
}

impl From<Map<String, Value>> for RowValues {
    fn from(map: Map<String, Value>) -> RowValues {
        RowValues {
            entries: map.into_iter().map(|(name, value)| (FieldName::from(name), value)).collect(),
            frozen: None,
        }
    }
}

/// `values["Field"]`, as on a JSON object: panics when the field is not set.
impl std::ops::Index<&str> for RowValues {
    type Output = Value;

    fn index(&self, field: &str) -> &Value {
        self.get(field).unwrap_or_else(|| panic!("no value for {field}"))
    }
}

/// As the JSON object of its fields, in order.
impl serde::Serialize for RowValues {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn fields_keep_the_order_they_were_set_in_and_a_field_set_again_keeps_its_place() {
        let mut values = RowValues::new();
        assert_eq!(values.insert("Last_Name", json!("Boyle")), None);
        values.push_unset(FieldName::from("Email"), json!("a@b.co"));
        assert_eq!(values.insert("Phone".to_string(), Value::Null), None);
        assert_eq!(values.insert("Last_Name", json!("Okafor")), Some(json!("Boyle")));
        assert_eq!(serde_json::to_string(&values).unwrap(), r#"{"Last_Name":"Okafor","Email":"a@b.co","Phone":null}"#);
        assert_eq!(values.len(), 3);
        assert_eq!(values["Email"], json!("a@b.co"));
        assert!(values.contains_key("Phone") && !values.contains_key("Mobile"));
        assert_eq!(values.get("Mobile"), None);

        assert_eq!(values.remove("Last_Name"), Some(json!("Okafor")));
        assert_eq!(values.remove("Last_Name"), None);
        values.insert("Company", json!("Zylker"));
        let fields: Vec<&str> = values.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["Email", "Phone", "Company"], "removing keeps the others' order");

        values.retain(|_, value| !value.is_null());
        assert_eq!(values.into_map(), object(json!({"Email": "a@b.co", "Company": "Zylker"})));
    }

    #[test]
    fn a_json_object_converts_both_ways_in_order() {
        let map = object(json!({"Z": 1, "A": [2], "M": {"id": "3"}}));
        let values = RowValues::from(map.clone());
        let owned: Vec<(String, Value)> = values.clone().into_iter().map(|(f, v)| (f.to_string(), v)).collect();
        assert_eq!(owned[0], ("Z".to_string(), json!(1)));
        assert_eq!(serde_json::to_value(&values).unwrap(), Value::Object(map.clone()));
        assert_eq!(values.into_map(), map);
    }

    #[test]
    #[should_panic(expected = "no value for Email")]
    fn indexing_an_unset_field_panics_as_a_json_object_does() {
        let _ = &RowValues::new()["Email"];
    }

    fn frozen(value: Value) -> RowValues {
        let mut values = RowValues::from(object(value));
        let text = serde_json::to_string(&values).unwrap();
        values.freeze(true, text);
        values
    }

    #[test]
    fn frozen_values_read_as_they_were_and_thaw_before_a_change() {
        let original = json!({"Last_Name": "Boyle", "Description": "says \"Email\": no", "Owner": {"id": "7"}});
        let values = frozen(original.clone());
        assert!(values.entries.is_empty(), "the list is freed");
        assert_eq!(values.frozen_text(true), Some(serde_json::to_string(&original).unwrap().as_str()));
        assert_eq!(values.frozen_text(false), None, "written by the other rule");
        assert_eq!(values.get("Last_Name"), Some(&json!("Boyle")));
        assert_eq!(values.get("Owner"), Some(&json!({"id": "7"})));
        // Absent, known without parsing; absent although a value's text names it.
        assert_eq!(values.get("Email"), None);
        assert!(values.frozen.as_ref().unwrap().thawed.get().is_some(), "the text was read once");
        assert!(!frozen(original.clone()).contains_key("Phone"));
        assert!(
            frozen(original.clone()).frozen.as_ref().unwrap().thawed.get().is_none(),
            "no parse for an absent name"
        );
        assert_eq!(values.len(), 3);
        let fields: Vec<&str> = values.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["Last_Name", "Description", "Owner"]);
        assert_eq!(values, RowValues::from(object(original.clone())), "equal to the values unfrozen");
        assert_eq!(frozen(original.clone()).into_map(), object(original.clone()));
        let entries: Vec<(FieldName, Value)> = frozen(original.clone()).into_iter().collect();
        assert_eq!(entries.len(), 3);

        // A change thaws them: the others stay, in order, and the text is gone.
        let mut changed = frozen(original.clone());
        changed.insert("Phone", json!("1"));
        assert_eq!(changed.frozen_text(true), None);
        let fields: Vec<&str> = changed.iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["Last_Name", "Description", "Owner", "Phone"]);
        let mut removed = frozen(original.clone());
        assert_eq!(removed.remove("Owner"), Some(json!({"id": "7"})));
        assert_eq!((removed.len(), removed.frozen_text(true)), (2, None));
        let mut retained = frozen(original.clone());
        retained.retain(|field, _| field == "Last_Name");
        assert_eq!(retained.into_map(), object(json!({"Last_Name": "Boyle"})));
        let mut cleared = frozen(original);
        cleared.clear();
        assert!(cleared.is_empty() && cleared.frozen_text(true).is_none());
    }
}
