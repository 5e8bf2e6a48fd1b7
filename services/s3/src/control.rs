//! S3 Control (`s3control`, REST-XML under `/v20180820/`): access points.
//!
//! The gateway sends here the requests signed for `s3` whose path starts with `/v20180820/`.
//! SDKs prepend the account to the host (`ACCOUNT.s3-control.REGION.amazonaws.com`, or
//! `ACCOUNT.HOST:PORT` with a custom endpoint) and send it again as `x-amz-account-id`; the
//! header is what counts here. Routing follows the model's URI templates.
//!
//! Each operation declares `s3:<Operation>` on the access point's ARN
//! (`arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`, owned by `AccountId`) with the access point
//! policy as the resource policy once it exists; `ListAccessPoints` on `*`. A policy is
//! validated by the policy engine as a resource policy, its resources must be the access point
//! or its objects, and `BlockPublicPolicy` refuses a public one.

use std::sync::Arc;

use bytes::Bytes;
use gateway::codec::{validate, xml::XmlWriter, xml_in};
use gateway::model::{Model, Shape};
use gateway::{Authorization, AwsError, BodyMode, Call, Check, RequestHead, RestRouter, Routed};
use http::{HeaderValue, Response, StatusCode};
use percent_encoding::percent_decode_str;
use policy::{Policy, PolicyType};
use serde_json::{Map, Value, json};
use storage::Record;

use crate::S3;
use crate::access_point::{
    self, AccessPoint, AccessPointRecord, check_name, new_alias, no_such_access_point,
};
use crate::error;
use crate::input::Input;
use crate::state::PublicAccessBlock;

/// The XML namespace of S3 Control documents.
pub const XMLNS: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";

/// The VPCs S3 validates a `VpcConfiguration` against (EC2 provides them).
pub trait VpcDirectory: Send + Sync {
    /// Whether VPC `vpc_id` exists in `account`.
    fn vpc_exists(&self, account: &str, vpc_id: &str) -> bool;
}

/// The S3 Control operations served, in routing order.
pub const OPERATIONS: &[&str] = &[
    "CreateAccessPoint",
    "GetAccessPoint",
    "ListAccessPoints",
    "DeleteAccessPoint",
    "PutAccessPointPolicy",
    "GetAccessPointPolicy",
    "DeleteAccessPointPolicy",
    "GetAccessPointPolicyStatus",
];

// ---------------------------------------------------------------- routing

/// S3 Control's router over its embedded model.
pub struct ControlRouter {
    model: Arc<Model>,
}

/// Matches a request path against a URI template (`/v20180820/accesspoint/{name}`); returns
/// the labels, percent-decoded.
pub fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let template = template.split_once('?').map(|(p, _)| p).unwrap_or(template);
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut labels = Vec::new();
    for (i, seg) in t.iter().enumerate() {
        if let Some(label) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (label, greedy) = match label.strip_suffix('+') {
                Some(l) => (l, true),
                None => (label, false),
            };
            let raw = if greedy {
                p.get(i..).map(|r| r.join("/"))?
            } else {
                p.get(i)?.to_string()
            };
            if raw.is_empty() {
                return None;
            }
            let value = percent_decode_str(&raw).decode_utf8().ok()?.into_owned();
            labels.push((label.to_string(), value));
            if greedy {
                return Some(labels);
            }
        } else if p.get(i) != Some(seg) {
            return None;
        }
    }
    (p.len() == t.len()).then_some(labels)
}

impl ControlRouter {
    /// A router over `model`.
    pub fn new(model: Arc<Model>) -> ControlRouter {
        ControlRouter { model }
    }

    fn input_shape(&self, op: &str) -> Option<(&str, &Shape)> {
        let r = self.model.operations.get(op)?.input.as_ref()?;
        Some((r.shape.as_str(), self.model.shape(&r.shape)?))
    }

    fn invalid(message: String) -> AwsError {
        error::invalid_request(message)
    }

