//! Which callback URLs may be called, against SSRF: `https` to public addresses, unless the
//! operator allows given hosts or networks (then `http` too). Refused: no host, `localhost`-style
//! names, and literal or resolved addresses that are loopback, private, link-local, CGNAT,
//! unique-local, unspecified, multicast or broadcast (IPv4-mapped IPv6 forms included). A host that
//! does not resolve yet does not refuse the job; it is a delivery failure, retried. Checked at job
//! creation and again for every resolved address at delivery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bulkwrite_wire::{ApiError, ErrorCode};
use ipnet::IpNet;

/// Longest URL accepted.
const MAX_URL_LENGTH: usize = 2048;

/// The operator's allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackPolicy {
    hosts: Vec<String>,
    networks: Vec<IpNet>,
}

/// A URL that passed the static checks; its host still has to resolve to allowed addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    /// The host name or address literal.
    pub host: String,
    /// The port, the scheme's default when the URL names none.
    pub port: u16,
    /// Set when the URL names an address rather than a host name.
    pub literal: Option<IpAddr>,
    /// Whether the host is on the allow-list by name (any address it resolves to is fine).
    pub host_allowed: bool,
}

impl CallbackPolicy {
    /// Reads a comma-separated list of host names and CIDR networks (`127.0.0.1/32`, `10.0.0.0/8`,
    /// `hooks.internal`). A bare address means that address alone.
    pub fn parse(list: &str) -> Result<CallbackPolicy, String> {
        let mut policy = CallbackPolicy::default();
        for item in list.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if let Ok(network) = item.parse::<IpNet>() {
                policy.networks.push(network);
            } else if let Ok(address) = item.parse::<IpAddr>() {
                policy.networks.push(IpNet::from(address));
            } else if item.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                policy.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!("'{item}' is neither a host name nor a network"));
            }
        }
        Ok(policy)
    }

    fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|allowed| allowed == host)
    }

    fn allows_address(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|network| network.contains(&address))
    }

    /// Static checks of a URL: scheme, host, names that are never public, literal addresses.
    pub fn check_url(&self, url: &str) -> Result<CallbackTarget, ApiError> {
        let refuse = || refused(url);
        if url.len() > MAX_URL_LENGTH {
            return Err(refuse());
        }
        let parsed = url::Url::parse(url).map_err(|_| refuse())?;
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(address)) => address.to_string(),
            Some(url::Host::Ipv6(address)) => address.to_string(),
            None => return Err(refuse()),
        };
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(address)) => Some(IpAddr::V4(address)),
            Some(url::Host::Ipv6(address)) => Some(IpAddr::V6(address)),
            _ => None,
        };
        let host_allowed = self.allows_host(&host) || literal.is_some_and(|a| self.allows_address(a));
        match parsed.scheme() {
            "https" => {}
            "http" if host_allowed => {}
            _ => return Err(refuse()),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse());
        }
        if literal.is_none() && !host_allowed && is_local_name(&host) {
            return Err(refuse());
        }
        if let Some(address) = literal {
            if !host_allowed && !is_public(address) {
                return Err(refuse());
            }
        }
        let port = parsed.port_or_known_default().ok_or_else(refuse)?;
        Ok(CallbackTarget { host, port, literal, host_allowed })
    }

    /// Whether a resolved address of `target` may be called.
    pub fn address_allowed(&self, target: &CallbackTarget, address: IpAddr) -> bool {
        target.host_allowed || self.allows_address(address) || is_public(address)
    }

    /// Whether `host` (a name being resolved for delivery) may be reached at `address`.
    pub fn allows(&self, host: &str, address: IpAddr) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allows_host(&host) || self.allows_address(address) || is_public(address)
    }
}

/// The path of the built-in receiver of the test controls (`/bulkwrite/v1/inbox/{name}`).
pub const INBOX_PATH: &str = "/bulkwrite/v1/inbox/";

/// What the built-in receiver answers a delivery it stored (`200`, JSON).
pub const INBOX_ANSWER: &str = r#"{"status":"success"}"#;

/// The inbox name when `url` is the server's own built-in receiver: the scheme, host and port
/// of `public_url` (the base the server hands out), then `/bulkwrite/v1/inbox/{name}` with one
/// non-empty segment, no query, credentials or fragment. Such a URL is a callback target
/// without an allow-list entry (when the test controls are on): the dispatcher stores the
/// delivery itself and never opens a connection.
pub fn own_inbox(url: &str, public_url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let base = url::Url::parse(public_url).ok()?;
    let same_origin = parsed.scheme() == base.scheme()
        && parsed.host_str().map(str::to_ascii_lowercase) == base.host_str().map(str::to_ascii_lowercase)
        && parsed.port_or_known_default() == base.port_or_known_default();
    if !same_origin || parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return None;
    }
    let prefix = format!("{}{INBOX_PATH}", base.path().trim_end_matches('/'));
    let name = parsed.path().strip_prefix(&prefix)?;
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| name.to_string())
}

