//! Checks a read request against the org's schema and the uploaded file, in Zoho's order (the
//! first failure wins): module → file → `find_by` → mappings → mandatory fields. The callback URL
//! is checked by the caller before this runs (it needs DNS).

use std::collections::{HashMap, HashSet};

use bulkwrite_wire::{ApiError, CreateJobRequest, ErrorCode, FieldMapping, Operation, ResourceRequest};

use super::{JobSpec, ParentLink, ResourceSpec, ID_FIELD};
use crate::convert::format_fits;
use crate::ids::FileId;
use crate::limits::Limits;
use crate::schema::{Converter, DataType, Field, Module, OrgSchema, GENERATED_TYPE_LINKING};
use crate::zipfile::CsvEntry;

/// What validation needs to know besides the request.
pub struct ValidationContext<'a> {
    /// The org's schema, which modules and fields are checked against.
    pub schema: &'a OrgSchema,
    /// CSV entries of the org's uploads named by the request, by `file_id`. Ids that name no
    /// upload of this org are simply absent.
    pub files: &'a HashMap<String, Vec<CsvEntry>>,
    /// Ids of the org's uploads that retention expired: they answer `FILE_NOT_FOUND` (the
    /// spec's code for an upload that no longer exists) where an unknown id answers
    /// `FILE_NOT_SUPPORTED` (the recorded exchange).
    pub expired_files: &'a HashSet<String>,
    /// The server's bounds (columns and mappings per resource among them).
    pub limits: Limits,
}

/// Validates a read request into a [`JobSpec`].
pub fn validate(request: &CreateJobRequest, ctx: &ValidationContext<'_>) -> Result<JobSpec, ApiError> {
    let mut modules = Vec::with_capacity(request.resource.len());
    for (index, resource) in request.resource.iter().enumerate() {
        modules.push(check_module(resource, index, ctx.schema)?);
    }
    let mut csvs = Vec::with_capacity(request.resource.len());
    for resource in &request.resource {
        csvs.push(check_file(resource, ctx.files, ctx.expired_files)?);
    }
    for (index, (resource, module)) in request.resource.iter().zip(&modules).enumerate() {
        check_find_by(request.operation, resource, module, index)?;
    }
    let mut resources: Vec<ResourceSpec> = Vec::with_capacity(request.resource.len());
    for (index, resource) in request.resource.iter().enumerate() {
        let module = modules[index];
        let csv = csvs[index];
        let mut spec = build_resource(request, resource, module, csv, index, ctx)?;
        if let Some(parent) = resources.first() {
            spec.parent_link = Some(link_to_parent(&spec, parent, module, index)?);
        } else if spec.mappings.iter().any(|m| m.parent_column_index.is_some()) {
            return Err(ApiError::with_message(
                ErrorCode::InvalidData,
                "parent_column_index belongs to child resources",
            )
            .detail("api_name", "parent_column_index")
            .detail("json_path", format!("$.resource[{index}].field_mappings")));
        }
        check_mandatory(request.operation, module, &spec.mappings)?;
        resources.push(spec);
    }
    Ok(JobSpec {
        operation: request.operation,
        ignore_empty: request.ignore_empty,
        character_encoding: request.character_encoding.clone(),
        callback: request.callback.clone(),
        resources,
        dry_run: false,
    })
}

fn check_module<'s>(resource: &ResourceRequest, index: usize, schema: &'s OrgSchema) -> Result<&'s Module, ApiError> {
    let name = resource.module.api_name();
    match schema.module(name) {
        Some(module) if module.bulk_write => Ok(module),
        _ => Err(ApiError::with_message(
            ErrorCode::ModuleNotAvailable,
            format!("Requested module '{name}' is not available."),
        )
        .detail("api_name", "module")
        .detail("json_path", format!("$.resource[{index}].module"))),
    }
}

fn check_file<'f>(
    resource: &ResourceRequest,
    files: &'f HashMap<String, Vec<CsvEntry>>,
    expired_files: &HashSet<String>,
) -> Result<&'f CsvEntry, ApiError> {
    if FileId::parse(&resource.file_id).is_none() {
        return Err(ApiError::new(ErrorCode::InvalidFileId));
    }
    if expired_files.contains(&resource.file_id) {
        return Err(ApiError::new(ErrorCode::FileNotFound));
    }
    let Some(entries) = files.get(&resource.file_id) else {
        return Err(ApiError::new(ErrorCode::FileNotSupported));
    };
    match chosen_entry(resource, entries) {
        Some(entry) if entry.problem.is_none() => Ok(entry),
        _ => Err(ApiError::new(ErrorCode::FileNotSupported)),
    }
}