    fn validate(&self, op: &str, input: &Value) -> Result<(), AwsError> {
        match self.input_shape(op) {
            Some((name, _)) => validate::validate(&self.model, name, input).map_err(Self::invalid),
            None => Ok(()),
        }
    }
}

impl RestRouter for ControlRouter {
    fn route(&self, head: &RequestHead<'_>) -> Result<Routed, AwsError> {
        let mut found = None;
        for op in OPERATIONS {
            let Some(def) = self.model.operations.get(*op) else {
                continue;
            };
            if def.http.method != head.method.as_str() {
                continue;
            }
            if let Some(labels) = match_template(&def.http.request_uri, head.path) {
                found = Some((*op, labels));
                break;
            }
        }
        let Some((op, labels)) = found else {
            return Err(AwsError::new(
                "NotImplemented",
                501,
                "A header you provided implies functionality that is not implemented",
            ));
        };
        let mut input = Map::new();
        let mut body = BodyMode::None;
        if let Some((_, shape)) = self.input_shape(op) {
            for (name, r) in &shape.members {
                let wire = r.location_name.as_deref().unwrap_or(name);
                let kind = self
                    .model
                    .shape(&r.shape)
                    .map(|s| s.kind.as_str())
                    .unwrap_or("string");
                let text = match r.location.as_deref() {
                    Some("uri") => labels
                        .iter()
                        .find(|(l, _)| l == wire)
                        .map(|(_, v)| v.as_str()),
                    Some("querystring") => head.query(wire),
                    Some("header") => head.header(wire),
                    Some(_) => None,
                    None => {
                        body = BodyMode::Buffered;
                        None
                    }
                };
                if let Some(text) = text {
                    let v = xml_in::scalar(kind, text, wire)
                        .map_err(|e| error::invalid_argument(e.message, wire, text))?;
                    input.insert(name.clone(), v);
                }
            }
        }
        let input = Value::Object(input);
        if body == BodyMode::None {
            self.validate(op, &input)?;
        }
        Ok(Routed {
            operation: op,
            input,
            body,
        })
    }

    fn payload(&self, operation: &str, input: &mut Value, body: Bytes) -> Result<(), AwsError> {
        let Some(r) = self
            .model
            .operations
            .get(operation)
            .and_then(|o| o.input.as_ref())
        else {
            return Ok(());
        };
        if !body.iter().all(u8::is_ascii_whitespace) {
            let text = std::str::from_utf8(&body).map_err(|_| error::malformed_xml())?;
            let root = xml_in::parse(text).map_err(|_| error::malformed_xml())?;
            let expected = r.location_name.as_deref().unwrap_or(&r.shape);
            if root.name != expected {
                return Err(error::malformed_xml());
            }
            let decoded =
                xml_in::decode(&self.model, r, &root).map_err(|_| error::malformed_xml())?;
            if let (Value::Object(into), Value::Object(from)) = (&mut *input, decoded) {
                for (k, v) in from {
                    into.entry(k).or_insert(v);
                }
            }
        }
        self.validate(operation, input)
    }

    fn render(
        &self,
        operation: &str,
        output: &Value,
        request_id: &str,
    ) -> Response<gateway::body::Body> {
        let mut body = String::new();
        let shape = self
            .model
            .operations
            .get(operation)
            .and_then(|o| o.output.as_ref())
            .map(|r| r.shape.clone());
        if let (Some(shape), Value::Object(obj)) = (shape, output)
            && obj.values().any(|v| !v.is_null())
        {
            let mut w = XmlWriter::new(&self.model);
            w.out
                .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            w.open(&shape, Some(XMLNS));
            w.body_members(&shape, output);
            w.close(&shape);
            body = w.out;
        }
        let mut res = Response::new(gateway::body::full(body.clone()));
        *res.status_mut() = StatusCode::OK;
        let h = res.headers_mut();
        if !body.is_empty() {
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amz-request-id", v.clone());
            h.insert("x-amz-id-2", v);
        }
        res
    }
}

// ---------------------------------------------------------------- shared

