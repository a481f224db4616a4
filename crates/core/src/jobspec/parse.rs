//! Structural reading of a create-job body: required keys first (`MISSING_REQUIRED_KEY`), then
//! types and enumerated values (`INVALID_DATA`, `INVALID_CALLBACK_METHOD`), in that order (the
//! first failure wins). Unknown keys are ignored, as Zoho does.

use bulkwrite_wire::{
    ApiError, Callback, CreateJobRequest, DefaultValue, ErrorCode, FieldMapping, ModuleRef, Operation, ResourceRequest,
};
use serde_json::{Map, Value};

/// Most resources a job may name (OAS limit).
pub const MAX_RESOURCES: usize = crate::limits::ZOHO_MAX_RESOURCES;
/// Most `file_names` one resource may list (OAS limit).
pub const MAX_FILE_NAMES: usize = crate::limits::ZOHO_MAX_FILE_NAMES;
/// Longest name `file_names` may hold, in characters (OAS limit).
pub const MAX_FILE_NAME_CHARS: usize = crate::limits::ZOHO_MAX_FILE_NAME_CHARS;

/// Reads the raw body of `POST /crm/bulk/{v}/write`.
pub fn parse_body(body: &[u8]) -> Result<CreateJobRequest, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::new(ErrorCode::RequestBodyNotSupported))?;
    if text.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::RequestBodyNotSupported));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| ApiError::new(ErrorCode::RequestBodyNotSupported))?;
    parse_request(&value)
}

/// Reads a create-job document.
pub fn parse_request(value: &Value) -> Result<CreateJobRequest, ApiError> {
    let Some(body) = value.as_object() else {
        return Err(ApiError::new(ErrorCode::InvalidData).detail("expected_data_type", "jsonobject"));
    };
    check_required_keys(body)?;
    read_request(body)
}

fn check_required_keys(body: &Map<String, Value>) -> Result<(), ApiError> {
    for key in ["operation", "resource"] {
        if is_absent(body.get(key)) {
            return Err(ApiError::missing_key(key));
        }
    }
    if let Some(callback) = body.get("callback").and_then(Value::as_object) {
        for key in ["url", "method"] {
            if is_absent(callback.get(key)) {
                return Err(ApiError::missing_key(key));
            }
        }
    }
    let Some(resources) = body.get("resource").and_then(Value::as_array) else {
        return Ok(());
    };
    for resource in resources.iter().filter_map(Value::as_object) {
        check_resource_keys(resource)?;
    }
    Ok(())
}

fn check_resource_keys(resource: &Map<String, Value>) -> Result<(), ApiError> {
    if is_absent(resource.get("type")) {
        return Err(ApiError::missing_key("type"));
    }
    if is_absent(resource.get("module")) {
        return Err(ApiError::missing_key("module"));
    }
    if let Some(module) = resource.get("module").and_then(Value::as_object) {
        if is_absent(module.get("api_name")) {
            return Err(ApiError::missing_key("api_name"));
        }
    }
    if is_absent(resource.get("file_id")) {
        // Recorded exchange: the key is written `fileid` in this sentence.
        return Err(ApiError::missing_key("fileid"));
    }
    let Some(mappings) = resource.get("field_mappings").and_then(Value::as_array) else {
        return Ok(());
    };
    for mapping in mappings.iter().filter_map(Value::as_object) {
        let Some(api_name) = mapping.get("api_name").filter(|v| !v.is_null()) else {
            return Err(ApiError::missing_key("api_name"));
        };
        let has_default = !is_absent(mapping.get("default_value"));
        if is_absent(mapping.get("index")) && !has_default {
            let name = api_name.as_str().unwrap_or_default();
            return Err(ApiError::with_message(
                ErrorCode::MissingRequiredKey,
                format!("required key index for field {name} is not found in request body."),
            ));
        }
    }
    Ok(())
}