/// The CSV of an upload's `entries` that a resource reads: the one its `file_names` names (by
/// path or base name), or the upload's only CSV; `None` when that is not exactly one entry.
pub fn chosen_entry<'f>(resource: &ResourceRequest, entries: &'f [CsvEntry]) -> Option<&'f CsvEntry> {
    match &resource.file_names {
        Some(names) if !names.is_empty() => {
            let mut found = None;
            for name in names {
                let entry = entries.iter().find(|e| e.name == *name || base_name(&e.name) == name.as_str());
                match entry {
                    Some(entry) if found.is_none() => found = Some(entry),
                    // One CSV per module: a second name for the same resource is not supported.
                    _ => return None,
                }
            }
            found
        }
        _ if entries.len() == 1 => entries.first(),
        _ => None,
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn check_find_by(
    operation: Operation,
    resource: &ResourceRequest,
    module: &Module,
    index: usize,
) -> Result<(), ApiError> {
    let path = format!("$.resource[{index}].find_by");
    let Some(find_by) = resource.find_by.as_deref() else {
        if operation == Operation::Insert {
            return Ok(());
        }
        return Err(ApiError::with_message(ErrorCode::MandatoryNotFound, "Required key find_by is not available")
            .detail("api_name", "find_by")
            .detail("json_path", path));
    };
    if find_by == ID_FIELD {
        return Ok(());
    }
    match module.field(find_by) {
        Some(field) if field.unique => Ok(()),
        _ => Err(ApiError::with_message(
            ErrorCode::InvalidData,
            format!("find_by must be id or a unique field of {}", module.api_name),
        )
        .detail("api_name", "find_by")
        .detail("json_path", path)),
    }
}

fn build_resource(
    request: &CreateJobRequest,
    resource: &ResourceRequest,
    module: &Module,
    csv: &CsvEntry,
    index: usize,
    ctx: &ValidationContext<'_>,
) -> Result<ResourceSpec, ApiError> {
    let limits = ctx.limits;
    let path = format!("$.resource[{index}]");
    if index > 0 && resource.field_mappings.as_ref().is_none_or(Vec::is_empty) {
        return Err(ApiError::missing_key("field_mappings"));
    }
    if csv.header.len() > limits.max_columns {
        return Err(ApiError::new(ErrorCode::HeaderLimitExceeded).detail("maximum_length", limits.max_columns));
    }
    let (mappings, auto_mapped) = match &resource.field_mappings {
        Some(mappings) if !mappings.is_empty() => (mappings.clone(), false),
        _ => (auto_map(&csv.header, &path)?, true),
    };
    if mappings.len() > limits.max_columns {
        return Err(ApiError::new(ErrorCode::HeaderLimitExceeded).detail("maximum_length", limits.max_columns));
    }
    let mut canonical = Vec::with_capacity(mappings.len());
    for (mapping_index, mapping) in mappings.iter().enumerate() {
        let mapping_path = format!("{path}.field_mappings[{mapping_index}]");
        let checked = check_mapping(mapping, module, csv, &mapping_path, ctx.schema)?;
        check_linking_field(module, &checked, &mapping_path)?;
        if canonical.iter().any(|m: &FieldMapping| m.api_name == checked.api_name) {
            return Err(ApiError::with_message(
                ErrorCode::InvalidData,
                format!("field {} is mapped more than once", checked.api_name),
            )
            .detail("api_name", checked.api_name.clone())
            .detail("json_path", mapping_path));
        }
        canonical.push(checked);
    }
    let echo_columns = echo_columns(&canonical);
    let effective_ignore_empty = resource.ignore_empty.or(request.ignore_empty).unwrap_or(false);
    Ok(ResourceSpec {
        module: module.api_name.clone(),
        module_id: module.id.clone(),
        file_id: resource.file_id.clone(),
        csv_name: csv.name.clone(),
        file_names: resource.file_names.clone(),
        find_by: resource.find_by.as_deref().map(|name| canonical_field_name(module, name)),
        ignore_empty: resource.ignore_empty,
        effective_ignore_empty,
        mappings: canonical,
        auto_mapped,
        header: csv.header.clone(),
        echo_columns,
        parent_link: None,
        denied_fields: Vec::new(),
    })
}

/// A child resource names its parent link with `parent_column_index` on a lookup to the parent.
fn link_to_parent(
    child: &ResourceSpec,
    parent: &ResourceSpec,
    module: &Module,
    index: usize,
) -> Result<ParentLink, ApiError> {
    let path = format!("$.resource[{index}].field_mappings");
    let links: Vec<&FieldMapping> = child.mappings.iter().filter(|m| m.parent_column_index.is_some()).collect();
    let [link] = links.as_slice() else {
        let message = if links.is_empty() {
            "Required key parent_column_index is not available"
        } else {
            "only one mapping of a child resource may carry parent_column_index"
        };
        let code = if links.is_empty() { ErrorCode::MandatoryNotFound } else { ErrorCode::InvalidData };
        return Err(ApiError::with_message(code, message)
            .detail("api_name", "parent_column_index")
            .detail("json_path", path));
    };
    let parent_column_index = link.parent_column_index.unwrap_or_default();
    if parent_column_index as usize >= parent.header.len() {
        return Err(ApiError::new(ErrorCode::ColumnIndexNotFound)
            .detail("api_name", link.api_name.clone())
            .detail("json_path", format!("{path}.parent_column_index")));
    }
    let points_at_parent = module
        .field(&link.api_name)
        .is_some_and(|f| f.data_type == DataType::Lookup && f.lookup_module.as_deref() == Some(parent.module.as_str()));
    let Some(child_index) = link.index.filter(|_| points_at_parent) else {
        return Err(ApiError::with_message(
            ErrorCode::InvalidData,
            format!("{} is not a lookup to the parent module {} read from a column", link.api_name, parent.module),
        )
        .detail("api_name", link.api_name.clone())
        .detail("json_path", path));
    };
    Ok(ParentLink {
        field: link.api_name.clone(),
        index: child_index,
        parent_column_index,
        parent_module: parent.module.clone(),
    })
}

/// A linking module (the records behind a multi-select or multi-user lookup) takes only its
/// lookup fields in a bulk write (§3.6): any other mapping is `INVALID_DATA`.
fn check_linking_field(module: &Module, mapping: &FieldMapping, path: &str) -> Result<(), ApiError> {
    if module.generated_type != GENERATED_TYPE_LINKING {
        return Ok(());
    }
    let is_lookup =
        module.field(&mapping.api_name).is_some_and(|f| matches!(f.data_type, DataType::Lookup | DataType::UserLookup));
    if is_lookup {
        return Ok(());
    }
    Err(ApiError::with_message(
        ErrorCode::InvalidData,
        format!("only the lookup fields of the linking module {} can be mapped", module.api_name),
    )
    .detail("api_name", mapping.api_name.clone())
    .detail("json_path", path.to_string()))
}

fn canonical_field_name(module: &Module, name: &str) -> String {
    if name == ID_FIELD {
        return ID_FIELD.to_string();
    }
    module.field(name).map(|f| f.api_name.clone()).unwrap_or_else(|| name.to_string())
}

/// The header names the fields: `Field`, or `Lookup.id` / `Lookup.Other_Field` for lookups.
fn auto_map(header: &[String], path: &str) -> Result<Vec<FieldMapping>, ApiError> {
    let mut mappings = Vec::with_capacity(header.len());
    for (index, cell) in header.iter().enumerate() {
        let (name, find_by) = match cell.split_once('.') {
            Some((name, sub)) => (name, Some(sub.to_string())),
            None => (cell.as_str(), None),
        };
        if name.is_empty() {
            return Err(invalid_field(cell, &format!("{path}.field_mappings")));
        }
        mappings.push(FieldMapping {
            api_name: name.to_string(),
            index: Some(index as u32),
            find_by,
            ..FieldMapping::default()
        });
    }
    Ok(mappings)
}

fn invalid_field(name: &str, path: &str) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidField, format!("invalid mapping. invalid api_name {name}."))
        .detail("api_name", name)
        .detail("json_path", path)
}