/// The account an S3 Control request acts in (`x-amz-account-id`).
fn account_of(input: &Input) -> Result<&str, AwsError> {
    let a = input.str("AccountId").unwrap_or("");
    if a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()) {
        Ok(a)
    } else {
        Err(error::invalid_request(format!(
            "the account id `{a}` is not a 12-digit AWS account id"
        )))
    }
}

fn name_of(input: &Input) -> &str {
    input.str("Name").unwrap_or("")
}

/// A check of `action` on the access point the request names, with its policy when it exists.
fn ap_check(svc: &S3, call: &Call, input: &Input, action: &'static str) -> Result<Check, AwsError> {
    let account = account_of(input)?;
    let name = name_of(input);
    let arn = access_point::arn(svc.region(), account, name);
    let mut c = Check::new(action, arn.clone())
        .owned_by(account)
        .with("s3:ResourceAccount", account)
        .with("s3:DataAccessPointAccount", account)
        .with("s3:DataAccessPointArn", arn);
    let dir = svc.access_points();
    if let Some(ap) = dir.get(account, name) {
        c = c
            .with("s3:AccessPointNetworkOrigin", ap.network_origin())
            .resource_policy(management_policy(ap, call));
    }
    Ok(c)
}

/// The access point policy as the resource policy of a management request (Block Public
/// Access's `RestrictPublicBuckets` applied; the VPC restriction binds data requests only).
fn management_policy(ap: &AccessPoint, call: &Call) -> Option<Arc<Policy>> {
    let restricted = ap.rec.public_access_block.restrict_public_buckets
        && ap.policy_public
        && call.caller.account != ap.rec.account;
    if restricted { None } else { ap.policy.clone() }
}

fn find<'a>(dir: &'a access_point::Directory, input: &Input) -> Result<&'a AccessPoint, AwsError> {
    let account = account_of(input)?;
    let name = name_of(input);
    dir.get(account, name)
        .ok_or_else(|| no_such_access_point(name))
}

fn public_access_block_json(p: &PublicAccessBlock) -> Value {
    json!({
        "BlockPublicAcls": p.block_public_acls,
        "IgnorePublicAcls": p.ignore_public_acls,
        "BlockPublicPolicy": p.block_public_policy,
        "RestrictPublicBuckets": p.restrict_public_buckets,
    })
}

fn no_such_policy(name: &str) -> AwsError {
    AwsError::new(
        "NoSuchAccessPointPolicy",
        404,
        "The specified accesspoint policy does not exist",
    )
    .with("AccessPointName", name)
}

// ---------------------------------------------------------------- CreateAccessPoint

pub fn auth_create(svc: &S3, _call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let account = account_of(input)?;
    let arn = access_point::arn(svc.region(), account, name_of(input));
    let origin = if input.get("VpcConfiguration").is_some() {
        "VPC"
    } else {
        "Internet"
    };
    Ok(Authorization::check(
        Check::new("s3:CreateAccessPoint", arn.clone())
            .owned_by(account)
            .with("s3:ResourceAccount", account)
            .with("s3:AccessPointNetworkOrigin", origin)
            .with("s3:DataAccessPointAccount", account)
            .with("s3:DataAccessPointArn", arn),
    ))
}