fn is_absent(value: Option<&Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

fn invalid(api_name: &str, path: &str, expected: &str) -> ApiError {
    ApiError::invalid_key(api_name, path).detail("expected_data_type", expected)
}

fn read_request(body: &Map<String, Value>) -> Result<CreateJobRequest, ApiError> {
    let operation_text = body.get("operation").and_then(Value::as_str);
    let operation = match operation_text {
        None => return Err(invalid("operation", "$.operation", "string")),
        Some(text) => Operation::parse(text).ok_or_else(|| {
            ApiError::invalid_key("operation", "$.operation")
                .detail("supported_values", ["insert", "update", "upsert"].as_slice())
        })?,
    };
    let ignore_empty = optional_bool(body, "ignore_empty", "$.ignore_empty")?;
    let character_encoding = optional_string(body, "character_encoding", "$.character_encoding")?;
    if character_encoding.as_deref().is_some_and(|label| !crate::csvread::is_known_encoding(label)) {
        return Err(ApiError::invalid_key("character_encoding", "$.character_encoding").detail(
            "reason",
            "not a character encoding this server knows (e.g. UTF-8, ISO-8859-1, windows-1252, UTF-16LE)",
        ));
    }
    let callback = match body.get("callback") {
        None | Some(Value::Null) => None,
        Some(Value::Object(callback)) => Some(read_callback(callback)?),
        Some(_) => return Err(invalid("callback", "$.callback", "jsonobject")),
    };
    let Some(items) = body.get("resource").and_then(Value::as_array) else {
        return Err(invalid("resource", "$.resource", "jsonarray"));
    };
    if items.is_empty() {
        return Err(ApiError::missing_key("resource"));
    }
    if items.len() > MAX_RESOURCES {
        return Err(ApiError::with_message(ErrorCode::LimitExceeded, "too many resources")
            .detail("api_name", "resource")
            .detail("json_path", "$.resource")
            .detail("maximum_length", MAX_RESOURCES));
    }
    let mut resource = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        resource.push(read_resource(item, index)?);
    }
    Ok(CreateJobRequest { operation, ignore_empty, character_encoding, callback, resource })
}

fn read_callback(callback: &Map<String, Value>) -> Result<Callback, ApiError> {
    let Some(url) = callback.get("url").and_then(Value::as_str) else {
        return Err(invalid("url", "$.callback.url", "string"));
    };
    let method = callback.get("method").and_then(Value::as_str).unwrap_or_default();
    if !method.eq_ignore_ascii_case("post") {
        return Err(
            ApiError::new(ErrorCode::InvalidCallbackMethod).detail("supported_callback_methods", ["post"].as_slice())
        );
    }
    Ok(Callback { url: url.to_string(), method: "post".to_string() })
}

fn read_resource(item: &Value, index: usize) -> Result<ResourceRequest, ApiError> {
    let path = format!("$.resource[{index}]");
    let Some(resource) = item.as_object() else {
        return Err(invalid("resource", &path, "jsonobject"));
    };
    let kind = resource.get("type").and_then(Value::as_str);
    if kind != Some("data") {
        return Err(
            ApiError::invalid_key("type", &format!("{path}.type")).detail("supported_values", ["data"].as_slice())
        );
    }
    let module = read_module(resource.get("module"), &path)?;
    let file_id = match resource.get("file_id") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) if number.is_u64() => number.to_string(),
        _ => return Err(invalid("file_id", &format!("{path}.file_id"), "string")),
    };
    let file_names = read_file_names(resource, &path)?;
    let find_by = optional_string(resource, "find_by", &format!("{path}.find_by"))?;
    let ignore_empty = optional_bool(resource, "ignore_empty", &format!("{path}.ignore_empty"))?;
    let field_mappings = match resource.get("field_mappings") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut mappings = Vec::with_capacity(items.len());
            for (mapping_index, mapping) in items.iter().enumerate() {
                mappings.push(read_mapping(mapping, &format!("{path}.field_mappings[{mapping_index}]"))?);
            }
            Some(mappings)
        }
        Some(_) => return Err(invalid("field_mappings", &format!("{path}.field_mappings"), "jsonarray")),
    };
    Ok(ResourceRequest { kind: "data".to_string(), module, file_id, file_names, find_by, ignore_empty, field_mappings })
}

fn read_module(value: Option<&Value>, path: &str) -> Result<ModuleRef, ApiError> {
    let module_path = format!("{path}.module");
    match value {
        Some(Value::String(name)) => Ok(ModuleRef::Name(name.clone())),
        Some(Value::Object(object)) => {
            let Some(api_name) = object.get("api_name").and_then(Value::as_str) else {
                return Err(invalid("api_name", &format!("{module_path}.api_name"), "string"));
            };
            let id = match object.get("id") {
                Some(Value::String(id)) => Some(id.clone()),
                Some(Value::Number(id)) => Some(id.to_string()),
                _ => None,
            };
            Ok(ModuleRef::Object { api_name: api_name.to_string(), id })
        }
        _ => Err(invalid("module", &module_path, "jsonobject")),
    }
}

