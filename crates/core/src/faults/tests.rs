use super::*;

fn request(json: &str) -> NewFault {
    serde_json::from_str(json).unwrap()
}

fn parse(json: &str) -> Result<FaultRule, ApiError> {
    FaultRule::parse(&request(json), 99)
}

fn refusal(json: &str) -> (String, String) {
    let error = parse(json).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidData, "{json}");
    (error.details["api_name"].as_str().unwrap().to_string(), error.message)
}

#[test]
fn the_pinned_examples_parse() {
    let rule = parse(
        r#"{"method": "post", "path": "/crm/bulk/*/write", "status": 429, "code": "TOO_MANY_REQUESTS", "times": 2}"#,
    )
    .unwrap();
    assert_eq!(rule.kind(), FaultKind::Http);
    assert_eq!(rule.method.as_deref(), Some("POST"));
    assert_eq!(rule.action, FaultAction::Http(HttpFault { error: Some(ErrorCode::TooManyRequests), latency_ms: None }));
    assert_eq!(rule.times, Some(2));

    let rule = parse(r#"{"path": "/crm/v2/Leads", "status": 500, "probability": 0.3, "seed": 7}"#).unwrap();
    assert_eq!(rule.chance, Some(Chance { probability: 0.3, seed: 7 }));
    assert_eq!(rule.action, FaultAction::Http(HttpFault { error: Some(ErrorCode::InternalError), latency_ms: None }));

    let rule = parse(r#"{"latency_ms": 500}"#).unwrap();
    assert_eq!(rule.action, FaultAction::Http(HttpFault { error: None, latency_ms: Some(500) }));

    let rule = parse(r#"{"job": {"fail_at_row": 3}, "org": "123456789"}"#).unwrap();
    assert_eq!(rule.kind(), FaultKind::Job);
    assert_eq!(rule.org, Some(OrgId::new(123_456_789)));

    let rule = parse(r#"{"callback": {"timeout": true}, "times": 1}"#).unwrap();
    assert_eq!(rule.action, FaultAction::Callback(CallbackFault::Timeout));
    let rule = parse(r#"{"callback": {"status": 500}}"#).unwrap();
    assert_eq!(rule.action, FaultAction::Callback(CallbackFault::Status(500)));
}

#[test]
fn a_status_alone_takes_the_tables_first_code_and_a_code_its_own_status() {
    let code_of = |json: &str| match parse(json).unwrap().action {
        FaultAction::Http(HttpFault { error, .. }) => error.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(code_of(r#"{"status": 401}"#), ErrorCode::InvalidToken);
    assert_eq!(code_of(r#"{"status": 429}"#), ErrorCode::TooManyRequests);
    assert_eq!(code_of(r#"{"status": 500}"#), ErrorCode::InternalError);
    assert_eq!(code_of(r#"{"code": "INVALID_TOKEN"}"#), ErrorCode::InvalidToken);
    let stored = parse(r#"{"code": "TOO_MANY_REQUESTS"}"#).unwrap().to_wire();
    assert_eq!((stored.status, stored.code.as_deref()), (Some(429), Some("TOO_MANY_REQUESTS")));
}

#[test]
fn refusals_name_the_key() {
    let cases = [
        (r"{}", "status"),
        (r#"{"times": 2}"#, "status"),
        (r#"{"status": 429, "job": {"slow_ms": 1}}"#, "job"),
        (r#"{"code": "NOT_A_CODE"}"#, "code"),
        (r#"{"status": 400, "code": "TOO_MANY_REQUESTS"}"#, "status"),
        (r#"{"status": 418}"#, "status"),
        (r#"{"status": 429, "times": 0}"#, "times"),
        (r#"{"status": 429, "probability": 1.5}"#, "probability"),
        (r#"{"status": 429, "seed": 3}"#, "seed"),
        (r#"{"status": 429, "path": "crm/v2/Leads"}"#, "path"),
        (r#"{"status": 429, "path": "/crm/v*/Leads"}"#, "path"),
        (r#"{"status": 429, "path": "/bulkwrite/v1/faults"}"#, "path"),
        (r#"{"status": 429, "method": "PO ST"}"#, "method"),
        (r#"{"status": 429, "org": "abc"}"#, "org"),
        (r#"{"latency_ms": 600001}"#, "latency_ms"),
        (r#"{"job": {}}"#, "job"),
        (r#"{"job": {"slow_ms": 600001}}"#, "slow_ms"),
        (r#"{"job": {"fail_at_row": 2}, "path": "/crm/v2/Leads"}"#, "path"),
        (r#"{"callback": {"status": 500}, "method": "POST"}"#, "method"),
        (r#"{"callback": {}}"#, "callback"),
        (r#"{"callback": {"status": 500, "timeout": true}}"#, "callback"),
        (r#"{"callback": {"status": 1000}}"#, "callback"),
    ];
    for (json, key) in cases {
        let (named, message) = refusal(json);
        assert_eq!(named, key, "{json}: {message}");
    }
}

#[test]
fn the_normalised_form_round_trips_and_fills_the_seed() {
    let rule =
        parse(r#"{"method": "get", "path": "/crm/v2/*", "code": "INTERNAL_ERROR", "probability": 0.5}"#).unwrap();
    let wire = rule.to_wire();
    assert_eq!(wire.seed, Some(99), "a probability without a seed gets the one chosen");
    assert_eq!(wire.method.as_deref(), Some("GET"));
    assert_eq!(FaultRule::parse(&wire, 1).unwrap(), rule);
    for json in [r#"{"job": {"fail_chunk_once": true, "slow_ms": 5}}"#, r#"{"callback": {"timeout": true}}"#] {
        let rule = parse(json).unwrap();
        assert_eq!(FaultRule::parse(&rule.to_wire(), 1).unwrap(), rule);
    }
}

#[test]
fn paths_match_segment_by_segment() {
    let rule = parse(r#"{"method": "POST", "path": "/crm/bulk/*/write", "status": 429}"#).unwrap();
    assert!(rule.matches_request("POST", "/crm/bulk/v2/write"));
    assert!(rule.matches_request("post", "/crm/bulk/v8/write/"));
    assert!(!rule.matches_request("GET", "/crm/bulk/v2/write"));
    assert!(!rule.matches_request("POST", "/crm/bulk/v2/write/123"));
    assert!(!rule.matches_request("POST", "/crm/bulk/write"));
    assert!(!rule.matches_request("POST", "/crm/bulk/v2/read"));
    let any = parse(r#"{"status": 500}"#).unwrap();
    assert!(any.matches_request("GET", "/crm/v2/Leads"));
    assert!(any.matches_request("POST", "/oauth/v2/token"));
    assert!(!any.matches_request("POST", "/bulkwrite/v1/faults"), "never bulkwrite's own paths");
    assert!(!any.matches_request("GET", "/healthz"));
    let job = parse(r#"{"job": {"slow_ms": 1}}"#).unwrap();
    assert!(!job.matches_request("GET", "/crm/v2/Leads"), "a job rule is no HTTP rule");
}

#[test]
fn orgs_limit_where_a_rule_applies() {
    let any = parse(r#"{"status": 500}"#).unwrap();
    assert!(any.applies_to(None));
    assert!(any.applies_to(Some(OrgId::new(1))));
    let one = parse(r#"{"status": 500, "org": "123456789"}"#).unwrap();
    assert!(one.applies_to(Some(OrgId::new(123_456_789))));
    assert!(!one.applies_to(Some(OrgId::new(1))));
    assert!(!one.applies_to(None), "a request whose org cannot be told is not that org's");
}

#[test]
fn times_caps_the_firings_and_a_seed_decides_the_same_matches() {
    let twice = parse(r#"{"status": 429, "times": 2}"#).unwrap();
    assert!(twice.fires(1, 0));
    assert!(twice.fires(2, 1));
    assert!(!twice.fires(3, 2));
    let chance = Chance { probability: 0.3, seed: 7 };
    let picks: Vec<u64> = (1..=1000).filter(|k| chance.fires(*k)).collect();
    let again: Vec<u64> = (1..=1000).filter(|k| chance.fires(*k)).collect();
    assert_eq!(picks, again);
    assert!((250..350).contains(&picks.len()), "about 30% of 1000: {}", picks.len());
    let other: Vec<u64> = (1..=1000).filter(|k| Chance { probability: 0.3, seed: 8 }.fires(*k)).collect();
    assert_ne!(picks, other, "another seed, other matches");
    assert!((1..=100).all(|k| Chance { probability: 1.0, seed: 1 }.fires(k)));
    assert!((1..=100).all(|k| !Chance { probability: 0.0, seed: 1 }.fires(k)));
}
