//! Studio sign-in and the app environment, served on plain HTTP under `/studio/<domain>/`.
//!
//! `CreatePresignedDomainUrl` issues a sign-in token bound to the network context the
//! request came from: the caller's address on the public endpoint, or the VPC of the VPC
//! endpoint it came through. The URL points at the listener Studio is reached through from
//! there: the public endpoint, or that VPC's `aws.sagemaker.<region>.studio` endpoint.
//! Opening it ([`StudioPages`]):
//! - from another network context fails with "Auth token containing insufficient
//!   permissions" (and leaves the token for its rightful user);
//! - after `ExpiresInSeconds`, or a second time, fails with "Invalid or Expired Auth Token";
//! - otherwise consumes the token and starts a Studio session (a cookie, bound to the same
//!   context) for the user profile (or space).
//!
//! Unused tokens and live sessions are kept under the digests of their bearer values and
//! survive a restart ([`crate::signin`]).
//!
//! A session is what a Studio app has: the execution role's temporary credentials, which
//! SageMaker gets by assuming the role as `sagemaker.amazonaws.com` (the role's trust policy
//! decides), served on a container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! with `AWS_CONTAINER_AUTHORIZATION_TOKEN`), and the endpoints the app can reach: the public
//! endpoint for a `PublicInternetOnly` domain; for a `VpcOnly` domain only the endpoints of
//! its VPC, and a session policy on the credentials that denies every request not made
//! through that VPC (nor by a service on the session's behalf), since a local notebook has
//! no VPC around it to stop it. The landing page shows the profile, its role, its apps and
//! its home directory, whose files the session reads and writes.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use gateway::body::{self, Body};
use gateway::raw::{RawHandler, RawRequest};
use gateway::{AwsError, BoxFuture, Call, Caller, Location};
use http::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::Batch;

use crate::kinds::Kind;
use crate::ops::{at as member, string};
use crate::signin::{Bearer, derived, digest, random_token};
use crate::state::{AppCredential, Tag};
use crate::{SERVICE_PRINCIPAL, SageMaker, home, time};

/// The path prefix of every Studio page.
pub const PREFIX: &str = "/studio/";

const COOKIE: &str = "studio-session";
pub(crate) const INSUFFICIENT: &str = "Auth token containing insufficient permissions";
pub(crate) const EXPIRED: &str = "Invalid or Expired Auth Token";

/// Where a request came from, as far as a sign-in token is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum NetContext {
    /// The public endpoint, from this address.
    Public(IpAddr),
    /// A VPC endpoint of this VPC.
    Vpc(String),
    /// A call made inside Perimeter.
    Internal,
}

fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl NetContext {
    pub(crate) fn of_call(call: &Call) -> NetContext {
        NetContext::of(&call.location, call.source_ip)
    }

    pub(crate) fn of(location: &Location, ip: Option<IpAddr>) -> NetContext {
        match location {
            Location::Public => match ip {
                Some(ip) => NetContext::Public(normalize(ip)),
                None => NetContext::Internal,
            },
            Location::Endpoint(e) => NetContext::Vpc(e.vpc_id.clone()),
            Location::Internal => NetContext::Internal,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            NetContext::Public(ip) => format!("the public endpoint from {ip}"),
            NetContext::Vpc(v) => format!("VPC {v}"),
            NetContext::Internal => "Perimeter".into(),
        }
    }
}

/// The `host:port` Studio is reached through from `context`.
pub(crate) fn studio_host(svc: &SageMaker, account: &str, context: &NetContext) -> Option<String> {
    host_for(svc, account, context, "studio")
}

/// The `host:port` the pages of endpoint service `service` (`studio`, `notebook`) are
/// reached through from `context`: the VPC's endpoint of that service, else the public
/// endpoint.
pub(crate) fn host_for(
    svc: &SageMaker,
    account: &str,
    context: &NetContext,
    service: &str,
) -> Option<String> {
    if let NetContext::Vpc(vpc) = context {
        let found = svc
            .ec2()
            .vpc_endpoints(account, vpc)
            .into_iter()
            .find(|e| e.signing_name == service && e.address.is_some());
        if let Some(e) = found {
            return e.address;
        }
    }
    svc.installed_gateway()?
        .listener_addr("public")
        .map(|a| a.to_string())
}

/// A sign-in token waiting to be used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SignIn {
    pub account: String,
    pub domain_id: String,
    pub profile: String,
    pub space: Option<String>,
    pub context: NetContext,
    pub expires_at: f64,
    pub session_seconds: u64,
    pub landing: Option<String>,
}

