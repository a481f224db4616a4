//! The upload file API's success answer (`FILE_UPLOAD_SUCCESS`).

use serde::{Deserialize, Serialize};

/// `details` of `FILE_UPLOAD_SUCCESS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedFile {
    /// The upload's id, a 19-digit string, which a create request names as `file_id`.
    pub file_id: String,
    /// When the file was uploaded, ISO 8601 in the org's zone.
    pub created_time: String,
}

/// The code of a successful upload, exactly as Zoho sends it.
pub const UPLOAD_SUCCESS_CODE: &str = "FILE_UPLOAD_SUCCESS";
/// The message of a successful upload, exactly as Zoho sends it.
pub const UPLOAD_SUCCESS_MESSAGE: &str = "file uploaded.";