fn read_file_names(resource: &Map<String, Value>, path: &str) -> Result<Option<Vec<String>>, ApiError> {
    let names_path = format!("{path}.file_names");
    let items = match resource.get("file_names") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("file_names", &names_path, "jsonarray")),
    };
    // The same answer as for too many resources: Zoho's OAS bounds both arrays.
    if items.len() > MAX_FILE_NAMES {
        return Err(ApiError::with_message(ErrorCode::LimitExceeded, "too many file names")
            .detail("api_name", "file_names")
            .detail("json_path", names_path)
            .detail("maximum_length", MAX_FILE_NAMES));
    }
    let mut names = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(name) = item.as_str() else {
            return Err(invalid("file_names", &names_path, "jsonarray"));
        };
        if name.chars().count() > MAX_FILE_NAME_CHARS {
            return Err(ApiError::invalid_key("file_names", &format!("{names_path}[{index}]"))
                .detail("maximum_length", MAX_FILE_NAME_CHARS));
        }
        names.push(name.to_string());
    }
    Ok(Some(names))
}

fn read_mapping(value: &Value, path: &str) -> Result<FieldMapping, ApiError> {
    let Some(mapping) = value.as_object() else {
        return Err(invalid("field_mappings", path, "jsonobject"));
    };
    let Some(api_name) = mapping.get("api_name").and_then(Value::as_str) else {
        return Err(invalid("api_name", &format!("{path}.api_name"), "string"));
    };
    let index = read_index(mapping, "index", api_name, path)?;
    let parent_column_index = read_index(mapping, "parent_column_index", api_name, path)?;
    let format = optional_string(mapping, "format", &format!("{path}.format"))?;
    let find_by = optional_string(mapping, "find_by", &format!("{path}.find_by"))?;
    let module = optional_string(mapping, "module", &format!("{path}.module"))?;
    let default_value = match mapping.get("default_value") {
        None | Some(Value::Null) => None,
        Some(Value::Object(object)) => Some(DefaultValue {
            value: default_scalar(object.get("value"), path)?,
            name: object.get("name").and_then(Value::as_str).map(str::to_string),
            module: object.get("module").and_then(Value::as_str).map(str::to_string),
        }),
        Some(_) => return Err(invalid("default_value", &format!("{path}.default_value"), "jsonobject")),
    };
    Ok(FieldMapping {
        api_name: api_name.to_string(),
        index,
        format,
        find_by,
        module,
        default_value,
        parent_column_index,
    })
}

/// A `default_value.value`: a string, number or boolean (absent or `null`: none).
fn default_scalar(value: Option<&Value>, path: &str) -> Result<Option<Value>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Ok(Some(scalar.clone())),
        Some(_) => Err(invalid("value", &format!("{path}.default_value.value"), "string, number or boolean")),
    }
}

fn read_index(mapping: &Map<String, Value>, key: &str, api_name: &str, path: &str) -> Result<Option<u32>, ApiError> {
    let key_path = format!("{path}.{key}");
    match mapping.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(index) if index < 0 => Err(ApiError::new(ErrorCode::ColumnIndexNotFound)
                .detail("api_name", api_name)
                .detail("json_path", key_path)),
            Some(index) => u32::try_from(index).map(Some).map_err(|_| {
                ApiError::new(ErrorCode::ColumnIndexNotFound).detail("api_name", api_name).detail("json_path", key_path)
            }),
            None => Err(invalid(key, &key_path, "integer")),
        },
        Some(_) => Err(invalid(key, &key_path, "integer")),
    }
}

fn optional_string(object: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, ApiError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(key, path, "string")),
    }
}