pub async fn create(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let account = account_of(&input)?.to_string();
    let name = name_of(&input).to_string();
    check_name(&name)?;
    let bucket = input.str("Bucket").unwrap_or("").to_string();
    let bucket_account = svc
        .lock()
        .buckets
        .get(&bucket)
        .map(|b| b.rec.owner.clone())
        .ok_or_else(|| error::no_such_bucket(&bucket))?;
    if let Some(expected) = input.str("BucketAccountId")
        && expected != bucket_account
    {
        return Err(error::invalid_request(format!(
            "the bucket `{bucket}` is not owned by account `{expected}`"
        )));
    }
    let vpc_id = match input.get("VpcConfiguration") {
        Some(v) => {
            let id = v
                .get("VpcId")
                .and_then(Value::as_str)
                .ok_or_else(error::malformed_xml)?
                .to_string();
            let exists = svc.vpcs.get().is_some_and(|d| d.vpc_exists(&account, &id));
            if !exists {
                return Err(error::invalid_request(format!(
                    "The VPC `{id}` does not exist in account {account}"
                )));
            }
            Some(id)
        }
        None => None,
    };
    // Block Public Access of a new access point: each setting defaults to on.
    let pab = input.get("PublicAccessBlockConfiguration");
    let setting = |n: &str| {
        pab.and_then(|p| p.get(n))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    };
    let public_access_block = PublicAccessBlock {
        block_public_acls: setting("BlockPublicAcls"),
        ignore_public_acls: setting("IgnorePublicAcls"),
        block_public_policy: setting("BlockPublicPolicy"),
        restrict_public_buckets: setting("RestrictPublicBuckets"),
    };
    let (out, pending) = {
        let mut dir = svc.access_points_mut();
        if dir.get(&account, &name).is_some() {
            return Err(AwsError::new(
                "AccessPointAlreadyOwnedByYou",
                409,
                "Your previous request to create the named accesspoint succeeded and you already own it.",
            )
            .with("AccessPointName", name));
        }
        let mut alias = new_alias(&name);
        while dir.alias_taken(&alias) {
            alias = new_alias(&name);
        }
        let rec = AccessPointRecord {
            account: account.clone(),
            name: name.clone(),
            region: svc.region().to_string(),
            bucket,
            bucket_account,
            alias: alias.clone(),
            vpc_id,
            public_access_block,
            created: crate::ops::now(),
            policy: None,
        };
        let mut batch = storage::Batch::new();
        batch.put(&rec);
        let ap = AccessPoint::new(rec);
        let out = json!({"AccessPointArn": ap.arn(), "Alias": alias});
        dir.insert(ap);
        (out, call.submit(batch))
    };
    pending.await?;
    Ok(out)
}

// ---------------------------------------------------------------- GetAccessPoint

pub fn auth_get(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(ap_check(
        svc,
        call,
        input,
        "s3:GetAccessPoint",
    )?))
}

fn endpoints(region: &str) -> Value {
    json!({
        "ipv4": format!("s3-accesspoint.{region}.amazonaws.com"),
        "fips": format!("s3-accesspoint-fips.{region}.amazonaws.com"),
        "fips_dualstack": format!("s3-accesspoint-fips.dualstack.{region}.amazonaws.com"),
        "dualstack": format!("s3-accesspoint.dualstack.{region}.amazonaws.com"),
    })
}

pub async fn get(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let dir = svc.access_points();
    let ap = find(&dir, &input)?;
    let mut out = json!({
        "Name": ap.rec.name,
        "Bucket": ap.rec.bucket,
        "NetworkOrigin": ap.network_origin(),
        "PublicAccessBlockConfiguration": public_access_block_json(&ap.rec.public_access_block),
        "CreationDate": ap.rec.created,
        "Alias": ap.rec.alias,
        "AccessPointArn": ap.arn(),
        "Endpoints": endpoints(&ap.rec.region),
        "BucketAccountId": ap.rec.bucket_account,
    });
    if let Some(vpc) = &ap.rec.vpc_id {
        out["VpcConfiguration"] = json!({"VpcId": vpc});
    }
    Ok(out)
}

// ---------------------------------------------------------------- ListAccessPoints

pub fn auth_list(_svc: &S3, _call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    let account = account_of(input)?;
    Ok(Authorization::check(
        Check::new("s3:ListAccessPoints", "*")
            .owned_by(account)
            .with("s3:ResourceAccount", account),
    ))
}