impl Bearer for SignIn {
    const TABLE: &'static str = "sagemaker.studio_sign_in";
    fn expires_at(&self) -> f64 {
        self.expires_at
    }
}

#[derive(Debug, Clone)]
struct Creds {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: f64,
}

/// A signed-in Studio session, kept under the digest of its cookie. The container
/// credentials endpoint's authorization token is derived from the cookie
/// ([`credential_token`]); only its digest is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    account: String,
    domain_id: String,
    profile: String,
    space: Option<String>,
    context: NetContext,
    expires_at: f64,
    /// The digest of the container credentials endpoint's authorization token.
    credential_digest: String,
    /// The execution role's credentials, minted again after a restart.
    #[serde(skip)]
    creds: Option<Creds>,
    /// `http://host:port/studio/<domain>/`: where this session reaches Studio.
    base_url: String,
    /// The sign-in's `LandingUri` (Studio or Studio Classic).
    #[serde(default)]
    landing: Option<String>,
}

impl Bearer for Session {
    const TABLE: &'static str = "sagemaker.studio_session";
    fn expires_at(&self) -> f64 {
        self.expires_at
    }
}

/// The container credentials endpoint's authorization token of the session with cookie
/// `session_id`.
fn credential_token(session_id: &str) -> String {
    derived(session_id, "studio container credentials")
}

impl SageMaker {
    /// Issues a single-use sign-in token; its record is queued for the store.
    pub(crate) fn issue_sign_in(&self, sign_in: SignIn) -> Result<String, AwsError> {
        let (token, pending) = self.issue_with(sign_in, |b| self.store().submit(b))?;
        drop(pending);
        Ok(token)
    }

    /// Issues a single-use sign-in token for `call`; its record commits with the call's
    /// audit record.
    pub(crate) async fn issue_sign_in_for(
        &self,
        call: &Call,
        sign_in: SignIn,
    ) -> Result<String, AwsError> {
        let (token, pending) = self.issue_with(sign_in, |b| call.submit(b))?;
        pending.await?;
        Ok(token)
    }

    fn issue_with<P>(
        &self,
        sign_in: SignIn,
        submit: impl FnOnce(Batch) -> P,
    ) -> Result<(String, P), AwsError> {
        let token = random_token()?;
        let mut batch = Batch::new();
        let mut t = self.tokens()?;
        t.sweep(time::now(), &mut batch);
        t.sign_ins.insert(digest(&token), sign_in, &mut batch);
        // Queued under the lock: records of one token commit in the order they change.
        let pending = submit(batch);
        Ok((token, pending))
    }
}

/// The Studio pages.
pub(crate) struct StudioPages {
    svc: Arc<SageMaker>,
}

impl StudioPages {
    pub(crate) fn new(svc: Arc<SageMaker>) -> StudioPages {
        StudioPages { svc }
    }
}

impl RawHandler for StudioPages {
    fn handle(&self, req: RawRequest) -> BoxFuture<Response<Body>> {
        let svc = self.svc.clone();
        Box::pin(async move { route(&svc, req).await })
    }
}

pub(crate) fn respond(status: u16, content_type: &str, data: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(body::full(data));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    r
}

pub(crate) fn json_response(status: u16, v: &Value) -> Response<Body> {
    respond(status, "application/json", v.to_string())
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}code{{background:#f4f4f4}}</style>\
         </head><body>{content}</body></html>\n",
        escape(title)
    )
}

pub(crate) fn error_page(status: u16, message: &str) -> Response<Body> {
    respond(
        status,
        "text/html; charset=utf-8",
        page(
            "SageMaker Studio",
            &format!(
                "<h1>SageMaker Studio</h1><p id=\"error\">{}</p>",
                escape(message)
            ),
        ),
    )
}

pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The value of cookie `name`.
pub(crate) fn cookie(req: &http::Request<Bytes>, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn route(svc: &SageMaker, req: RawRequest) -> Response<Body> {
    let context = NetContext::of(&req.location, Some(req.peer.ip()));
    let path = req.request.uri().path().to_string();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error_page(404, "Not found");
    };
    let (domain_id, sub) = rest.split_once('/').unwrap_or((rest, ""));
    let domain_id = domain_id.to_string();
    let method = req.request.method().clone();
    match (method, sub) {
        (Method::GET, "auth") => sign_in(svc, &req, &domain_id, context).await,
        (Method::GET, "") | (Method::GET, "home") => {
            match session_of(svc, &req, &domain_id, &context) {
                Ok((_, s)) => landing(svc, &s).await,
                Err(r) => r.page(),
            }
        }
        (Method::GET, "api/environment") => match session_of(svc, &req, &domain_id, &context) {
            Ok((id, s)) => match environment(svc, &id, &s).await {
                Ok(v) => json_response(200, &v),
                Err(e) => json_response(500, &json!({"message": e.message})),
            },
            Err(r) => r.page(),
        },
        (Method::GET, "api/credentials") => credentials(svc, &req, &domain_id, &context).await,
        (m, files) if files == "api/files" || files.starts_with("api/files/") => {
            let file = files
                .strip_prefix("api/files")
                .unwrap_or("")
                .trim_start_matches('/');
            match session_of(svc, &req, &domain_id, &context) {
                Ok((_, s)) => file_op(svc, &s, m, file, req.request.body().clone()).await,
                Err(r) => r.page(),
            }
        }
        _ => error_page(404, "Not found"),
    }
}

