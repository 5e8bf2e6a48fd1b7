//! The public API as the gateway and the CLI use it.

use policy::{
    Context, Outcome, Policy, PolicySet, PolicyType, Principal, PrincipalKind, Request, Severity,
    Value,
};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn compiled_policies_are_shareable() {
    assert_send_sync::<Policy>();
    assert_send_sync::<Principal>();
    assert_send_sync::<Context>();
}

#[test]
fn parse_reports_the_first_error_with_its_position() {
    let text = "{\n  'Version': '2012-10-17'\n}";
    let e = Policy::parse(text, PolicyType::Identity).unwrap_err();
    assert_eq!((e.line(), e.column()), (2, 3));
    assert!(e.message().contains("Python dict"));
    assert!(e.to_string().starts_with("line 2, column 3: single quote"));
    let p = Policy::parse(
        r#"{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        PolicyType::Identity,
    )
    .unwrap();
    assert_eq!(
        (p.version(), p.id(), p.statement_count()),
        (Some("2012-10-17"), Some("x"), 1)
    );
    assert_eq!(p.kind(), PolicyType::Identity);
    assert!(p.text().contains("s3:*"));
}

#[test]
fn validate_reports_statements_by_sid_or_index() {
    let text = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"One","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"s3:prefix":"home"}}},
        {"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:SourceVpce":"v"}}}]}"#;
    let f = policy::validate(text, PolicyType::Identity);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().all(|f| f.severity == Severity::Warning));
    assert_eq!(f[0].statement.as_deref(), Some("One"));
    assert_eq!(f[1].statement.as_deref(), Some("#1"));
    assert_eq!(f[0].line, 2);
}

#[test]
fn keys_added_as_new_are_found_as_inserted_ones_are() {
    let mut c = Context::new();
    c.insert_new("aws:SourceVpce", "vpce-1");
    c.insert_new("aws:SecureTransport", false);
    c.insert("AWS:SOURCEVPCE", "vpce-2");
    assert_eq!(c.len(), 2);
    assert_eq!(
        c.get("aws:sourcevpce"),
        Some(&Value::Single("vpce-2".into()))
    );
    assert_eq!(
        c.get("AWS:SecureTransport"),
        Some(&Value::Single("false".into()))
    );
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "already in the context")]
fn a_key_added_as_new_twice_is_a_bug_caught_in_debug_builds() {
    let mut c = Context::new();
    c.insert_new("aws:SourceVpce", "vpce-1");
    c.insert_new("aws:sourcevpce", "vpce-2");
}

