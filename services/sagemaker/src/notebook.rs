//! Presigned notebook instance URLs, served on plain HTTP under `/notebook/<name>`.
//!
//! `CreatePresignedNotebookInstanceUrl` issues a sign-in token (`authToken`) that is good for
//! five minutes and once, bound like a Studio token to the network context the request came
//! from: the caller's address on the public endpoint, or the VPC of the VPC endpoint it came
//! through. The URL points at the listener the notebook is reached through from there: the
//! public endpoint, or that VPC's `aws.sagemaker.<region>.notebook` endpoint. Opening it from
//! another context fails with "Auth token containing insufficient permissions"; expired or
//! used, with "Invalid or Expired Auth Token". Otherwise it starts a session (a cookie bound
//! to the same context, lasting `SessionExpirationDurationInSeconds`) on the instance's
//! landing page: what Jupyter's tree would sit beside, the instance as DescribeNotebookInstance
//! shows it. No Jupyter server runs.

use std::sync::Arc;

use gateway::body::Body;
use gateway::raw::{RawHandler, RawRequest};
use gateway::{AwsError, BoxFuture, Call};
use http::{Method, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::Batch;

use crate::kinds::Kind;
use crate::ops::string;
use crate::signin::{Bearer, digest, random_token};
use crate::studio::{
    EXPIRED, INSUFFICIENT, NetContext, cookie, error_page, escape, json_response, page,
    query_param, respond,
};
use crate::{SageMaker, time};

/// The path prefix of every notebook instance page.
pub const PREFIX: &str = "/notebook/";

const COOKIE: &str = "notebook-session";

/// How long a presigned notebook instance URL is good for, in seconds.
pub(crate) const URL_LIFETIME: f64 = 300.0;

/// A notebook instance sign-in token waiting to be used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NotebookSignIn {
    pub account: String,
    /// The instance's name, as the request spelled it.
    pub name: String,
    pub context: NetContext,
    pub expires_at: f64,
    pub session_seconds: u64,
}

impl Bearer for NotebookSignIn {
    const TABLE: &'static str = "sagemaker.notebook_sign_in";
    fn expires_at(&self) -> f64 {
        self.expires_at
    }
}

/// A signed-in notebook instance session, kept under the digest of its cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NotebookSession {
    account: String,
    name: String,
    context: NetContext,
    expires_at: f64,
}

impl Bearer for NotebookSession {
    const TABLE: &'static str = "sagemaker.notebook_session";
    fn expires_at(&self) -> f64 {
        self.expires_at
    }
}

/// Whether two spellings name the same instance (names are unique regardless of case).
fn same(a: &str, b: &str) -> bool {
    Kind::NotebookInstance.id_of(a) == Kind::NotebookInstance.id_of(b)
}

impl SageMaker {
    /// Issues a single-use notebook instance sign-in token for `call`; its record commits
    /// with the call's audit record.
    pub(crate) async fn issue_notebook_sign_in(
        &self,
        call: &Call,
        sign_in: NotebookSignIn,
    ) -> Result<String, AwsError> {
        let token = random_token()?;
        let pending = {
            let mut batch = Batch::new();
            let mut t = self.tokens()?;
            t.sweep(time::now(), &mut batch);
            t.notebook_sign_ins
                .insert(digest(&token), sign_in, &mut batch);
            call.submit(batch)
        };
        pending.await?;
        Ok(token)
    }
}

/// The notebook instance pages.
pub(crate) struct NotebookPages {
    svc: Arc<SageMaker>,
}

impl NotebookPages {
    pub(crate) fn new(svc: Arc<SageMaker>) -> NotebookPages {
        NotebookPages { svc }
    }
}

impl RawHandler for NotebookPages {
    fn handle(&self, req: RawRequest) -> BoxFuture<Response<Body>> {
        let svc = self.svc.clone();
        Box::pin(async move { route(&svc, req).await })
    }
}

