//! What the admin API and CLI do, without HTTP.

use std::sync::Arc;

use bulkwrite_core::clock::Clock;
use bulkwrite_core::ids::{OrgId, UserId};
use bulkwrite_core::schema::standard::standard_schema;
use bulkwrite_core::schema::{is_valid_api_name, CustomFieldSpec, CustomModuleSpec, Layout, OrgSchema};
use bulkwrite_store::ids::IdAllocator;
use bulkwrite_store::token::{generate_client_id, generate_client_secret, hash_token};
use bulkwrite_store::{ClientKind, OAuthClient, Org, Store, StoreError, User};
use serde::{Deserialize, Serialize};

use crate::oauth::password::hash_password;
use crate::oauth::service::{parse_scopes, TokenAnswer};
use crate::oauth::{OAuthError, TokenService};

/// Why an admin action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request is malformed or names something impossible; the message says what.
    #[error("{0}")]
    Invalid(String),
    /// What the request names does not exist (`user 123`).
    #[error("{0} not found")]
    NotFound(String),
    /// What the request would create exists already.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<OAuthError> for AdminError {
    fn from(error: OAuthError) -> AdminError {
        match error {
            OAuthError::Rejected(word) => AdminError::Invalid(word.to_string()),
            OAuthError::Store(error) => AdminError::Store(error),
        }
    }
}

/// A user to create.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUserRequest {
    /// First name (may be empty).
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email, unique in the org.
    pub email: String,
    /// `Administrator` (default for an org's first user) or `Standard`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Role (`CEO`, `Manager`, …); `CEO` when absent.
    #[serde(default)]
    pub role: Option<String>,
    /// The consent-page password.
    #[serde(default)]
    pub password: Option<String>,
}

/// An org to create.
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrgRequest {
    /// The company's name.
    pub company_name: String,
    /// IANA time zone (`Asia/Kolkata`); UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// ISO 4217 currency code; USD when absent.
    #[serde(default)]
    pub currency: Option<String>,
    /// The org's first user, an administrator.
    pub admin: NewUserRequest,
}

/// What creating an org made.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedOrg {
    /// The new org's `zgid`.
    pub org_id: String,
    /// The first user's id.
    pub user_id: String,
    /// The self client made for the first user.
    pub client_id: String,
    /// Its secret, shown this once.
    pub client_secret: String,
    /// A refresh token of the self client with every scope.
    pub refresh_token: String,
}

/// An OAuth client to create.
#[derive(Debug, Clone, Deserialize)]
pub struct NewClientRequest {
    /// The name shown in the console.
    pub name: String,
    /// `web` (consent page and redirect URIs) or `self_client`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Where the consent page may send grant codes (web clients).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The owner; the org's first user when absent.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A created client with its secret (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct CreatedClient {
    /// The client's id.
    pub client_id: String,
    /// Its secret, shown this once.
    pub client_secret: String,
    /// `web` or `self_client`.
    pub kind: String,
    /// Where the consent page may send grant codes.
    pub redirect_uris: Vec<String>,
}

/// An access token to mint directly.
#[derive(Debug, Clone, Deserialize)]
pub struct NewTokenRequest {
    /// The user the token acts as; the org's first user when absent.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Space- or comma-separated scopes (`ZohoCRM.bulk.ALL ZohoCRM.modules.ALL`).
    pub scopes: String,
    /// Also mint a refresh token (for the org's self client).
    #[serde(default)]
    pub refresh: bool,
}