fn check_mapping(
    mapping: &FieldMapping,
    module: &Module,
    csv: &CsvEntry,
    path: &str,
    schema: &OrgSchema,
) -> Result<FieldMapping, ApiError> {
    let mut checked = mapping.clone();
    if mapping.api_name == ID_FIELD {
        checked.api_name = ID_FIELD.to_string();
        check_index(mapping, csv, path)?;
        return Ok(checked);
    }
    let Some(field) = module.field(&mapping.api_name) else {
        return Err(invalid_field(&mapping.api_name, &format!("{path}.api_name")));
    };
    if !field.is_writable() {
        return Err(ApiError::with_message(
            ErrorCode::InvalidField,
            format!("invalid mapping. field {} is read only.", field.api_name),
        )
        .detail("api_name", field.api_name.clone())
        .detail("json_path", format!("{path}.api_name")));
    }
    checked.api_name.clone_from(&field.api_name);
    check_index(mapping, csv, path)?;
    if mapping.find_by.is_some() && mapping.parent_column_index.is_some() {
        return Err(ApiError::new(ErrorCode::CoexistenceNotAllowed)
            .detail("api_name", "find_by")
            .detail("json_path", format!("{path}.find_by")));
    }
    if let Some(pattern) = mapping.format.as_deref() {
        let fits = format_fits(field.data_type, pattern);
        if !fits {
            return Err(ApiError::with_message(
                ErrorCode::InvalidFormat,
                format!("invalid format {pattern} for field {}", field.api_name),
            )
            .detail("api_name", field.api_name.clone())
            .detail("json_path", format!("{path}.format")));
        }
    }
    check_find_by_of_mapping(mapping, field, schema, path)?;
    if field.data_type == DataType::Lookup && mapping.find_by.is_none() && mapping.parent_column_index.is_none() {
        return Err(ApiError::with_message(ErrorCode::MandatoryNotFound, "Required key find_by is not available")
            .detail("api_name", "find_by")
            .detail("json_path", format!("{path}.find_by")));
    }
    Ok(checked)
}