async fn route(svc: &SageMaker, req: RawRequest) -> Response<Body> {
    let context = NetContext::of(&req.location, Some(req.peer.ip()));
    let path = req.request.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error_page(404, "Not found");
    };
    let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
    if name.is_empty() {
        return error_page(404, "Not found");
    }
    if req.request.method() != Method::GET {
        return error_page(405, "Method not allowed");
    }
    let query = req.request.uri().query().unwrap_or("");
    match sub {
        "" if query_param(query, "authToken").is_some() => sign_in(svc, name, context, query).await,
        "" | "tree" => match session_of(svc, &req, name, &context) {
            Ok(s) => landing(svc, &s),
            Err(r) => r.page(),
        },
        "api/status" => match session_of(svc, &req, name, &context) {
            Ok(s) => status(svc, &s),
            Err(r) => r.page(),
        },
        _ => error_page(404, "Not found"),
    }
}

/// Opens a presigned URL: checks the token, starts a session, sets its cookie.
async fn sign_in(svc: &SageMaker, name: &str, context: NetContext, query: &str) -> Response<Body> {
    let token = query_param(query, "authToken").unwrap_or("");
    let key = digest(token);
    let now = time::now();
    let mut batch = Batch::new();
    let found = {
        let Ok(mut t) = svc.tokens() else {
            return error_page(500, "internal error");
        };
        match t.notebook_sign_ins.get(&key) {
            None => None,
            Some(s) if s.expires_at <= now => {
                t.notebook_sign_ins.take(&key, &mut batch);
                None
            }
            // Another instance's URL with this token: invalid here, still good at its own.
            Some(s) if !same(&s.name, name) => return error_page(403, EXPIRED),
            Some(s) if s.context != context => {
                tracing::info!(notebook = %name, created = %s.context.describe(),
                    opened = %context.describe(), "notebook sign-in from another network context refused");
                return error_page(403, INSUFFICIENT);
            }
            Some(_) => t.notebook_sign_ins.take(&key, &mut batch),
        }
    };
    let Some(sign_in) = found else {
        let _ = svc.store().submit(batch).await;
        return error_page(403, EXPIRED);
    };
    let Ok(session_id) = random_token() else {
        let _ = svc.store().submit(batch).await;
        return error_page(500, "internal error");
    };
    let session = NotebookSession {
        account: sign_in.account.clone(),
        name: sign_in.name.clone(),
        context,
        expires_at: now + sign_in.session_seconds as f64,
    };
    let pending = match svc.tokens() {
        Ok(mut t) => {
            t.notebook_sessions
                .insert(digest(&session_id), session, &mut batch);
            svc.store().submit(batch)
        }
        Err(_) => return error_page(500, "internal error"),
    };
    if pending.await.is_err() {
        return error_page(500, "internal error");
    }
    let mut r = respond(302, "text/plain", "");
    let location = format!("{PREFIX}{name}/tree");
    let set_cookie = format!(
        "{COOKIE}={session_id}; Path={PREFIX}{name}/; HttpOnly; SameSite=Strict; Max-Age={}",
        sign_in.session_seconds
    );
    for (header, value) in [
        (http::header::LOCATION, location),
        (http::header::SET_COOKIE, set_cookie),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            r.headers_mut().insert(header, v);
        }
    }
    r
}

/// Why a page is not shown: its status and message.
struct Refusal(u16, String);

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal(status, message.into())
    }

    fn page(self) -> Response<Body> {
        error_page(self.0, &self.1)
    }
}

/// The session a request's cookie names, if it is live, of this instance and context.
fn session_of(
    svc: &SageMaker,
    req: &RawRequest,
    name: &str,
    context: &NetContext,
) -> Result<NotebookSession, Refusal> {
    let Some(id) = cookie(&req.request, COOKIE) else {
        return Err(Refusal::new(
            403,
            "Open the notebook instance with a presigned URL (CreatePresignedNotebookInstanceUrl).",
        ));
    };
    let t = svc
        .tokens()
        .map_err(|_| Refusal::new(500, "internal error"))?;
    match t.notebook_sessions.get(&digest(&id)) {
        Some(s) if same(&s.name, name) && s.expires_at > time::now() => {
            if &s.context != context {
                return Err(Refusal::new(403, INSUFFICIENT));
            }
            Ok(s.clone())
        }
        _ => Err(Refusal::new(
            403,
            "The notebook session has expired. Open the notebook instance again.",
        )),
    }
}