/// A grant code to issue.
#[derive(Debug, Clone, Deserialize)]
pub struct NewGrantRequest {
    /// The self client of the org's first user when absent.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The user who grants; the org's first user when absent.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Space- or comma-separated scopes.
    pub scopes: String,
    /// The redirect URI the exchange must name, if any.
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// A layout to add.
#[derive(Debug, Clone, Deserialize)]
pub struct NewLayoutRequest {
    /// The module, by API name.
    pub module: String,
    /// The layout's name.
    pub name: String,
    /// API names of the fields the layout makes mandatory.
    #[serde(default)]
    pub mandatory_fields: Vec<String>,
}

/// Administration over one store.
#[derive(Clone)]
pub struct Admin {
    /// Where orgs, users, clients and tokens are stored.
    pub store: Arc<dyn Store>,
    /// Where new ids come from.
    pub ids: Arc<IdAllocator>,
    /// `api_domain` of minted tokens.
    pub api_domain: String,
    /// How long minted access tokens live.
    pub access_lifetime: chrono::Duration,
    /// The time of creations and of minted tokens.
    pub clock: Arc<dyn Clock>,
}

fn valid_email(email: &str) -> bool {
    let trimmed = email.trim();
    trimmed.len() <= 100 && trimmed.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
}

impl Admin {
    fn tokens(&self) -> TokenService {
        TokenService {
            store: self.store.clone(),
            api_domain: self.api_domain.clone(),
            access_lifetime: self.access_lifetime,
            clock: Arc::clone(&self.clock),
        }
    }

    pub(super) async fn org(&self, org: OrgId) -> Result<Org, AdminError> {
        self.store.get_org(org).await?.ok_or_else(|| AdminError::NotFound(format!("org {org}")))
    }

    pub(crate) async fn user_or_first(&self, org: OrgId, user: Option<&str>) -> Result<User, AdminError> {
        let users = self.store.users(org).await?;
        let found = match user {
            Some(text) => users.into_iter().find(|u| u.id.to_string() == text || u.email.eq_ignore_ascii_case(text)),
            None => users.into_iter().next(),
        };
        found.ok_or_else(|| AdminError::NotFound(format!("user {} of org {org}", user.unwrap_or("(first)"))))
    }

    fn user_from(
        &self,
        id: UserId,
        org: OrgId,
        request: &NewUserRequest,
        default_profile: &str,
    ) -> Result<User, AdminError> {
        if !valid_email(&request.email) {
            return Err(AdminError::Invalid(format!("'{}' is not an email address", request.email)));
        }
        if request.last_name.trim().is_empty() {
            return Err(AdminError::Invalid("last_name is required".into()));
        }
        Ok(User {
            id,
            org,
            first_name: request.first_name.trim().to_string(),
            last_name: request.last_name.trim().to_string(),
            email: request.email.trim().to_string(),
            profile: request.profile.clone().unwrap_or_else(|| default_profile.to_string()),
            role: request.role.clone().unwrap_or_else(|| "CEO".to_string()),
            active: true,
            created_at: self.clock.now(),
        })
    }

    /// Every org.
    pub async fn orgs(&self) -> Result<Vec<Org>, AdminError> {
        Ok(self.store.orgs().await?)
    }

    /// A further org with its admin user, a self client and that client's refresh token.
    pub async fn create_org(&self, request: NewOrgRequest, all_scopes: &[&str]) -> Result<CreatedOrg, AdminError> {
        let time_zone = request.time_zone.clone().unwrap_or_else(|| "UTC".to_string());
        if time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(AdminError::Invalid(format!("unknown time zone '{time_zone}'")));
        }
        let zgid = loop {
            let candidate = OrgId::new(rand::random_range(100_000_000..=999_999_999));
            if self.store.get_org(candidate).await?.is_none() {
                break candidate;
            }
        };
        let admin = self.user_from(UserId::new(self.ids.next_id().await?), zgid, &request.admin, "Administrator")?;
        let org = Org {
            zgid,
            id: self.ids.next_id().await?.to_string(),
            company_name: request.company_name.trim().to_string(),
            time_zone,
            currency: request.currency.clone().unwrap_or_else(|| "USD".to_string()),
            created_at: self.clock.now(),
        };
        self.store.create_org(org, admin.clone(), standard_schema()).await?;
        if let Some(password) = &request.admin.password {
            self.store.set_password_hash(zgid, admin.id, Some(hash_password(password))).await?;
        }
        let created = self
            .create_client(
                zgid,
                NewClientRequest {
                    name: "Self Client".into(),
                    kind: Some("self_client".into()),
                    redirect_uris: vec![],
                    user_id: None,
                },
            )
            .await?;
        let scopes: Vec<String> = all_scopes.iter().map(|s| s.to_string()).collect();
        let tokens = self.tokens().issue(Some(&created.client_id), zgid, admin.id, &scopes, true, None).await?;
        Ok(CreatedOrg {
            org_id: zgid.to_string(),
            user_id: admin.id.to_string(),
            client_id: created.client_id,
            client_secret: created.client_secret,
            refresh_token: tokens.refresh_token.unwrap_or_default(),
        })
    }