#[test]
fn context_keys_are_case_insensitive_and_typed_values_become_strings() {
    let mut c = Context::new();
    c.insert("aws:SourceVpce", "vpce-1");
    c.insert("AWS:SOURCEVPCE", "vpce-2");
    c.insert("aws:SecureTransport", true);
    c.insert("s3:max-keys", 10i64);
    c.insert("aws:TagKeys", vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(c.len(), 4);
    assert_eq!(
        c.get("aws:sourcevpce"),
        Some(&Value::Single("vpce-2".into()))
    );
    assert_eq!(
        c.get("aws:securetransport"),
        Some(&Value::Single("true".into()))
    );
    assert_eq!(c.get("S3:MAX-KEYS"), Some(&Value::Single("10".into())));
    assert!(c.get("aws:tagkeys").is_some_and(Value::is_multi));
    assert_eq!(c.remove("aws:TAGKEYS").map(|v| v.as_slice().len()), Some(2));
    assert!(!c.contains("aws:TagKeys"));
}

#[test]
fn principals_from_arns() {
    let s =
        Principal::from_arn("arn:aws:sts::111122223333:assumed-role/DataScience/alice").unwrap();
    assert_eq!(s.kind(), PrincipalKind::AssumedRole);
    assert_eq!(s.role_arn(), "arn:aws:iam::111122223333:role/DataScience");
    assert_eq!(
        s.principal_arn(),
        "arn:aws:iam::111122223333:role/DataScience"
    );
    assert_eq!(s.name(), "alice");
    assert_eq!(s.account(), "111122223333");
    assert_eq!(
        Principal::from_arn("111122223333").unwrap().kind(),
        PrincipalKind::Root
    );
    assert_eq!(
        Principal::from_arn("arn:aws:iam::111122223333:root")
            .unwrap()
            .arn(),
        "arn:aws:iam::111122223333:root"
    );
    assert_eq!(
        Principal::from_arn("s3.amazonaws.com").unwrap().kind(),
        PrincipalKind::Service
    );
    assert_eq!(
        Principal::from_arn("anonymous").unwrap().kind(),
        PrincipalKind::Anonymous
    );
    assert_eq!(
        Principal::from_arn("arn:aws:sts::111122223333:federated-user/carol")
            .unwrap()
            .kind(),
        PrincipalKind::FederatedUser
    );
    assert!(Principal::from_arn("arn:aws:iam::111122223333:group/ds").is_none());
    assert!(Principal::from_arn("bob").is_none());
    let u = Principal::user(
        "arn:aws:iam::111122223333:user/alice",
        "AIDAEXAMPLE",
        "alice",
    )
    .with_tag("team", "red");
    let mut c = Context::new();
    c.insert("aws:username", "someone-else");
    c.add_principal_keys(&u);
    assert_eq!(
        c.get("aws:username"),
        Some(&Value::Single("someone-else".into())),
        "existing keys are kept"
    );
    assert_eq!(
        c.get("aws:userid"),
        Some(&Value::Single("AIDAEXAMPLE".into()))
    );
    assert_eq!(
        c.get("aws:PrincipalTag/team"),
        Some(&Value::Single("red".into()))
    );
    assert_eq!(
        c.get("aws:PrincipalType"),
        Some(&Value::Single("User".into()))
    );
}

#[test]
fn explain_records_the_failed_condition() {
    let p = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyVpce","Effect":"Allow","Action":"s3:GetObject","Resource":"*",
            "Condition":{"StringEquals":{"aws:SourceVpce":["vpce-1","vpce-2"]}}}]}"#,
        PolicyType::Identity,
    )
    .unwrap();
    let who = Principal::user(
        "arn:aws:iam::111122223333:user/alice",
        "AIDAEXAMPLE",
        "alice",
    );
    let ctx = Context::new().with("aws:SourceVpce", "vpce-9");
    let req = Request {
        principal: &who,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        resource_account: None,
        context: &ctx,
    };
    let refs = [&p];
    let set = PolicySet {
        identity: &refs,
        ..Default::default()
    };
    let (d, trace) = policy::explain(&req, &set);
    assert_eq!(d, policy::evaluate(&req, &set));
    assert_eq!(d.outcome(), Outcome::ImplicitlyDenied);
    assert!(!d.is_allowed());
    let st = &trace.policies[0].statements[0];
    assert_eq!(st.statement, "OnlyVpce");
    assert!(st.action && st.resource == Some(true) && !st.applies);
    let c = &st.conditions[0];
    assert_eq!(
        (c.operator.as_str(), c.key.as_str(), c.result),
        ("StringEquals", "aws:SourceVpce", false)
    );
    assert_eq!(
        c.request_values.as_deref(),
        Some(&["vpce-9".to_owned()][..])
    );
    assert_eq!(
        c.policy_values,
        vec!["vpce-1".to_owned(), "vpce-2".to_owned()]
    );
    assert_eq!(
        d.message(&req),
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:GetObject action"
    );
    let text = trace.to_string();
    assert!(text.contains("StringEquals aws:SourceVpce: request [\"vpce-9\"] vs policy [\"vpce-1\", \"vpce-2\"] => false"), "{text}");
}

#[test]
fn policy_types_have_names() {
    for k in PolicyType::ALL {
        assert_eq!(k.as_str().parse::<PolicyType>(), Ok(k));
    }
    assert!("acl".parse::<PolicyType>().is_err());
    assert_eq!(PolicyType::Vpce.phrase(), ("a", "VPC endpoint policy"));
}