/// The instance as DescribeNotebookInstance shows it, if it is in service.
fn instance(svc: &SageMaker, s: &NotebookSession) -> Result<Value, Refusal> {
    let now = time::now();
    let kind = Kind::NotebookInstance;
    let doc = svc
        .read(|st| {
            Ok(st
                .get(&s.account, kind, &kind.id_of(&s.name))
                .map(|r| r.view(now)))
        })
        .ok()
        .flatten()
        .ok_or_else(|| {
            Refusal::new(
                404,
                format!("The notebook instance {} no longer exists.", s.name),
            )
        })?;
    let status = string(&doc, &["NotebookInstanceStatus"]).unwrap_or_default();
    if status != "InService" {
        return Err(Refusal::new(
            409,
            format!(
                "The notebook instance {} is {status}: it can be opened only when it is InService.",
                s.name
            ),
        ));
    }
    Ok(doc)
}

fn status(svc: &SageMaker, s: &NotebookSession) -> Response<Body> {
    match instance(svc, s) {
        Ok(doc) => json_response(
            200,
            &json!({
                "NotebookInstanceName": doc.get("NotebookInstanceName"),
                "NotebookInstanceArn": doc.get("NotebookInstanceArn"),
                "NotebookInstanceStatus": doc.get("NotebookInstanceStatus"),
                "InstanceType": doc.get("InstanceType"),
                "RoleArn": doc.get("RoleArn"),
                "kernels": 0,
                "connections": 0,
            }),
        ),
        Err(r) => r.page(),
    }
}

