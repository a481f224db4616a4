//! Picklists grow during bulk writes: a value a row uses that an unrestricted picklist does not
//! list yet is added to it (Kaizen #13), so later jobs and the fields API see it.

use crate::schema::OrgSchema;

/// Adds `values` to the picklist `module.field`; returns whether anything was added.
pub fn add_picklist_values(schema: &mut OrgSchema, module: &str, field: &str, values: &[String]) -> bool {
    let Some(field) = schema.module_mut(module).and_then(|m| m.field_mut(field)) else {
        return false;
    };
    if field.restricted_picklist {
        return false;
    }
    let mut added = false;
    for value in values {
        if !field.pick_list_values.iter().any(|known| known == value) {
            field.pick_list_values.push(value.clone());
            added = true;
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::standard::standard_schema;

    #[test]
    fn new_values_are_appended_once() {
        let mut schema = standard_schema();
        let values = vec!["Podcast".to_string(), "Podcast".to_string(), "Partner".to_string()];
        assert!(add_picklist_values(&mut schema, "Leads", "Lead_Source", &values));
        let field = schema.module("Leads").unwrap().field("Lead_Source").unwrap();
        assert_eq!(field.pick_list_values.iter().filter(|v| *v == "Podcast").count(), 1);
        assert_eq!(field.pick_list_values.last().map(String::as_str), Some("Podcast"));
        assert!(!add_picklist_values(&mut schema, "Leads", "Lead_Source", &values));
        assert!(!add_picklist_values(&mut schema, "Leads", "Nope", &values));
    }
}
