//! Entry points shared by the fuzz targets `sagemaker_studio` and `sagemaker_request` (under
//! `fuzz/`) and the test that replays their saved corpora. Input never panics; only a broken
//! invariant does.
//!
//! Both run against an in-memory SageMaker (with IAM, KMS, EC2 and Logs) whose account has an
//! execution role `studio` trusted by SageMaker, a `PublicInternetOnly` domain with a user
//! profile `alice`, and a signed-in Studio session of `alice` from 127.0.0.1; the environment
//! is rebuilt every [`REBUILD`] inputs so state made by earlier inputs stays small.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use gateway::fuzzing::Harness;
use http::{HeaderName, HeaderValue, Method};
use serde_json::{Value, json};

use crate::SageMaker;
use crate::studio::{NetContext, SignIn};

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 128;

/// Where fuzzed Studio requests come from, unless they use [`ELSEWHERE`].
const PEER: &str = "127.0.0.1:50000";

/// Another client address: a request whose target starts with `/!` comes from here.
const ELSEWHERE: &str = "192.0.2.7:50000";

/// Placeholders a fuzzed request may use for the fixture's random identifiers: the domain id,
/// a fresh sign-in token of `alice` (issued for each input), the session cookie's value, and
/// the container credentials endpoint's authorization token.
pub const PLACEHOLDERS: [&str; 4] = ["DOMAIN-ID", "SIGN-IN", "SESSION", "CREDENTIALS"];

struct Env {
    harness: Harness,
    svc: Arc<SageMaker>,
    domain_id: String,
    session: String,
    credentials: String,
}

fn ok(harness: &Harness, service: &str, op: &str, input: Value) -> Value {
    match harness.run(service, op, input) {
        Some(Ok(v)) => v,
        other => panic!("fixture {op}: {other:?}"),
    }
}

fn peer(addr: &str) -> SocketAddr {
    match addr.parse() {
        Ok(a) => a,
        Err(e) => panic!("{addr}: {e}"),
    }
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let opened = (|| -> Result<_, storage::Error> {
            let iam = iam::Iam::open(&store, &config)?;
            iam.ensure_account(
                &config.account_id,
                "AKIAFUZZROOT00000001",
                "fuzz-root-secret",
            )?;
            let kms = kms::Kms::open(&store, &config)?;
            let (ec2, ec2_defs) = ec2::fuzzing::open(&store, &config)?;
            let svc = SageMaker::open(&store, &config, iam.clone(), kms.clone(), ec2)?;
            Ok((iam, kms, ec2_defs, svc))
        })();
        let (iam, kms, ec2_defs, svc) = match opened {
            Ok(o) => o,
            Err(e) => panic!("services: {e}"),
        };
        let mut defs = iam.service_defs();
        defs.extend(ec2_defs);
        defs.extend([kms.service_def(), svc.service_def()]);
        let harness = Harness::new(config.clone(), store, defs);
        svc.install(harness.gateway());
        // Presigned URLs name the public listener's address.
        let listening = harness.block_on(harness.gateway().listen(
            "public",
            peer("127.0.0.1:0"),
            gateway::Location::Public,
        ));
        if let Err(e) = listening {
            panic!("public listener: {e}");
        }
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let role = ok(
            &harness,
            "iam",
            "CreateRole",
            json!({"RoleName": "studio", "AssumeRolePolicyDocument": trust.to_string()}),
        );
        let role_arn = role["Role"]["Arn"].as_str().unwrap_or_default().to_string();
        let domain = ok(
            &harness,
            "sagemaker",
            "CreateDomain",
            json!({"DomainName": "fuzz", "AuthMode": "IAM",
                   "AppNetworkAccessType": "PublicInternetOnly",
                   "DefaultUserSettings": {"ExecutionRole": role_arn}}),
        );
        let domain_id = domain["DomainArn"]
            .as_str()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or_default()
            .to_string();
        ok(
            &harness,
            "sagemaker",
            "CreateUserProfile",
            json!({"DomainId": domain_id, "UserProfileName": "alice"}),
        );
        let mut env = Env {
            harness,
            svc,
            domain_id,
            session: String::new(),
            credentials: String::new(),
        };
        let token = env.sign_in();
        let signed = env.serve(
            Method::GET,
            &format!("/studio/{}/auth?token={token}", env.domain_id),
            &[],
            Bytes::new(),
            PEER,
        );
        env.session = signed
            .headers()
            .get(http::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .and_then(|c| c.split_once('='))
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| panic!("fixture sign-in: {}", signed.status()));
        let cookie = format!("studio-session={}", env.session);
        let environment = env.serve(
            Method::GET,
            &format!("/studio/{}/api/environment", env.domain_id),
            &[("cookie", cookie.as_str())],
            Bytes::new(),
            PEER,
        );
        let body = env.harness.body(environment);
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        env.credentials = v["Environment"]["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            .as_str()
            .unwrap_or_else(|| panic!("fixture environment: {v}"))
            .to_string();
        env
    }

    /// A fresh sign-in token of `alice`, usable from [`PEER`].
    fn sign_in(&self) -> String {
        let issued = self.svc.issue_sign_in(SignIn {
            account: "000000000000".into(),
            domain_id: self.domain_id.clone(),
            profile: "alice".into(),
            space: None,
            context: NetContext::Public(peer(PEER).ip()),
            expires_at: crate::time::now() + 300.0,
            session_seconds: 1800,
            landing: None,
        });
        match issued {
            Ok(t) => t,
            Err(e) => panic!("sign-in token: {e}"),
        }
    }

    fn serve(
        &self,
        method: Method,
        target: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        from: &str,
    ) -> http::Response<gateway::body::Body> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(target)
            .header(http::header::HOST, "localhost:9000");
        for (k, v) in headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                b = b.header(k, v);
            }
        }
        let Ok(request) = b.body(body) else {
            panic!("fixture request {target}");
        };
        match self.harness.raw(request, peer(from)) {
            Some(r) => r,
            None => panic!("no route for {target}"),
        }
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