/// The landing page.
fn landing(svc: &SageMaker, s: &NotebookSession) -> Response<Body> {
    let doc = match instance(svc, s) {
        Ok(d) => d,
        Err(r) => return r.page(),
    };
    let text = |m: &str| escape(&string(&doc, &[m]).unwrap_or_else(|| "-".into()));
    let groups = doc
        .get("SecurityGroups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| "-".into());
    let volume = doc
        .get("VolumeSizeInGB")
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into());
    let content = format!(
        "<h1>Notebook instance {name}</h1>\
         <table id=\"notebook-instance\">\
         <tr><th>ARN</th><td id=\"arn\">{arn}</td></tr>\
         <tr><th>Status</th><td id=\"status\">{status}</td></tr>\
         <tr><th>Instance type</th><td id=\"instance-type\">{instance_type}</td></tr>\
         <tr><th>Platform</th><td>{platform}</td></tr>\
         <tr><th>IAM role</th><td id=\"role\">{role}</td></tr>\
         <tr><th>Volume</th><td>{volume} GB, KMS key {kms}</td></tr>\
         <tr><th>Network</th><td id=\"network\">subnet {subnet}; security groups {groups}; \
         direct internet access {internet}</td></tr>\
         <tr><th>Root access</th><td>{root}</td></tr>\
         <tr><th>Lifecycle configuration</th><td>{lifecycle}</td></tr></table>\
         <h2>Jupyter</h2><p>No Jupyter server runs on this instance: Perimeter keeps the \
         control plane. This page is where the instance's Jupyter tree would open.</p>",
        name = text("NotebookInstanceName"),
        arn = text("NotebookInstanceArn"),
        status = text("NotebookInstanceStatus"),
        instance_type = text("InstanceType"),
        platform = text("PlatformIdentifier"),
        role = text("RoleArn"),
        volume = escape(&volume),
        kms = text("KmsKeyId"),
        subnet = text("SubnetId"),
        groups = escape(&groups),
        internet = text("DirectInternetAccess"),
        root = text("RootAccess"),
        lifecycle = text("NotebookInstanceLifecycleConfigName"),
    );
    respond(
        200,
        "text/html; charset=utf-8",
        page("SageMaker notebook instance", &content),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use gateway::Location;

    fn service() -> Arc<SageMaker> {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let iam = iam::Iam::open(&store, &config).unwrap();
        let kms = kms::Kms::open(&store, &config).unwrap();
        let logs = logs::Logs::open(&store, &config).unwrap();
        let ec2 = ec2::Ec2::open(&store, &config, logs).unwrap();
        SageMaker::open(&store, &config, iam, kms, ec2).unwrap()
    }

    async fn get(svc: &SageMaker, path: &str, cookie: Option<&str>, peer: &str) -> Response<Body> {
        let mut b = http::Request::builder().method(Method::GET).uri(path);
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        route(
            svc,
            RawRequest {
                request: b.body(Bytes::new()).unwrap(),
                location: Location::Public,
                peer: peer.parse().unwrap(),
            },
        )
        .await
    }

    fn issue(svc: &SageMaker, name: &str, ip: &str, expires_at: f64) -> String {
        let token = random_token().unwrap();
        let mut batch = Batch::new();
        svc.tokens().unwrap().notebook_sign_ins.insert(
            digest(&token),
            NotebookSignIn {
                account: "000000000000".into(),
                name: name.into(),
                context: NetContext::Public(ip.parse().unwrap()),
                expires_at,
                session_seconds: 1800,
            },
            &mut batch,
        );
        drop(svc.store().submit(batch));
        token
    }

    #[tokio::test]
    async fn tokens_open_once_for_their_instance_and_context_only() {
        let svc = service();
        let now = time::now();
        let t = issue(&svc, "nb", "127.0.0.1", now + 60.0);
        // Another instance: refused, the token stays good for its own.
        let r = get(
            &svc,
            &format!("/notebook/other?authToken={t}"),
            None,
            "127.0.0.1:1",
        )
        .await;
        assert_eq!(r.status(), 403);
        // Another address: insufficient permissions, the token stays good.
        let r = get(
            &svc,
            &format!("/notebook/nb?authToken={t}"),
            None,
            "192.0.2.1:1",
        )
        .await;
        assert_eq!(r.status(), 403);
        // Its own (names are case-insensitive): a session cookie and the tree.
        let r = get(
            &svc,
            &format!("/notebook/NB?authToken={t}"),
            None,
            "127.0.0.1:1",
        )
        .await;
        assert_eq!(r.status(), 302);
        let cookie = r.headers()[http::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(cookie.starts_with("notebook-session="));
        // Used: refused.
        let r = get(
            &svc,
            &format!("/notebook/nb?authToken={t}"),
            None,
            "127.0.0.1:1",
        )
        .await;
        assert_eq!(r.status(), 403);
        // The session works from its context only; the instance does not exist here.
        let r = get(&svc, "/notebook/nb/tree", Some(&cookie), "127.0.0.1:2").await;
        assert_eq!(r.status(), 404);
        let r = get(&svc, "/notebook/nb/tree", Some(&cookie), "192.0.2.1:2").await;
        assert_eq!(r.status(), 403);
        let r = get(&svc, "/notebook/other/tree", Some(&cookie), "127.0.0.1:2").await;
        assert_eq!(r.status(), 403);
        // Expired tokens are refused and forgotten.
        let old = issue(&svc, "nb", "127.0.0.1", now - 1.0);
        let r = get(
            &svc,
            &format!("/notebook/nb?authToken={old}"),
            None,
            "127.0.0.1:1",
        )
        .await;
        assert_eq!(r.status(), 403);
        assert!(
            !svc.tokens()
                .unwrap()
                .notebook_sign_ins
                .contains(&digest(&old))
        );
    }

    #[tokio::test]
    async fn malformed_notebook_requests_are_refused_without_panicking() {
        let svc = service();
        for path in [
            "/notebook/",
            "/notebook//",
            "/notebook/nb?authToken=",
            "/notebook/nb?authToken=%00&authToken=x",
            "/notebook/nb/tree",
            "/notebook/nb/api/status",
            "/notebook/nb/../../x",
            "/notebook/nb/unknown",
        ] {
            let r = get(
                &svc,
                path,
                Some("notebook-session=; notebook-session=%00"),
                "127.0.0.1:1",
            )
            .await;
            assert!(r.status().is_client_error(), "{path}: {}", r.status());
        }
    }
}