/// Opens a presigned URL: checks the token, starts a session, sets its cookie.
async fn sign_in(
    svc: &SageMaker,
    req: &RawRequest,
    domain_id: &str,
    context: NetContext,
) -> Response<Body> {
    let query = req.request.uri().query().unwrap_or("");
    let Some(token) = query_param(query, "token") else {
        return error_page(403, EXPIRED);
    };
    let now = time::now();
    let key = digest(token);
    // Using the token deletes its record, durably, whatever happens next.
    let mut batch = Batch::new();
    let sign_in = {
        let Ok(mut t) = svc.tokens() else {
            return error_page(500, "internal error");
        };
        match t.sign_ins.get(&key) {
            None => None,
            Some(s) if s.expires_at <= now => {
                t.sign_ins.take(&key, &mut batch);
                None
            }
            // Another domain's URL with this token: invalid here, still good at its own.
            Some(s) if s.domain_id != domain_id => return error_page(403, EXPIRED),
            Some(s) if s.context != context => {
                tracing::info!(domain = %domain_id, created = %s.context.describe(),
                    opened = %context.describe(), "studio sign-in from another network context refused");
                return error_page(403, INSUFFICIENT);
            }
            Some(_) => t.sign_ins.take(&key, &mut batch),
        }
    };
    let Some(sign_in) = sign_in else {
        let _ = svc.store().submit(batch).await;
        return error_page(403, EXPIRED);
    };
    let host = req
        .request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let session_id = random_token();
    let (Some(host), Ok(session_id)) = (host, session_id) else {
        let _ = svc.store().submit(batch).await;
        return error_page(400, "the request has no Host header");
    };
    let mut session = Session {
        account: sign_in.account.clone(),
        domain_id: sign_in.domain_id.clone(),
        profile: sign_in.profile.clone(),
        space: sign_in.space.clone(),
        context,
        expires_at: now + sign_in.session_seconds as f64,
        credential_digest: digest(&credential_token(&session_id)),
        creds: None,
        base_url: format!("http://{host}{PREFIX}{domain_id}/"),
        landing: sign_in.landing.clone(),
    };
    match mint(svc, &session).await {
        Ok(c) => session.creds = Some(c),
        Err(e) => {
            let _ = svc.store().submit(batch).await;
            return error_page(403, &e.message);
        }
    }
    let pending = match svc.tokens() {
        Ok(mut t) => {
            t.sessions.insert(digest(&session_id), session, &mut batch);
            svc.store().submit(batch)
        }
        Err(_) => return error_page(500, "internal error"),
    };
    if pending.await.is_err() {
        return error_page(500, "internal error");
    }
    let mut r = respond(302, "text/plain", "");
    let location = format!("{PREFIX}{domain_id}/home");
    let set_cookie = format!(
        "{COOKIE}={session_id}; Path={PREFIX}{domain_id}/; HttpOnly; SameSite=Strict; Max-Age={}",
        sign_in.session_seconds
    );
    for (name, value) in [
        (http::header::LOCATION, location),
        (http::header::SET_COOKIE, set_cookie),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoSession {
    /// No session cookie.
    SignedOut,
    /// The session ended, or is another domain's.
    Expired,
    /// The session belongs to another network context.
    Elsewhere,
    Internal,
}

impl NoSession {
    fn page(self) -> Response<Body> {
        match self {
            NoSession::SignedOut => error_page(
                403,
                "Sign in to Studio with a presigned domain URL (CreatePresignedDomainUrl).",
            ),
            NoSession::Expired => error_page(403, "The Studio session has expired. Sign in again."),
            NoSession::Elsewhere => error_page(403, INSUFFICIENT),
            NoSession::Internal => error_page(500, "internal error"),
        }
    }
}

/// The session a request's cookie names, if it is live, of this domain and context.
fn session_of(
    svc: &SageMaker,
    req: &RawRequest,
    domain_id: &str,
    context: &NetContext,
) -> Result<(String, Session), NoSession> {
    let id = cookie(&req.request, COOKIE).ok_or(NoSession::SignedOut)?;
    let t = svc.tokens().map_err(|_| NoSession::Internal)?;
    match t.sessions.get(&digest(&id)) {
        Some(s) if s.domain_id == domain_id && s.expires_at > time::now() => {
            if &s.context != context {
                return Err(NoSession::Elsewhere);
            }
            Ok((id, s.clone()))
        }
        _ => Err(NoSession::Expired),
    }
}

/// The documents a session's pages show: domain, profile and (if any) space.
fn docs(svc: &SageMaker, s: &Session) -> Result<(Value, Value, Option<Value>), AwsError> {
    let now = time::now();
    svc.read(|st| {
        let domain = st
            .get(&s.account, Kind::Domain, &s.domain_id)
            .map(|r| r.view(now))
            .ok_or_else(|| crate::errors::not_found("the domain no longer exists"))?;
        let profile = st
            .get(
                &s.account,
                Kind::UserProfile,
                &format!("{}/{}", s.domain_id, s.profile),
            )
            .map(|r| r.view(now))
            .ok_or_else(|| crate::errors::not_found("the user profile no longer exists"))?;
        let space = s.space.as_ref().and_then(|sp| {
            st.get(&s.account, Kind::Space, &format!("{}/{sp}", s.domain_id))
                .map(|r| r.view(now))
        });
        Ok((domain, profile, space))
    })
}

/// The execution role of a session: the space's (shared spaces use the domain's default
/// space role), else the user profile's, else the domain's default.
fn execution_role(domain: &Value, profile: &Value, space: Option<&Value>) -> Option<String> {
    if let Some(sp) = space {
        let shared =
            string(sp, &["SpaceSharingSettings", "SharingType"]).as_deref() != Some("Private");
        if shared && let Some(r) = string(domain, &["DefaultSpaceSettings", "ExecutionRole"]) {
            return Some(r);
        }
    }
    string(profile, &["UserSettings", "ExecutionRole"])
        .or_else(|| string(domain, &["DefaultUserSettings", "ExecutionRole"]))
}

/// Whether the session is Studio Classic (a JupyterServer landing or Studio turned off).
fn classic(domain: &Value, profile: &Value, landing: Option<&str>) -> bool {
    if let Some(l) = landing {
        return l.starts_with("app:JupyterServer");
    }
    let disabled = |v: &Value, p: &[&str]| string(v, p).as_deref() == Some("DISABLED");
    let jupyter =
        |v: &Value, p: &[&str]| string(v, p).is_some_and(|l| l.starts_with("app:JupyterServer"));
    disabled(profile, &["UserSettings", "StudioWebPortal"])
        || disabled(domain, &["DefaultUserSettings", "StudioWebPortal"])
        || jupyter(profile, &["UserSettings", "DefaultLandingUri"])
        || jupyter(domain, &["DefaultUserSettings", "DefaultLandingUri"])
}

/// The session policy of a VpcOnly domain's app credentials: everything the role allows,
/// but only through that VPC (or by a service on the session's behalf).
fn vpc_only_policy(vpc: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "RoleUnchanged", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "VpcOnly", "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {
                "StringNotEquals": {"aws:SourceVpc": vpc},
                "Bool": {"aws:ViaAWSService": "false"}
            }}
        ]
    })
    .to_string()
}

