//! The entry points shared by the fuzz targets `logs_filter_pattern` and `next_tokens` (under
//! `fuzz/`) and the tests that replay their saved corpora. Input never panics; only a broken invariant does.

use serde_json::{Value, json};

use crate::pattern;

/// The first line of `data` is a filter pattern, the other lines are events: parsing never
/// panics, and a pattern that parses matches every event without panicking; the empty pattern
/// matches everything.
pub fn filter_pattern(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let source = lines.next().unwrap_or("");
    let events: Vec<&str> = lines.collect();
    match pattern::parse(source) {
        Ok(p) => {
            for e in &events {
                let hit = p.matches(e);
                if source.trim().is_empty() {
                    assert!(hit, "the empty pattern must match {e:?}");
                }
            }
        }
        Err(message) => assert!(!message.is_empty(), "an error needs a message"),
    }
}

/// Inputs served by one environment of [`next_token`] before it is rebuilt.
const REBUILD: usize = 512;

struct Env {
    harness: gateway::fuzzing::Harness,
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let logs = match crate::Logs::open(&store, &config) {
            Ok(l) => l,
            Err(e) => panic!("logs: {e}"),
        };
        let harness = gateway::fuzzing::Harness::new(config, store, vec![logs.service_def()]);
        let ok = |op: &str, input: Value| match harness.run("logs", op, input) {
            Some(Ok(_)) => {}
            other => panic!("fixture {op}: {other:?}"),
        };
        for g in ["g1", "g2", "g3"] {
            ok("CreateLogGroup", json!({"logGroupName": g}));
        }
        let now = storage::audit::now_millis();
        for s in ["s1", "s2", "s3"] {
            ok(
                "CreateLogStream",
                json!({"logGroupName": "g1", "logStreamName": s}),
            );
            let events: Vec<Value> = (0..5)
                .map(|i| json!({"timestamp": now - 5 + i, "message": format!("{s} event {i}")}))
                .collect();
            ok(
                "PutLogEvents",
                json!({"logGroupName": "g1", "logStreamName": s, "logEvents": events}),
            );
        }
        Env { harness }
    }
}

thread_local! {
    static ENV: std::cell::RefCell<Option<(Env, usize)>> = const { std::cell::RefCell::new(None) };
}

/// Byte 0 is a page size, the rest a `nextToken` given to `DescribeLogGroups`,
/// `DescribeLogStreams` (by name and by last event time, both orders), `GetLogEvents` (both
/// directions) and `FilterLogEvents`, over three groups, three streams and fifteen events:
/// AWS errors, never a panic. An empty token starts from the first page and follows the tokens
/// each operation returns, which it must accept.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        let page = |op: &str, input: Value, out: &str| {
            env.harness
                .page("logs", op, input, ("nextToken", out), &token, 20);
        };
        page("DescribeLogGroups", json!({"limit": limit}), "nextToken");
        for (order, descending) in [("LogStreamName", false), ("LastEventTime", true)] {
            page(
                "DescribeLogStreams",
                json!({"logGroupName": "g1", "limit": limit, "orderBy": order,
                       "descending": descending}),
                "nextToken",
            );
        }
        for (head, out) in [(true, "nextForwardToken"), (false, "nextBackwardToken")] {
            page(
                "GetLogEvents",
                json!({"logGroupName": "g1", "logStreamName": "s1", "limit": limit,
                       "startFromHead": head}),
                out,
            );
        }
        page(
            "FilterLogEvents",
            json!({"logGroupName": "g1", "limit": limit}),
            "nextToken",
        );
    });
}

/// Byte 0 picks a CloudWatch Logs operation (in name order), the rest is its JSON input over the fixture
/// of [`next_token`]. It is validated, declared and handled (events, metric and subscription filters, retention, tags): AWS
/// errors, never a panic.
pub fn request(data: &[u8]) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, |env| {
        env.harness.request("logs", data, str::to_string);
    });
}
