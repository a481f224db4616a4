//! The upload file API's success answer (`FILE_UPLOAD_SUCCESS`).

use serde::{Deserialize, Serialize};

/// `details` of `FILE_UPLOAD_SUCCESS`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedFile {
    pub file_id: String,
    pub created_time: String,
}

/// The code and message of a successful upload, exactly as Zoho sends them.
pub const UPLOAD_SUCCESS_CODE: &str = "FILE_UPLOAD_SUCCESS";
pub const UPLOAD_SUCCESS_MESSAGE: &str = "file uploaded.";