/// Mints the execution role's credentials for a session (SageMaker assumes the role) and
/// records them as a Studio app's.
async fn mint(svc: &SageMaker, s: &Session) -> Result<Creds, AwsError> {
    let landing = s.landing.as_deref();
    let (domain, profile, space) = docs(svc, s)?;
    let role = execution_role(&domain, &profile, space.as_ref())
        .ok_or_else(|| crate::errors::validation("the user profile has no execution role"))?;
    let vpc_only = string(&domain, &["AppNetworkAccessType"]).as_deref() == Some("VpcOnly");
    let policy = if vpc_only {
        string(&domain, &["VpcId"]).map(|v| vpc_only_policy(&v))
    } else {
        None
    };
    let source_identity = (string(&domain, &["DomainSettings", "ExecutionRoleIdentityConfig"])
        .as_deref()
        == Some("USER_PROFILE_NAME"))
    .then(|| s.profile.clone());
    let gw = svc
        .installed_gateway()
        .ok_or_else(|| AwsError::internal("sagemaker is not installed on a gateway"))?;
    let call = gw.internal_call(
        Arc::new(Caller::service(SERVICE_PRINCIPAL, &s.account)),
        "sagemaker",
    );
    let op = iam::AssumeRole {
        role_arn: role.clone(),
        role_session_name: "SageMaker".into(),
        policy_arns: Vec::new(),
        policy,
        duration_seconds: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        external_id: None,
        serial_number: None,
        token_code: None,
        source_identity,
    };
    let out = call
        .invoke_as_service(SERVICE_PRINCIPAL, svc.iam(), op, "sts")
        .await
        .map_err(|e| {
            crate::errors::validation(format!(
                "SageMaker could not assume the execution role {role}: {}",
                e.message
            ))
        })?;
    let c = out.credentials;
    let domain_arn = string(&domain, &["DomainArn"]).unwrap_or_default();
    let profile_arn = string(&profile, &["UserProfileArn"]).unwrap_or_default();
    let space_arn = space.as_ref().and_then(|sp| string(sp, &["SpaceArn"]));
    let private_space = space.as_ref().is_some_and(|sp| {
        string(sp, &["SpaceSharingSettings", "SharingType"]).as_deref() == Some("Private")
    });
    let mut auto_tags = vec![Tag::new(crate::ops::DOMAIN_TAG, domain_arn.clone())];
    if !classic(&domain, &profile, landing) {
        if space_arn.is_none() || private_space {
            auto_tags.push(Tag::new(crate::ops::USER_PROFILE_TAG, profile_arn.clone()));
        }
        if let Some(a) = &space_arn {
            auto_tags.push(Tag::new(crate::ops::SPACE_TAG, a.clone()));
        }
    }
    let record = AppCredential {
        access_key_id: c.access_key_id.clone(),
        account: s.account.clone(),
        domain_id: s.domain_id.clone(),
        domain_arn,
        user_profile_arn: (space_arn.is_none() || private_space).then_some(profile_arn),
        space_arn,
        auto_tags,
        expires: c.expiration as f64,
    };
    let now = time::now();
    svc.write_internal(move |st, batch| {
        let expired: Vec<String> = st
            .credentials
            .values()
            .filter(|x| x.expires < now)
            .map(|x| x.access_key_id.clone())
            .collect();
        for k in expired {
            st.credentials.remove(&k);
            batch.delete::<AppCredential>(&k);
        }
        batch.put(&record);
        st.credentials.insert(record.access_key_id.clone(), record);
        Ok(())
    })
    .await?;
    Ok(Creds {
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        session_token: c.session_token,
        expiration: c.expiration as f64,
    })
}

