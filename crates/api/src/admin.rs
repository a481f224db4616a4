//! Administration: orgs, users, OAuth clients, tokens, grant codes, and the org schema (custom
//! modules, fields, layouts, a mirrored real org). Served under `/bulkwrite/v1/admin/` behind
//! the admin credential, and used directly by `bulkwrite admin …`.

mod credits;
mod profiles;
mod service;
mod taxes;

pub use service::{
    Admin, AdminError, CreatedClient, CreatedOrg, NewClientRequest, NewGrantRequest, NewLayoutRequest, NewOrgRequest,
    NewTokenRequest, NewUserRequest,
};
pub use taxes::TaxRequest;
