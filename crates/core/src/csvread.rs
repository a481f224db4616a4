//! Streaming CSV reading: encoding and delimiter detection, RFC 4180 rows.
//! (Interface stub; implementation in progress.)