/// The session's credentials (kept under digest `key`), minted again when they have less
/// than five minutes left or were lost in a restart.
async fn current_creds(svc: &SageMaker, key: &str, s: &Session) -> Result<Creds, AwsError> {
    if let Some(c) = &s.creds
        && c.expiration - time::now() > 300.0
    {
        return Ok(c.clone());
    }
    let fresh = mint(svc, s).await?;
    if let Ok(mut t) = svc.tokens()
        && let Some(live) = t.sessions.get_mut(key)
    {
        live.creds = Some(fresh.clone());
    }
    Ok(fresh)
}

/// The AWS CLI / SDK environment variable of an endpoint service.
fn endpoint_variable(service_name: &str) -> Option<&'static str> {
    let tail = service_name
        .rsplit_once(".amazonaws.com")
        .map_or(service_name, |(t, _)| t);
    let suffixes: &[(&str, &str)] = &[
        (".sagemaker.api", "AWS_ENDPOINT_URL_SAGEMAKER"),
        (".sagemaker.runtime", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"),
        (".s3", "AWS_ENDPOINT_URL_S3"),
        (".sts", "AWS_ENDPOINT_URL_STS"),
        (".kms", "AWS_ENDPOINT_URL_KMS"),
        (".ssm", "AWS_ENDPOINT_URL_SSM"),
        (".logs", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
        (".ec2", "AWS_ENDPOINT_URL_EC2"),
        (".cloudtrail", "AWS_ENDPOINT_URL_CLOUDTRAIL"),
        ("com.amazonaws.iam", "AWS_ENDPOINT_URL_IAM"),
    ];
    suffixes
        .iter()
        .find(|(s, _)| tail.ends_with(s))
        .map(|(_, v)| *v)
}

/// An address nothing listens on: where an internet-free app's requests for services
/// without an endpoint go (instead of AWS's public endpoints, with the app's credentials).
const NO_ROUTE: &str = "http://127.0.0.1:9";

/// The app environment of the session with cookie `id`.
async fn environment(svc: &SageMaker, id: &str, s: &Session) -> Result<Value, AwsError> {
    let (domain, profile, space) = docs(svc, s)?;
    let role = execution_role(&domain, &profile, space.as_ref());
    let vpc_only = string(&domain, &["AppNetworkAccessType"]).as_deref() == Some("VpcOnly");
    let mut env = serde_json::Map::new();
    env.insert(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
        json!(format!("{}api/credentials", s.base_url)),
    );
    env.insert(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN".into(),
        json!(credential_token(id)),
    );
    env.insert("AWS_DEFAULT_REGION".into(), json!(svc.region()));
    env.insert("AWS_REGION".into(), json!(svc.region()));
    let mut endpoints = serde_json::Map::new();
    if vpc_only {
        let vpc = string(&domain, &["VpcId"]).unwrap_or_default();
        for e in svc.ec2().vpc_endpoints(&s.account, &vpc) {
            let (Some(addr), Some(var)) = (e.address, endpoint_variable(&e.service_name)) else {
                continue;
            };
            let url = format!("http://{addr}");
            endpoints.insert(e.service_name.clone(), json!(url));
            env.insert(var.to_string(), json!(url));
        }
        env.insert("AWS_ENDPOINT_URL".into(), json!(NO_ROUTE));
    } else if let Some(addr) = svc
        .installed_gateway()
        .and_then(|g| g.listener_addr("public"))
    {
        env.insert("AWS_ENDPOINT_URL".into(), json!(format!("http://{addr}")));
        endpoints.insert("public".into(), json!(format!("http://{addr}")));
    }
    let _ = current_creds(svc, &digest(id), s).await?;
    Ok(json!({
        "DomainId": s.domain_id,
        "UserProfileName": s.profile,
        "SpaceName": s.space,
        "ExecutionRoleArn": role,
        "AppNetworkAccessType": string(&domain, &["AppNetworkAccessType"]),
        "Environment": env,
        "Endpoints": endpoints,
    }))
}

/// The container credentials endpoint.
async fn credentials(
    svc: &SageMaker,
    req: &RawRequest,
    domain_id: &str,
    context: &NetContext,
) -> Response<Body> {
    let presented = req
        .request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let presented = presented.map(|p| digest(&p));
    let found = svc.tokens().ok().and_then(|t| {
        t.sessions
            .find(|s| {
                presented.as_deref() == Some(s.credential_digest.as_str())
                    && s.domain_id == domain_id
                    && s.expires_at > time::now()
            })
            .map(|(key, s)| (key.clone(), s.clone()))
    });
    let Some((id, s)) = found else {
        return json_response(403, &json!({"message": "invalid authorization token"}));
    };
    if &s.context != context {
        return json_response(403, &json!({"message": INSUFFICIENT}));
    }
    let role = docs(svc, &s)
        .ok()
        .and_then(|(d, p, sp)| execution_role(&d, &p, sp.as_ref()));
    match current_creds(svc, &id, &s).await {
        Ok(c) => json_response(
            200,
            &json!({
                "AccessKeyId": c.access_key_id,
                "SecretAccessKey": c.secret_access_key,
                "Token": c.session_token,
                "Expiration": gateway::time::iso8601(c.expiration, false),
                "RoleArn": role,
            }),
        ),
        Err(e) => json_response(500, &json!({"message": e.message})),
    }
}

fn owner_of(s: &Session) -> String {
    match &s.space {
        Some(sp) => format!("space/{sp}"),
        None => format!("user/{}", s.profile),
    }
}

fn uid_of(svc: &SageMaker, s: &Session) -> String {
    docs(svc, s)
        .ok()
        .and_then(|(_, p, sp)| {
            sp.as_ref()
                .and_then(|x| string(x, &["HomeEfsFileSystemUid"]))
                .or_else(|| string(&p, &["HomeEfsFileSystemUid"]))
        })
        .unwrap_or_else(|| "200001".into())
}

async fn file_op(
    svc: &SageMaker,
    s: &Session,
    method: Method,
    file: &str,
    data: Bytes,
) -> Response<Body> {
    let owner = owner_of(s);
    if file.is_empty() {
        if method != Method::GET {
            return error_page(405, "Method not allowed");
        }
        let files: Vec<Value> = home::list(svc, &s.account, &s.domain_id, &owner)
            .into_iter()
            .map(|(p, size, modified)| json!({"Path": p, "Size": size, "LastModified": modified}))
            .collect();
        return json_response(200, &json!({ "Files": files }));
    }
    let decoded = percent_encoding::percent_decode_str(file)
        .decode_utf8()
        .map(|c| c.to_string());
    let path = match decoded
        .map_err(|e| e.to_string())
        .and_then(|p| home::check_path(&p))
    {
        Ok(p) => p,
        Err(e) => return json_response(400, &json!({ "message": e })),
    };
    let uid = uid_of(svc, s);
    match method {
        Method::GET => match home::read(svc, &s.account, &s.domain_id, &owner, &uid, &path).await {
            Ok(Some(bytes)) => respond(200, "application/octet-stream", bytes),
            Ok(None) => json_response(404, &json!({"message": format!("no file `{path}`")})),
            Err(e) => json_response(500, &json!({"message": e.message})),
        },
        Method::PUT => {
            if data.len() > home::MAX_FILE {
                return json_response(
                    413,
                    &json!({"message": format!("a file is at most {} bytes", home::MAX_FILE)}),
                );
            }
            match home::write(svc, &s.account, &s.domain_id, &owner, &uid, &path, &data).await {
                Ok(()) => json_response(200, &json!({"Path": path, "Size": data.len()})),
                Err(e) => json_response(500, &json!({"message": e.message})),
            }
        }
        Method::DELETE => match home::delete(svc, &s.account, &s.domain_id, &owner, &path).await {
            Ok(true) => json_response(200, &json!({})),
            Ok(false) => json_response(404, &json!({"message": format!("no file `{path}`")})),
            Err(e) => json_response(500, &json!({"message": e.message})),
        },
        _ => error_page(405, "Method not allowed"),
    }
}

/// The landing page.
async fn landing(svc: &SageMaker, s: &Session) -> Response<Body> {
    let (domain, profile, space) = match docs(svc, s) {
        Ok(d) => d,
        Err(e) => return error_page(404, &e.message),
    };
    let role = execution_role(&domain, &profile, space.as_ref()).unwrap_or_default();
    let now = time::now();
    let owner_member = if s.space.is_some() {
        "SpaceName"
    } else {
        "UserProfileName"
    };
    let owner_name = s.space.clone().unwrap_or_else(|| s.profile.clone());
    let apps: Vec<Value> = svc
        .read(|st| {
            Ok(st
                .of_kind(&s.account, Kind::App)
                .map(|r| r.view(now))
                .filter(|d| {
                    d.get("DomainId").and_then(Value::as_str) == Some(s.domain_id.as_str())
                        && d.get(owner_member).and_then(Value::as_str) == Some(owner_name.as_str())
                })
                .collect())
        })
        .unwrap_or_default();
    let mut app_rows = String::new();
    for a in &apps {
        app_rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&string(a, &["AppName"]).unwrap_or_default()),
            escape(&string(a, &["AppType"]).unwrap_or_default()),
            escape(&string(a, &["Status"]).unwrap_or_default()),
            escape(&string(a, &["ResourceSpec", "InstanceType"]).unwrap_or_default()),
        ));
    }
    let mut file_rows = String::new();
    for (p, size, modified) in home::list(svc, &s.account, &s.domain_id, &owner_of(s)) {
        file_rows.push_str(&format!(
            "<tr><td>{}</td><td>{size}</td><td>{}</td></tr>",
            escape(&p),
            escape(&gateway::time::iso8601(modified, false))
        ));
    }
    let network = string(&domain, &["AppNetworkAccessType"]).unwrap_or_default();
    let vpc = member(&domain, &["VpcId"])
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let content = format!(
        "<h1>SageMaker Studio</h1>\
         <table id=\"profile\">\
         <tr><th>Domain</th><td>{domain_name} ({domain_id})</td></tr>\
         <tr><th>User profile</th><td id=\"user-profile\">{profile_name}</td></tr>\
         <tr><th>Space</th><td>{space}</td></tr>\
         <tr><th>Execution role</th><td id=\"execution-role\">{role}</td></tr>\
         <tr><th>Network</th><td>{network} {vpc}</td></tr>\
         <tr><th>Home directory uid</th><td>{uid}</td></tr></table>\
         <h2>Apps</h2><table id=\"apps\"><tr><th>Name</th><th>Type</th><th>Status</th><th>Instance type</th></tr>{app_rows}</table>\
         <h2>Home directory</h2><table id=\"home\"><tr><th>Path</th><th>Size</th><th>Last modified</th></tr>{file_rows}</table>\
         <h2>App environment</h2><p>A kernel of this profile has the execution role's credentials at \
         <code>{base}api/credentials</code> (<code>AWS_CONTAINER_CREDENTIALS_FULL_URI</code>, with \
         <code>AWS_CONTAINER_AUTHORIZATION_TOKEN</code>); the whole environment is at \
         <a href=\"{base}api/environment\"><code>{base}api/environment</code></a>.</p>",
        domain_name = escape(&string(&domain, &["DomainName"]).unwrap_or_default()),
        domain_id = escape(&s.domain_id),
        profile_name = escape(&s.profile),
        space = escape(s.space.as_deref().unwrap_or("-")),
        role = escape(&role),
        network = escape(&network),
        vpc = escape(&vpc),
        uid = escape(&uid_of(svc, s)),
        base = escape(&s.base_url),
    );
    respond(
        200,
        "text/html; charset=utf-8",
        page("SageMaker Studio", &content),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_variables_follow_botocore_service_ids() {
        assert_eq!(
            endpoint_variable("com.amazonaws.us-east-1.s3"),
            Some("AWS_ENDPOINT_URL_S3")
        );
        assert_eq!(
            endpoint_variable("com.amazonaws.us-east-1.sagemaker.api"),
            Some("AWS_ENDPOINT_URL_SAGEMAKER")
        );
        assert_eq!(
            endpoint_variable("com.amazonaws.us-east-1.sagemaker.runtime"),
            Some("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME")
        );
        assert_eq!(
            endpoint_variable("com.amazonaws.iam"),
            Some("AWS_ENDPOINT_URL_IAM")
        );
        assert_eq!(endpoint_variable("aws.sagemaker.us-east-1.studio"), None);
    }

    #[test]
    fn the_vpc_only_session_policy_parses_as_a_session_policy() {
        let text = vpc_only_policy("vpc-123");
        assert!(
            policy::Policy::parse(&text, policy::PolicyType::Session).is_ok(),
            "{text}"
        );
    }

    #[test]
    fn studio_classic_is_a_jupyter_server_landing_or_studio_turned_off() {
        let d = json!({"DefaultUserSettings": {}});
        let p = json!({"UserSettings": {}});
        assert!(!classic(&d, &p, None));
        assert!(classic(&d, &p, Some("app:JupyterServer:")));
        assert!(!classic(&d, &p, Some("studio::")));
        let off = json!({"DefaultUserSettings": {"StudioWebPortal": "DISABLED"}});
        assert!(classic(&off, &p, None));
    }

    fn service() -> Arc<SageMaker> {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let iam = iam::Iam::open(&store, &config).unwrap();
        let kms = kms::Kms::open(&store, &config).unwrap();
        let logs = logs::Logs::open(&store, &config).unwrap();
        let ec2 = ec2::Ec2::open(&store, &config, logs).unwrap();
        SageMaker::open(&store, &config, iam, kms, ec2).unwrap()
    }

    #[tokio::test]
    async fn malformed_studio_requests_are_refused_without_panicking() {
        let svc = service();
        let token = svc
            .issue_sign_in(SignIn {
                account: "000000000000".into(),
                domain_id: "d-1".into(),
                profile: "p".into(),
                space: None,
                context: NetContext::Public("127.0.0.1".parse().unwrap()),
                expires_at: time::now() + 60.0,
                session_seconds: 1800,
                landing: None,
            })
            .unwrap();
        let paths = [
            "/studio/".to_string(),
            "/studio//".into(),
            "/studio/d-1".into(),
            "/studio/d-1/auth".into(),
            "/studio/d-1/auth?token=".into(),
            "/studio/d-1/auth?token=%00%ff&token=x".into(),
            format!("/studio/d-2/auth?token={token}"),
            "/studio/d-1/home".into(),
            "/studio/d-1/api/files/../../x".into(),
            "/studio/d-1/api/files/%ff%fe".into(),
            "/studio/d-1/api/credentials".into(),
            "/studio/d-1/api/environment".into(),
            "/studio/d-1/unknown/deeper".into(),
        ];
        for path in paths {
            for method in [Method::GET, Method::PUT, Method::DELETE, Method::POST] {
                let request = http::Request::builder()
                    .method(method.clone())
                    .uri(path.as_str())
                    .header("cookie", "studio-session=; studio-session=%00")
                    .header("authorization", "garbage")
                    .body(Bytes::from_static(b"\xff\x00"))
                    .unwrap();
                let r = route(
                    &svc,
                    RawRequest {
                        request,
                        location: Location::Public,
                        peer: "127.0.0.1:5000".parse().unwrap(),
                    },
                )
                .await;
                assert!(
                    r.status().is_client_error(),
                    "{method} {path}: {}",
                    r.status()
                );
            }
        }
        // The token issued for another domain was consumed by nothing.
        assert!(svc.tokens().unwrap().sign_ins.contains(&digest(&token)));
    }

    #[test]
    fn cookies_and_query_parameters() {
        let req = http::Request::builder()
            .header("cookie", "a=1; studio-session=abc; b=2")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(cookie(&req, COOKIE).as_deref(), Some("abc"));
        assert_eq!(query_param("x=1&token=t0k", "token"), Some("t0k"));
        assert_eq!(query_param("x=1", "token"), None);
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