    /// A user of an org.
    pub async fn create_user(&self, org: OrgId, request: NewUserRequest) -> Result<User, AdminError> {
        self.org(org).await?;
        let user = self.user_from(UserId::new(self.ids.next_id().await?), org, &request, "Standard")?;
        match self.store.create_user(user.clone()).await {
            Err(StoreError::Conflict(_)) => {
                return Err(AdminError::Conflict(format!("{} is already a user of org {org}", user.email)))
            }
            other => other?,
        }
        if let Some(password) = &request.password {
            self.store.set_password_hash(org, user.id, Some(hash_password(password))).await?;
        }
        Ok(user)
    }

    /// Sets a user's consent-page password.
    pub async fn set_password(&self, org: OrgId, user: &str, password: &str) -> Result<(), AdminError> {
        let found = self.user_or_first(org, Some(user)).await?;
        Ok(self.store.set_password_hash(org, found.id, Some(hash_password(password))).await?)
    }

    /// An OAuth client; its secret is returned once.
    pub async fn create_client(&self, org: OrgId, request: NewClientRequest) -> Result<CreatedClient, AdminError> {
        self.org(org).await?;
        let kind = match request.kind.as_deref().unwrap_or("web") {
            "web" => ClientKind::Web,
            "self_client" | "self" => ClientKind::SelfClient,
            other => return Err(AdminError::Invalid(format!("client kind must be web or self_client, not {other}"))),
        };
        if kind == ClientKind::Web && request.redirect_uris.is_empty() {
            return Err(AdminError::Invalid("a web client needs at least one redirect URI".into()));
        }
        for uri in &request.redirect_uris {
            if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                return Err(AdminError::Invalid(format!("'{uri}' is not an http(s) URL")));
            }
        }
        let owner = self.user_or_first(org, request.user_id.as_deref()).await?;
        let secret = generate_client_secret();
        let client = OAuthClient {
            client_id: generate_client_id(),
            org,
            user: owner.id,
            secret_hash: hash_token(&secret),
            name: request.name.trim().to_string(),
            kind,
            redirect_uris: request.redirect_uris.clone(),
            created_at: self.clock.now(),
        };
        self.store.create_client(client.clone()).await?;
        Ok(CreatedClient {
            client_id: client.client_id,
            client_secret: secret,
            kind: kind.as_str().into(),
            redirect_uris: client.redirect_uris,
        })
    }

    /// An access token (and, when asked, a refresh token) minted directly.
    pub async fn create_token(&self, org: OrgId, request: NewTokenRequest) -> Result<TokenAnswer, AdminError> {
        self.org(org).await?;
        let user = self.user_or_first(org, request.user_id.as_deref()).await?;
        let scopes = parse_scopes(&request.scopes)?;
        let client = self.self_client(org).await?;
        Ok(self.tokens().issue(Some(&client.client_id), org, user.id, &scopes, request.refresh, None).await?)
    }

    async fn self_client(&self, org: OrgId) -> Result<OAuthClient, AdminError> {
        let clients = self.store.clients(org).await?;
        clients
            .into_iter()
            .find(|c| c.kind == ClientKind::SelfClient)
            .ok_or_else(|| AdminError::NotFound(format!("a self client of org {org}")))
    }

    /// A one-time grant code, as Zoho's console issues for a self client.
    pub async fn create_grant(&self, org: OrgId, request: NewGrantRequest) -> Result<String, AdminError> {
        let client = match &request.client_id {
            Some(id) => self
                .store
                .get_client(id)
                .await?
                .filter(|c| c.org == org)
                .ok_or_else(|| AdminError::NotFound(format!("client {id}")))?,
            None => self.self_client(org).await?,
        };
        let user = match request.user_id.as_deref() {
            Some(user) => self.user_or_first(org, Some(user)).await?.id,
            None => client.user,
        };
        let scopes = parse_scopes(&request.scopes)?;
        Ok(self.tokens().create_grant(&client, user, scopes, request.redirect_uri.clone()).await?)
    }

    async fn change_schema(
        &self,
        org: OrgId,
        change: impl FnOnce(&mut OrgSchema) -> Result<(), String> + Send + 'static,
    ) -> Result<OrgSchema, AdminError> {
        self.org(org).await?;
        match self.store.update_org_schema(org, Box::new(change)).await? {
            Ok(schema) => Ok(schema),
            Err(reason) => Err(AdminError::Invalid(reason)),
        }
    }

    /// Reserves ids for a schema change (changes run synchronously inside the store).
    async fn fresh_ids(&self, count: usize) -> Result<Vec<String>, AdminError> {
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            ids.push(self.ids.next_id().await?.to_string());
        }
        Ok(ids)
    }

    /// A custom (or subform) module.
    pub async fn add_module(&self, org: OrgId, spec: CustomModuleSpec) -> Result<OrgSchema, AdminError> {
        let ids = self.fresh_ids(32).await?;
        self.change_schema(org, move |schema| {
            let mut ids = ids.into_iter();
            schema.apply_custom_module(&spec, &mut || ids.next().unwrap_or_default()).map_err(|e| e.to_string())
        })
        .await
    }

    /// A custom field (declaring it again replaces its definition).
    pub async fn add_field(&self, org: OrgId, spec: CustomFieldSpec) -> Result<OrgSchema, AdminError> {
        let id = self.ids.next_id().await?.to_string();
        self.change_schema(org, move |schema| {
            let existing = schema.module(&spec.module).and_then(|m| m.field(&spec.api_name)).map(|f| f.id.clone());
            schema.apply_custom_field(&spec, existing.unwrap_or(id)).map_err(|e| e.to_string())
        })
        .await
    }

    /// A layout and the fields it makes mandatory.
    pub async fn add_layout(&self, org: OrgId, request: NewLayoutRequest) -> Result<OrgSchema, AdminError> {
        let id = self.ids.next_id().await?.to_string();
        self.change_schema(org, move |schema| {
            let module = schema
                .module_mut(&request.module)
                .ok_or_else(|| format!("module {} does not exist", request.module))?;
            if request.name.trim().is_empty()
                || module.layouts.iter().any(|l| l.name.eq_ignore_ascii_case(request.name.trim()))
            {
                return Err(format!("layout name '{}' is empty or taken", request.name));
            }
            for field in &request.mandatory_fields {
                if !is_valid_api_name(field) || module.field(field).is_none() {
                    return Err(format!("{field} is not a field of {}", module.api_name));
                }
            }
            module.layouts.push(Layout {
                id,
                name: request.name.trim().to_string(),
                mandatory_fields: request.mandatory_fields.clone(),
            });
            Ok(())
        })
        .await
    }

    /// Replaces the org's schema (a mirrored real org).
    pub async fn replace_schema(&self, org: OrgId, schema: OrgSchema) -> Result<OrgSchema, AdminError> {
        self.change_schema(org, move |stored| {
            *stored = schema;
            Ok(())
        })
        .await
    }
}