fn with_env(f: impl FnOnce(&Env)) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, f);
}

/// A Studio request as text: `METHOD TARGET`, header lines (`Name: value`), an empty line, the
/// body; [`PLACEHOLDERS`] stand for the fixture's identifiers. A target starting with `/!` comes
/// from another address than the session's. The request is served by the Studio pages (sign-in,
/// landing page, app environment, container credentials, home directory files): every answer
/// is a page or a JSON document with a status below 500 (a bad request is the client's error).
pub fn studio(data: &[u8]) {
    let (head, body) = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (&data[..i], &data[i + 2..]))
        .unwrap_or((data, &[][..]));
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/studio/"));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return;
    };
    let (target, from) = match target.strip_prefix("/!") {
        Some(rest) => (format!("/{rest}"), ELSEWHERE),
        None => (target.to_string(), PEER),
    };
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    with_env(|env| {
        let token = env.sign_in();
        let values = [
            env.domain_id.as_str(),
            token.as_str(),
            env.session.as_str(),
            env.credentials.as_str(),
        ];
        let fill = |s: &str| {
            let mut out = s.to_string();
            for (p, v) in PLACEHOLDERS.iter().zip(values) {
                out = out.replace(p, v);
            }
            out
        };
        let target = fill(&target);
        if !target.starts_with('/') || target.parse::<http::Uri>().is_err() {
            return;
        }
        let filled: Vec<(String, String)> =
            headers.iter().map(|(k, v)| (fill(k), fill(v))).collect();
        let mut b = http::Request::builder().method(method).uri(target.as_str());
        for (k, v) in &filled {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                b = b.header(k, v);
            }
        }
        let Ok(request) = b.body(Bytes::copy_from_slice(body)) else {
            return;
        };
        let Some(response) = env.harness.raw(request, peer(from)) else {
            return;
        };
        let status = response.status();
        let text = env.harness.body(response);
        assert!(
            status.as_u16() < 500,
            "{target}: {status} {}",
            String::from_utf8_lossy(&text)
        );
    });
}

/// Byte 0 picks a SageMaker operation (every one served); the rest is its JSON input, in which
/// `DOMAIN-ID` stands for the fixture domain's id. The input is validated against the model as
/// the gateway does, then the operation's declaration (its condition keys computed from the
/// request) and its handler run: AWS errors, never a panic.
pub fn request(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let op = crate::OPERATIONS[which as usize % crate::OPERATIONS.len()];
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    with_env(|env| {
        let Ok(input) = serde_json::from_str::<Value>(&text.replace("DOMAIN-ID", &env.domain_id))
        else {
            return;
        };
        let _ = env.harness.run("sagemaker", op, input);
    });
}

/// Byte 0 is a page size, the rest a `NextToken` as SageMaker's list operations read it (`sm-N`):
/// a page within the items, and a next token that reads back. Errors, never a panic.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    let items: Vec<u32> = (0..7).collect();
    let max = limit as usize;
    if let Ok((page, next)) = crate::ops::page(items.clone(), Some(&token), max) {
        assert!(page.len() <= max);
        if let Some(n) = next {
            assert!(
                crate::ops::page(items, Some(&n), max).is_ok(),
                "next token {n}"
            );
        }
    }
}
