//! A row's field values ([`RowValues`]): a short list in the order the fields were set, keyed by
//! names the mapper shares between rows.
//!
//! A row used to hold a `serde_json::Map` (an `IndexMap`): per row a hash table and an entry
//! list allocated, and per field its name copied and hashed with SipHash on insert and on every
//! lookup. Building and freeing those maps was about a sixth of the runtime's CPU in a
//! 1,000,000-row insert (docs/PERFORMANCE.md). A row holds a few dozen fields at most, set once
//! each and read whole, so a list is all it needs: the mapper appends, a lookup scans.

use std::sync::Arc;

use serde_json::{Map, Value};

/// A field's API name, shared by every row the same column maps.
pub type FieldName = Arc<str>;

/// Field values in the order they were set; setting a field again replaces its value in place
/// (as a `serde_json::Map` with `preserve_order` does).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowValues {
    entries: Vec<(FieldName, Value)>,
}

impl RowValues {
    /// No values.
    pub fn new() -> RowValues {
        RowValues::default()
    }

    /// No values, with room for `capacity` fields.
    pub fn with_capacity(capacity: usize) -> RowValues {
        RowValues { entries: Vec::with_capacity(capacity) }
    }

    /// How many fields are set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, field: &str) -> Option<usize> {
        self.entries.iter().position(|(name, _)| &**name == field)
    }

    /// The value of `field`, if set.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.position(field).map(|at| &self.entries[at].1)
    }

    /// Whether `field` is set.
    pub fn contains_key(&self, field: &str) -> bool {
        self.position(field).is_some()
    }

    /// Sets `field`, in place if it is set already (returning the value it had), else last.
    pub fn insert(&mut self, field: impl AsRef<str> + Into<FieldName>, value: Value) -> Option<Value> {
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
        self.entries.push((field, value));
    }

    /// Unsets `field`, keeping the others in their order.
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        self.position(field).map(|at| self.entries.remove(at).1)
    }

    /// Unsets every field.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Keeps the fields `keep` accepts, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Value) -> bool) {
        self.entries.retain(|(name, value)| keep(name, value));
    }

    /// `(field, value)` in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// The values as a JSON object, in the same order.
    pub fn into_map(self) -> Map<String, Value> {
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

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl From<Map<String, Value>> for RowValues {
    fn from(map: Map<String, Value>) -> RowValues {
        RowValues { entries: map.into_iter().map(|(name, value)| (FieldName::from(name), value)).collect() }
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
}