/// A lookup's `find_by` is `id` or a field of the related module; a user lookup's is `id` or `email`.
fn check_find_by_of_mapping(
    mapping: &FieldMapping,
    field: &Field,
    schema: &OrgSchema,
    path: &str,
) -> Result<(), ApiError> {
    let Some(find_by) = mapping.find_by.as_deref() else { return Ok(()) };
    let converter = field.data_type.facts().converter;
    let valid = if converter == Converter::Lookup {
        // A polymorphic lookup (`What_Id`) may find by any field: the row's module decides.
        let Some(related) = field.lookup_module.as_deref() else { return Ok(()) };
        let related = schema.module(related);
        find_by == ID_FIELD || related.is_some_and(|m| m.field(find_by).is_some())
    } else if converter == Converter::Owner || converter == Converter::User {
        find_by == ID_FIELD || find_by.eq_ignore_ascii_case("email")
    } else {
        true
    };
    if valid {
        return Ok(());
    }
    Err(ApiError::with_message(
        ErrorCode::InvalidData,
        format!("find_by {find_by} cannot find {} values", field.api_name),
    )
    .detail("api_name", "find_by")
    .detail("json_path", format!("{path}.find_by")))
}

fn check_index(mapping: &FieldMapping, csv: &CsvEntry, path: &str) -> Result<(), ApiError> {
    match mapping.index {
        Some(index) if index as usize >= csv.header.len() => Err(ApiError::new(ErrorCode::ColumnIndexNotFound)
            .detail("api_name", mapping.api_name.clone())
            .detail("json_path", format!("{path}.index"))),
        _ => Ok(()),
    }
}

/// The first three mapped columns, in mapping order, each once.
fn echo_columns(mappings: &[FieldMapping]) -> Vec<u32> {
    let mut columns = Vec::with_capacity(3);
    for mapping in mappings {
        let Some(index) = mapping.index else { continue };
        if columns.len() == 3 {
            break;
        }
        if !columns.contains(&index) {
            columns.push(index);
        }
    }
    columns
}

fn check_mandatory(operation: Operation, module: &Module, mappings: &[FieldMapping]) -> Result<(), ApiError> {
    if operation == Operation::Update {
        return Ok(());
    }
    let is_mapped = |name: &str| mappings.iter().any(|m| m.api_name == name);
    let layout_mapped = is_mapped("Layout");
    let mut missing: Vec<String> = module
        .system_mandatory_fields()
        .filter(|field| !is_mapped(&field.api_name))
        .map(|field| field.api_name.clone())
        .collect();
    if !layout_mapped {
        if let Some(layout) = module.default_layout() {
            for name in &layout.mandatory_fields {
                if !is_mapped(name) && !missing.contains(name) {
                    missing.push(name.clone());
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::MandatoryFieldsNotMapped).detail("api_names", missing))
}

#[cfg(test)]
mod tests;
