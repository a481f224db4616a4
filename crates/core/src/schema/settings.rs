//! A schema and Zoho's settings documents (`settings/modules`, `settings/fields?module=X`,
//! `settings/layouts?module=X`), both ways: reading a real org's answers into an
//! [`OrgSchema`](super::OrgSchema) ([`mirror_org`], in `read`), and writing a schema in those
//! shapes ([`render_modules`], [`render_fields`], [`render_layouts`], in `render`), which the
//! metadata endpoints serve.

mod read;
mod render;
#[cfg(test)]
mod tests;

pub(crate) use read::{list as mirror_list, object as mirror_object};
pub use read::{mirror_export_dir, mirror_org, MirrorError, NON_RECORD_MODULES};
pub use render::{
    derived_id, layout_api_name, picklist_value_id, render_fields, render_layouts, render_modules, ProfileRef,
};