pub async fn list(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let account = account_of(&input)?;
    let max = match input.int("MaxResults") {
        Some(n) if n > 0 => (n as usize).min(1000),
        _ => 1000,
    };
    let after = input.str("NextToken");
    let bucket = input.str("Bucket");
    let dir = svc.access_points();
    let mut items = Vec::new();
    let mut next = None;
    for ap in dir
        .of_account(account)
        .filter(|ap| bucket.is_none_or(|b| b == ap.rec.bucket))
        .filter(|ap| after.is_none_or(|a| ap.rec.name.as_str() > a))
    {
        if items.len() == max {
            next = items
                .last()
                .and_then(|v: &Value| v.get("Name"))
                .and_then(Value::as_str)
                .map(str::to_string);
            break;
        }
        let mut item = json!({
            "Name": ap.rec.name,
            "NetworkOrigin": ap.network_origin(),
            "Bucket": ap.rec.bucket,
            "AccessPointArn": ap.arn(),
            "Alias": ap.rec.alias,
            "BucketAccountId": ap.rec.bucket_account,
        });
        if let Some(vpc) = &ap.rec.vpc_id {
            item["VpcConfiguration"] = json!({"VpcId": vpc});
        }
        items.push(item);
    }
    let mut out = json!({"AccessPointList": items});
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

// ---------------------------------------------------------------- DeleteAccessPoint

pub fn auth_delete(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(ap_check(
        svc,
        call,
        input,
        "s3:DeleteAccessPoint",
    )?))
}

pub async fn delete(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let account = account_of(&input)?.to_string();
    let name = name_of(&input).to_string();
    let pending = {
        let mut dir = svc.access_points_mut();
        let ap = dir
            .remove(&account, &name)
            .ok_or_else(|| no_such_access_point(&name))?;
        let mut batch = storage::Batch::new();
        batch.delete::<AccessPointRecord>(&ap.rec.key());
        call.submit(batch)
    };
    pending.await?;
    Ok(json!({}))
}

// ---------------------------------------------------------------- access point policies

pub fn auth_put_policy(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(ap_check(
        svc,
        call,
        input,
        "s3:PutAccessPointPolicy",
    )?))
}

pub fn auth_get_policy(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(ap_check(
        svc,
        call,
        input,
        "s3:GetAccessPointPolicy",
    )?))
}

pub fn auth_delete_policy(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(ap_check(
        svc,
        call,
        input,
        "s3:DeleteAccessPointPolicy",
    )?))
}

pub fn auth_policy_status(svc: &S3, call: &Call, input: &Input) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(ap_check(
        svc,
        call,
        input,
        "s3:GetAccessPointPolicyStatus",
    )?))
}

