//! Notes and Attachments: modules Zoho lists but bulk write refuses (`MODULE_NOT_AVAILABLE`).
//! They carry a few fields so metadata listings look like Zoho's.

use crate::schema::builder::{audit_fields, f, system_fields_head, IdSeq, F};
use crate::schema::{DataType, Field, Layout, Module};

/// Notes hang under a record of any module through `Parent_Id`.
pub(super) fn notes(ids: &mut IdSeq) -> Module {
    let fields = vec![
        f("Note_Title", "Note Title", DataType::Text).len(120),
        f("Note_Content", "Note Content", DataType::Textarea),
        parent_id(),
    ];
    non_record(ids, "Notes", "Note", "Note_Title", fields)
}

/// Attachments hang under a record of any module through `Parent_Id`.
pub(super) fn attachments(ids: &mut IdSeq) -> Module {
    let fields =
        vec![f("File_Name", "File Name", DataType::Text), f("Size", "Size", DataType::BigInt).read_only(), parent_id()];
    non_record(ids, "Attachments", "Attachment", "File_Name", fields)
}

/// A lookup to a record of any module (so no `lookup_module`).
fn parent_id() -> F {
    f("Parent_Id", "Parent Id", DataType::Lookup)
}

fn non_record(ids: &mut IdSeq, api_name: &str, singular: &str, display_field: &str, fields: Vec<F>) -> Module {
    let module_id = ids.next();
    let mut all: Vec<Field> = system_fields_head();
    all.extend(fields.into_iter().map(|f| f.0));
    all.extend(audit_fields());
    for field in &mut all {
        field.id = ids.next();
    }
    let layout = Layout { id: ids.next(), name: "Standard".to_string(), mandatory_fields: Vec::new() };
    Module {
        id: module_id,
        api_name: api_name.to_string(),
        module_name: api_name.to_string(),
        singular_label: singular.to_string(),
        plural_label: api_name.to_string(),
        generated_type: "default".to_string(),
        bulk_write: false,
        display_field: display_field.to_string(),
        fields: all,
        layouts: vec![layout],
    }
}
