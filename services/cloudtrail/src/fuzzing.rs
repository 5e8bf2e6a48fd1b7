//! The entry point shared by the fuzz target `next_tokens` (under `fuzz/`) and the test that
//! replays its saved corpus. Input never panics; only a broken invariant does.

use std::cell::RefCell;
use std::collections::BTreeSet;

use gateway::fuzzing::Harness;
use serde_json::json;
use storage::audit::{AuditEvent, AuditResource, LookupAttribute, LookupQuery};

use crate::CloudTrail;

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 512;

/// Events in the fixture trail.
const EVENTS: i64 = 7;

struct Env {
    harness: Harness,
    store: storage::Store,
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let harness = Harness::new(config, store.clone(), vec![CloudTrail::new().service_def()]);
        let now = storage::audit::now_millis();
        for i in 0..EVENTS {
            let body = json!({"eventVersion": "1.11", "eventName": format!("Op{}", i % 3),
                "recipientAccountId": "000000000000"});
            let event = AuditEvent {
                // Two events share each time: pages must still cut between them.
                event_time: now - 10_000 + (i / 2) * 1000,
                event_id: format!("00000000-0000-4000-8000-{i:012}"),
                event_name: format!("Op{}", i % 3),
                event_source: "iam.amazonaws.com".into(),
                username: Some("alice".into()),
                access_key_id: None,
                read_only: i % 2 == 0,
                resources: vec![AuditResource {
                    resource_type: Some("AWS::IAM::Role".into()),
                    resource_name: format!("role{}", i % 2),
                }],
                body: body.to_string().into_bytes(),
            };
            if let Err(e) = harness.block_on(store.audit().append(event)) {
                panic!("fixture event: {e}");
            }
        }
        Env { harness, store }
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

/// Byte 0 is a page size, the rest a `NextToken`: the audit trail's lookup answers with a page or
/// `InvalidToken` (never another error), and `LookupEvents` with AWS errors, alone and with
/// each lookup attribute. From the first page (an empty token), following the tokens lists
/// every event once, and `LookupEvents` accepts every token it returns.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        let query = LookupQuery {
            max_results: limit as usize,
            next_token: Some(token.clone()),
            ..LookupQuery::default()
        };
        match env.store.audit().lookup(&query) {
            Ok(page) => assert!(page.events.len() <= limit as usize),
            Err(storage::Error::InvalidToken) => {}
            Err(e) => panic!("lookup with token {token:?}: {e}"),
        }
        let page = |input: serde_json::Value| {
            env.harness.page(
                "cloudtrail",
                "LookupEvents",
                input,
                ("NextToken", "NextToken"),
                &token,
                20,
            );
        };
        page(json!({"MaxResults": limit}));
        for key in [
            "EventName",
            "ResourceName",
            "ResourceType",
            "ReadOnly",
            "Username",
        ] {
            let value = if key == "ReadOnly" { "true" } else { "Op1" };
            page(json!({"MaxResults": limit,
                        "LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]}));
        }
        if token.is_empty() {
            walk(env, limit as usize, Vec::new());
            walk(
                env,
                limit as usize,
                vec![LookupAttribute::ResourceName("role1".into())],
            );
        }
    });
}

/// Follows the tokens from the first page: every matching event once, newest first.
fn walk(env: &Env, limit: usize, attributes: Vec<LookupAttribute>) {
    let mut seen = BTreeSet::new();
    let mut token = None;
    let mut last = None;
    for _ in 0..=EVENTS {
        let query = LookupQuery {
            max_results: limit,
            next_token: token.clone(),
            attributes: attributes.clone(),
            ..LookupQuery::default()
        };
        let page = match env.store.audit().lookup(&query) {
            Ok(p) => p,
            Err(e) => panic!("lookup with our own token {token:?}: {e}"),
        };
        for e in &page.events {
            assert!(seen.insert(e.seq), "event {} listed twice", e.seq);
            let key = (e.event.event_time, e.seq);
            assert!(last.is_none_or(|l| key < l), "out of order at {}", e.seq);
            last = Some(key);
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let expected = if attributes.is_empty() {
        EVENTS
    } else {
        EVENTS / 2
    };
    assert_eq!(seen.len() as i64, expected, "events listed page by page");
}