/// An access point policy may name only the access point and its objects.
fn check_policy_resources(text: &str, ap_arn: &str) -> Result<(), AwsError> {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return Ok(());
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s) => vec![s.clone()],
        None => Vec::new(),
    };
    let objects = format!("{ap_arn}/object/");
    for s in &statements {
        let resources = match s.get("Resource").or_else(|| s.get("NotResource")) {
            Some(Value::String(r)) => vec![r.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        for r in resources {
            if r != ap_arn && !r.starts_with(&objects) {
                return Err(AwsError::bad_request(
                    "MalformedPolicy",
                    "Policy has invalid resource",
                ));
            }
        }
    }
    Ok(())
}

pub async fn put_policy(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let account = account_of(&input)?.to_string();
    let name = name_of(&input).to_string();
    let text = input.str("Policy").unwrap_or("").to_string();
    if text.trim().is_empty() {
        return Err(AwsError::bad_request(
            "MalformedPolicy",
            "Policies must be valid JSON and the first byte must be '{'",
        ));
    }
    Policy::parse(&text, PolicyType::Resource).map_err(|e| {
        AwsError::bad_request(
            "MalformedPolicy",
            format!("{} (line {}, column {})", e.message(), e.line(), e.column()),
        )
    })?;
    let public = crate::public::is_public(&text);
    let pending = {
        let mut dir = svc.access_points_mut();
        let ap = dir
            .get(&account, &name)
            .ok_or_else(|| no_such_access_point(&name))?;
        let arn = ap.arn();
        check_policy_resources(&text, &arn)?;
        if public && ap.rec.public_access_block.block_public_policy {
            return Err(error::access_denied(format!(
                "User: {} is not authorized to perform: s3:PutAccessPointPolicy on resource: \"{arn}\" because public policies are blocked by the BlockPublicPolicy block public access setting.",
                call.caller.arn
            )));
        }
        let mut rec = ap.rec.clone();
        rec.policy = Some(text);
        let mut batch = storage::Batch::new();
        batch.put(&rec);
        dir.insert(AccessPoint::new(rec));
        call.submit(batch)
    };
    pending.await?;
    Ok(json!({}))
}

pub async fn get_policy(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let dir = svc.access_points();
    let ap = find(&dir, &input)?;
    match &ap.rec.policy {
        Some(text) => Ok(json!({"Policy": text})),
        None => Err(no_such_policy(&ap.rec.name)),
    }
}

pub async fn delete_policy(svc: Arc<S3>, call: Call, input: Input) -> Result<Value, AwsError> {
    let account = account_of(&input)?.to_string();
    let name = name_of(&input).to_string();
    let pending = {
        let mut dir = svc.access_points_mut();
        let ap = dir
            .get(&account, &name)
            .ok_or_else(|| no_such_access_point(&name))?;
        let mut rec = ap.rec.clone();
        rec.policy = None;
        let mut batch = storage::Batch::new();
        batch.put(&rec);
        dir.insert(AccessPoint::new(rec));
        call.submit(batch)
    };
    pending.await?;
    Ok(json!({}))
}

pub async fn policy_status(svc: Arc<S3>, _call: Call, input: Input) -> Result<Value, AwsError> {
    let dir = svc.access_points();
    let ap = find(&dir, &input)?;
    if ap.rec.policy.is_none() {
        return Err(no_such_policy(&ap.rec.name));
    }
    Ok(json!({"PolicyStatus": {"IsPublic": ap.policy_public}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            match_template("/v20180820/accesspoint", "/v20180820/accesspoint"),
            Some(vec![])
        );
        assert_eq!(
            match_template(
                "/v20180820/accesspoint/{name}",
                "/v20180820/accesspoint/ap1-ds"
            ),
            Some(vec![("name".into(), "ap1-ds".into())])
        );
        assert_eq!(
            match_template(
                "/v20180820/accesspoint/{name}/policy",
                "/v20180820/accesspoint/ap%2D1/policy"
            ),
            Some(vec![("name".into(), "ap-1".into())])
        );
        assert_eq!(
            match_template(
                "/v20180820/accesspoint/{name}",
                "/v20180820/accesspoint/a/policy"
            ),
            None
        );
        assert_eq!(
            match_template("/v20180820/accesspoint/{name}", "/v20180820/accesspoint/"),
            None
        );
        assert_eq!(
            match_template("/v20180820/tags/{resourceArn+}", "/v20180820/tags/arn:a/b"),
            Some(vec![("resourceArn".into(), "arn:a/b".into())])
        );
    }

    fn router() -> ControlRouter {
        let def = match gateway::ServiceDef::new("s3control", crate::CONTROL_MODEL) {
            Ok(d) => d,
            Err(e) => panic!("model: {e}"),
        };
        ControlRouter::new(def.model.clone())
    }

    fn route(
        r: &ControlRouter,
        method: &str,
        path: &str,
        account: Option<&str>,
    ) -> Result<Routed, AwsError> {
        let mut headers = http::HeaderMap::new();
        if let Some(a) = account {
            headers.insert("x-amz-account-id", HeaderValue::from_str(a).unwrap());
        }
        let method = http::Method::from_bytes(method.as_bytes()).unwrap();
        let head = RequestHead {
            method: &method,
            path,
            query: &[],
            headers: &headers,
            host: "000000000000.127.0.0.1",
        };
        r.route(&head)
    }

    #[test]
    fn routes_and_decodes() {
        let r = router();
        let acct = Some("111122223333");
        let ok = route(&r, "GET", "/v20180820/accesspoint", acct).unwrap();
        assert_eq!(ok.operation, "ListAccessPoints");
        assert_eq!(ok.input["AccountId"], "111122223333");
        let ok = route(&r, "PUT", "/v20180820/accesspoint/ap1-ds/policy", acct).unwrap();
        assert_eq!(
            (ok.operation, ok.body),
            ("PutAccessPointPolicy", BodyMode::Buffered)
        );
        assert_eq!(ok.input["Name"], "ap1-ds");
        let ok = route(
            &r,
            "GET",
            "/v20180820/accesspoint/ap1-ds/policyStatus",
            acct,
        )
        .unwrap();
        assert_eq!(ok.operation, "GetAccessPointPolicyStatus");
        assert_eq!(
            route(&r, "DELETE", "/v20180820/accesspoint/ap1-ds", acct)
                .unwrap()
                .operation,
            "DeleteAccessPoint"
        );
        // The account header is required.
        assert_eq!(
            route(&r, "GET", "/v20180820/accesspoint/ap1-ds", None)
                .err()
                .map(|e| e.code),
            Some("InvalidRequest".into())
        );
        assert_eq!(
            route(&r, "POST", "/v20180820/accesspoint", acct)
                .err()
                .map(|e| e.code),
            Some("NotImplemented".into())
        );
        // A create body.
        let mut input = route(&r, "PUT", "/v20180820/accesspoint/ap1-ds", acct)
            .unwrap()
            .input;
        let body = format!(
            r#"<CreateAccessPointRequest xmlns="{XMLNS}"><Bucket>bkt</Bucket><VpcConfiguration><VpcId>vpc-1</VpcId></VpcConfiguration><PublicAccessBlockConfiguration><BlockPublicPolicy>false</BlockPublicPolicy></PublicAccessBlockConfiguration></CreateAccessPointRequest>"#
        );
        r.payload("CreateAccessPoint", &mut input, Bytes::from(body))
            .unwrap();
        assert_eq!(input["Bucket"], "bkt");
        assert_eq!(input["VpcConfiguration"]["VpcId"], "vpc-1");
        assert_eq!(
            input["PublicAccessBlockConfiguration"]["BlockPublicPolicy"],
            false
        );
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        let r = router();
        let acct = Some("111122223333");
        for path in [
            "/",
            "//",
            "/v20180820",
            "/v20180820/accesspoint/%FF",
            "/v20180820/accesspoint/a/b/c/d",
            "",
        ] {
            for m in ["GET", "PUT", "DELETE", "HEAD"] {
                let _ = route(&r, m, path, acct);
            }
        }
        let bodies: [&[u8]; 8] = [
            b"",
            b"<",
            b"\xff\xfe",
            b"<Other/>",
            b"<CreateAccessPointRequest><Bucket><x></Bucket></CreateAccessPointRequest>",
            b"<CreateAccessPointRequest><PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration></CreateAccessPointRequest>",
            b"<CreateAccessPointRequest></CreateAccessPointRequest>",
            b"<PutAccessPointPolicyRequest><Policy>{</Policy></PutAccessPointPolicyRequest>",
        ];
        for op in ["CreateAccessPoint", "PutAccessPointPolicy"] {
            for b in bodies {
                let mut input = json!({"AccountId": "111122223333", "Name": "ap"});
                let _ = r.payload(op, &mut input, Bytes::from_static(b));
            }
        }
        let mut input = json!({"AccountId": "111122223333", "Name": "ap"});
        let e = r
            .payload(
                "CreateAccessPoint",
                &mut input,
                Bytes::from_static(b"<CreateAccessPointRequest></CreateAccessPointRequest>"),
            )
            .unwrap_err();
        assert_eq!(e.code, "InvalidRequest");
    }

    #[test]
    fn policy_resources_name_the_access_point() {
        let arn = "arn:aws:s3:us-east-1:111122223333:accesspoint/ap1-ds";
        let doc = |r: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"{r}"}}]}}"#
            )
        };
        assert!(
            check_policy_resources(&doc(&format!("{arn}/object/feature-store/*")), arn).is_ok()
        );
        assert!(check_policy_resources(&doc(arn), arn).is_ok());
        for bad in [
            "arn:aws:s3:::data-science-on-aws/*",
            "*",
            "arn:aws:s3:us-east-1:111122223333:accesspoint/other/object/*",
        ] {
            assert_eq!(
                check_policy_resources(&doc(bad), arn).unwrap_err().code,
                "MalformedPolicy"
            );
        }
    }
}