fn optional_bool(object: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, ApiError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(invalid(key, path, "boolean")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn seed() -> Value {
        json!({
            "operation": "insert",
            "ignore_empty": true,
            "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
            "resource": [{
                "type": "data",
                "module": "Leads",
                "file_id": "4150868000005379001",
                "field_mappings": [
                    {"api_name": "Last_Name", "index": 0},
                    {"api_name": "Owner", "index": 1},
                    {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"},
                    {"api_name": "Mobile", "index": 3},
                    {"api_name": "Layout", "index": 4}
                ]
            }]
        })
    }

    fn error_of(value: Value) -> (String, String, Value) {
        let error = parse_request(&value).unwrap_err();
        (error.code.as_str().to_string(), error.message, Value::Object(error.details))
    }

    #[test]
    fn the_seed_body_parses() {
        let request = parse_request(&seed()).unwrap();
        assert_eq!(request.operation, Operation::Insert);
        assert_eq!(request.ignore_empty, Some(true));
        let resource = &request.resource[0];
        assert_eq!(resource.module.api_name(), "Leads");
        let mappings = resource.field_mappings.as_ref().unwrap();
        assert_eq!(mappings[2].format.as_deref(), Some("yyyy/MM/dd"));
        assert_eq!(mappings[4].index, Some(4));
    }

    #[test]
    fn missing_file_id_is_the_recorded_error() {
        let mut body = seed();
        body["resource"][0].as_object_mut().unwrap().remove("file_id");
        let (code, message, details) = error_of(body);
        assert_eq!(code, "MISSING_REQUIRED_KEY");
        assert_eq!(message, "required key fileid is not found in request body.");
        assert_eq!(details, json!({}));
    }

    #[test]
    fn required_keys_come_before_types() {
        let mut body = seed();
        body["operation"] = json!("merge");
        body["resource"][0].as_object_mut().unwrap().remove("type");
        assert_eq!(error_of(body).1, "required key type is not found in request body.");
    }

    #[test]
    fn wrong_types_and_values_are_invalid_data() {
        let cases = [
            ("/operation", json!("merge"), "$.operation"),
            ("/ignore_empty", json!("yes"), "$.ignore_empty"),
            ("/resource/0/type", json!("meta"), "$.resource[0].type"),
            ("/resource/0/field_mappings/0/index", json!("0"), "$.resource[0].field_mappings[0].index"),
            ("/resource/0/module", json!(7), "$.resource[0].module"),
            ("/resource", json!({}), "$.resource"),
        ];
        for (pointer, value, path) in cases {
            let mut body = seed();
            *body.pointer_mut(pointer).unwrap() = value;
            let (code, _, details) = error_of(body);
            assert_eq!(code, "INVALID_DATA", "{pointer}");
            assert_eq!(details["json_path"], json!(path), "{pointer}");
        }
    }

    #[test]
    fn callback_method_must_be_post() {
        let mut body = seed();
        body["callback"]["method"] = json!("get");
        let (code, _, details) = error_of(body);
        assert_eq!(code, "INVALID_CALLBACK_METHOD");
        assert_eq!(details, json!({"supported_callback_methods": ["post"]}));
    }

    #[test]
    fn negative_index_is_column_index_not_found() {
        let mut body = seed();
        body["resource"][0]["field_mappings"][1]["index"] = json!(-1);
        assert_eq!(error_of(body).0, "COLUMN_INDEX_NOT_FOUND");
    }

    #[test]
    fn a_mapping_without_index_needs_a_default_value() {
        let mut body = seed();
        body["resource"][0]["field_mappings"][3].as_object_mut().unwrap().remove("index");
        assert_eq!(error_of(body).1, "required key index for field Mobile is not found in request body.");
        let mut with_default = seed();
        with_default["resource"][0]["field_mappings"][4] =
            json!({"api_name": "Layout", "default_value": {"value": "Standard"}});
        assert!(parse_request(&with_default).is_ok());
    }

    #[test]
    fn malformed_bodies_are_zoho_errors() {
        for body in [&b""[..], b"{", b"\xff\xfe", b"   "] {
            assert_eq!(parse_body(body).unwrap_err().code, ErrorCode::RequestBodyNotSupported);
        }
        assert_eq!(parse_body(b"[]").unwrap_err().code, ErrorCode::InvalidData);
    }

    #[test]
    fn an_unknown_character_encoding_is_refused_naming_the_key() {
        for label in ["klingon".to_string(), "u".repeat(100_000)] {
            let mut body = seed();
            body["character_encoding"] = json!(label);
            let (code, _, details) = error_of(body);
            assert_eq!(code, "INVALID_DATA");
            assert_eq!(details["api_name"], "character_encoding");
            assert_eq!(details["json_path"], "$.character_encoding");
        }
        for label in ["UTF-8", "latin1", "windows-1252", "UTF-16LE", " "] {
            let mut body = seed();
            body["character_encoding"] = json!(label);
            assert!(parse_request(&body).is_ok(), "{label}");
        }
    }

    #[test]
    fn a_default_value_must_be_a_string_number_or_boolean() {
        for value in [json!({"a": 1}), json!([1, 2])] {
            let mut body = seed();
            body["resource"][0]["field_mappings"][4] = json!({"api_name": "Layout", "default_value": {"value": value}});
            let (code, _, details) = error_of(body);
            assert_eq!(code, "INVALID_DATA");
            assert_eq!(details["json_path"], "$.resource[0].field_mappings[4].default_value.value");
        }
        for value in [json!("Standard"), json!(5), json!(1.5), json!(true), Value::Null] {
            let mut body = seed();
            body["resource"][0]["field_mappings"][4] = json!({"api_name": "Layout", "default_value": {"value": value}});
            assert!(parse_request(&body).is_ok(), "{value}");
        }
    }
}