/// The recorded refusal: `Invalid URL '<url>' for callback.` with `reason: possible ssrf attempt`.
pub fn refused(url: &str) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidCallbackUrl, format!("Invalid URL '{url}' for callback."))
        .detail("reason", "possible ssrf attempt")
}

fn is_local_name(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.ends_with(".local")
        || host.ends_with(".internal")
        || host.ends_with(".localdomain")
        || !host.contains('.')
}

/// IPv4-mapped and IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        IpAddr::V4(v4) => IpAddr::V4(v4),
    }
}

/// Whether an address is publicly routable (not loopback, private, link-local, CGNAT, …).
pub fn is_public(address: IpAddr) -> bool {
    match canonical(address) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, _, _] = address.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    let benchmark = a == 198 && (b == 18 || b == 19);
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        || a >= 240
        || cgnat
        || benchmark)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && address.segments()[1] == 0x0db8;
    let nat64 = first == 0x0064 && address.segments()[1] == 0xff9b;
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        || unique_local
        || link_local
        || documentation
        || nat64
        || address.to_ipv4().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(policy: &CallbackPolicy, url: &str) -> Option<String> {
        policy.check_url(url).err().map(|error| error.code.as_str().to_string())
    }

    #[test]
    fn the_recorded_refusal() {
        let error = CallbackPolicy::default().check_url("http://requestbin.fullcontact.com").unwrap_err();
        assert_eq!(error.message, "Invalid URL 'http://requestbin.fullcontact.com' for callback.");
        assert_eq!(serde_json::Value::Object(error.details), serde_json::json!({"reason": "possible ssrf attempt"}));
    }

    #[test]
    fn public_https_passes_and_unsafe_targets_do_not() {
        let policy = CallbackPolicy::default();
        assert_eq!(code(&policy, "https://www.zoho.com/in/crm/"), None);
        assert_eq!(code(&policy, "https://203.0.114.9/hook"), None);
        for url in [
            "http://example.com/hook",
            "ftp://example.com/",
            "https://localhost/hook",
            "https://api.localhost/hook",
            "https://intranet/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://224.0.0.1/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert_eq!(code(&policy, url).as_deref(), Some("INVALID_CALLBACK_URL"), "{url}");
        }
    }

    #[test]
    fn the_allow_list_opens_networks_and_hosts_over_http() {
        let policy = CallbackPolicy::parse("127.0.0.1/32, hooks.test").unwrap();
        assert_eq!(code(&policy, "http://127.0.0.1:9000/cb"), None);
        assert_eq!(code(&policy, "http://hooks.test/cb"), None);
        assert_eq!(code(&policy, "http://127.0.0.2/cb").as_deref(), Some("INVALID_CALLBACK_URL"));
        let target = policy.check_url("https://example.com/").unwrap();
        assert!(policy.address_allowed(&target, "127.0.0.1".parse().unwrap()));
        assert!(!policy.address_allowed(&target, "10.0.0.1".parse().unwrap()));
        assert!(policy.address_allowed(&target, "93.184.216.34".parse().unwrap()));
    }

    #[test]
    fn bad_allow_entries_are_refused() {
        assert!(CallbackPolicy::parse("not a host!").is_err());
    }

    #[test]
    fn the_own_inbox_is_recognised_by_origin_and_path() {
        let base = "http://127.0.0.1:8080";
        assert_eq!(own_inbox("http://127.0.0.1:8080/bulkwrite/v1/inbox/hooks", base).as_deref(), Some("hooks"));
        assert_eq!(own_inbox("http://127.0.0.1:8080/bulkwrite/v1/inbox/a.b-c_1", base).as_deref(), Some("a.b-c_1"));
        assert_eq!(
            own_inbox("https://crm.example:443/bulkwrite/v1/inbox/x", "https://CRM.example").as_deref(),
            Some("x")
        );
        assert_eq!(
            own_inbox("https://crm.example/zoho/bulkwrite/v1/inbox/x", "https://crm.example/zoho/").as_deref(),
            Some("x")
        );
        for other in [
            "http://127.0.0.1:8081/bulkwrite/v1/inbox/hooks",
            "https://127.0.0.1:8080/bulkwrite/v1/inbox/hooks",
            "http://10.0.0.1:8080/bulkwrite/v1/inbox/hooks",
            "http://127.0.0.1:8080/bulkwrite/v1/inbox/",
            "http://127.0.0.1:8080/bulkwrite/v1/inbox/a/b",
            "http://127.0.0.1:8080/bulkwrite/v1/inbox/hooks?x=1",
            "http://user@127.0.0.1:8080/bulkwrite/v1/inbox/hooks",
            "http://127.0.0.1:8080/bulkwrite/v1/faults",
        ] {
            assert_eq!(own_inbox(other, base), None, "{other}");
        }
    }
}
