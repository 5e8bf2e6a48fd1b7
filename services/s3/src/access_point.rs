//! S3 access points: named ways into one bucket, each with its own policy, network origin
//! (`Internet`, or one VPC) and Block Public Access settings. S3 Control manages them
//! ([`crate::control`]); this module keeps them, finds the one a request addresses, and turns a
//! request's checks into the two AWS makes for it.
//!
//! Addressing, as clients send it:
//! - by ARN: an SDK given `arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME` as the bucket sends the
//!   request virtual-hosted to `NAME-ACCOUNT.s3-accesspoint.REGION.amazonaws.com`, or, with a
//!   custom endpoint `http://HOST:PORT`, to `NAME-ACCOUNT.HOST:PORT`;
//! - by alias: `NAME-<random>-s3alias` wherever a bucket name goes (path-style or
//!   virtual-hosted). Bucket names cannot end in `-s3alias`, so an alias never shadows a bucket.
//!
//! Authorization: a request through an access point is checked twice, each check decided by the
//! gateway — once on the access point's resource (`arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`,
//! `.../object/KEY` for objects) with the access point policy as the resource policy, once on
//! the bucket's resource with the bucket policy — and both carry `s3:DataAccessPointArn`,
//! `s3:DataAccessPointAccount` and `s3:AccessPointNetworkOrigin`, so a bucket policy can
//! delegate to access points. An access point restricted to a VPC adds to its policy a
//! statement denying every request that does not come through an endpoint of that VPC
//! (`aws:SourceVpc`), so that refusal is the engine's too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use gateway::{Authorization, AwsError, Call, Check};
use policy::{Policy, PolicyType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::Record;

use crate::access::{AccessPointFacts, through_access_point};
use crate::error;
use crate::input::Input;
use crate::names::bucket_arn;
use crate::router::Target;
use crate::state::PublicAccessBlock;

/// The input member naming the access point a request came through (its ARN). Only the router
/// sets it: no wire location decodes into it.
pub const ACCESS_POINT: &str = "accessPoint";

/// The input member naming the access point a copy reads its source through (its ARN); the
/// router sets it and rewrites `CopySource` to the bucket and key.
pub const COPY_SOURCE_ACCESS_POINT: &str = "copySourceAccessPoint";

/// The operations S3 serves through an access point; others are refused.
const SUPPORTED: &[&str] = &[
    "GetObject",
    "HeadObject",
    "PutObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListMultipartUploads",
    "ListParts",
    "HeadBucket",
    "GetBucketLocation",
    "GetBucketAcl",
];

/// An access point as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessPointRecord {
    /// The account that owns the access point.
    pub account: String,
    /// Its name, unique in the account and region.
    pub name: String,
    /// The region it was created in.
    pub region: String,
    /// The bucket it opens onto.
    pub bucket: String,
    /// The account that owns the bucket.
    pub bucket_account: String,
    /// `NAME-<random>-s3alias`.
    pub alias: String,
    /// The VPC it is restricted to (network origin `VPC`); `None` for `Internet`.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Its Block Public Access settings (fixed at creation, as in AWS).
    pub public_access_block: PublicAccessBlock,
    /// Creation time, epoch seconds.
    pub created: f64,
    /// The access point policy text.
    #[serde(default)]
    pub policy: Option<String>,
}

impl Record for AccessPointRecord {
    const TABLE: &'static str = "s3.access_point";
    fn key(&self) -> String {
        key(&self.account, &self.name)
    }
}

/// The record key of an access point.
pub fn key(account: &str, name: &str) -> String {
    format!("{account}/{name}")
}

/// `arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`.
pub fn arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:s3:{region}:{account}:accesspoint/{name}")
}

/// The account and name of an access point ARN.
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:s3:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("accesspoint/")?;
    (!name.is_empty() && !name.contains('/')).then_some((region, account, name))
}

/// An access point in memory: its record and its compiled policies.
#[derive(Clone)]
pub struct AccessPoint {
    pub rec: AccessPointRecord,
    /// The compiled access point policy.
    pub policy: Option<Arc<Policy>>,
    /// Whether that policy is public (Block Public Access's definition).
    pub policy_public: bool,
    /// For a VPC access point: the policy plus the statement refusing other networks, and that
    /// statement alone (used when Block Public Access sets the policy aside).
    vpc_guarded: Option<(Arc<Policy>, Arc<Policy>)>,
}

impl AccessPoint {
    /// An access point from its record; a stored policy that no longer compiles grants nothing.
    pub fn new(rec: AccessPointRecord) -> AccessPoint {
        let (policy, policy_public) = match &rec.policy {
            Some(text) => match Policy::parse(text, PolicyType::Resource) {
                Ok(p) => (Some(Arc::new(p)), crate::public::is_public(text)),
                Err(e) => {
                    tracing::error!(access_point = %rec.name, error = %e, "stored access point policy no longer compiles");
                    (None, false)
                }
            },
            None => (None, false),
        };
        let vpc_guarded = rec.vpc_id.as_deref().map(|vpc| {
            let alone = vpc_guard(None, vpc);
            let with = match (&rec.policy, policy.is_some()) {
                (Some(text), true) => vpc_guard(Some(text), vpc),
                _ => alone.clone(),
            };
            (with, alone)
        });
        AccessPoint {
            rec,
            policy,
            policy_public,
            vpc_guarded,
        }
    }

    /// `arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`.
    pub fn arn(&self) -> String {
        arn(&self.rec.region, &self.rec.account, &self.rec.name)
    }

    /// `VPC` or `Internet`.
    pub fn network_origin(&self) -> &'static str {
        if self.rec.vpc_id.is_some() {
            "VPC"
        } else {
            "Internet"
        }
    }

    /// The facts every check through this access point carries.
    pub fn facts(&self) -> AccessPointFacts {
        AccessPointFacts {
            arn: self.arn(),
            account: self.rec.account.clone(),
            network_origin: self.network_origin().into(),
        }
    }

    /// The resource policy of a check on this access point for `call`'s caller: the access
    /// point policy (set aside for other accounts' principals when it is public and
    /// `RestrictPublicBuckets` is on), with the VPC restriction added.
    pub fn resource_policy(&self, call: &Call) -> Option<Arc<Policy>> {
        let restricted = self.rec.public_access_block.restrict_public_buckets
            && self.policy_public
            && call.caller.account != self.rec.account;
        match (&self.vpc_guarded, restricted) {
            (Some((with, _)), false) => Some(with.clone()),
            (Some((_, alone)), true) => Some(alone.clone()),
            (None, false) => self.policy.clone(),
            (None, true) => None,
        }
    }
}

/// The statement a VPC access point adds to its policy.
fn vpc_statement(vpc: &str) -> Value {
    json!({
        "Sid": "AccessPointNetworkOriginVpc",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpc": vpc}}
    })
}

/// `text`'s statements (none when `None`) plus the VPC restriction, compiled.
fn vpc_guard(text: Option<&str>, vpc: &str) -> Arc<Policy> {
    let mut statements: Vec<Value> = text
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|doc| match doc.get("Statement") {
            Some(Value::Array(a)) => Some(a.clone()),
            Some(s @ Value::Object(_)) => Some(vec![s.clone()]),
            _ => None,
        })
        .unwrap_or_default();
    statements.push(vpc_statement(vpc));
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    match Policy::parse(&doc.to_string(), PolicyType::Resource) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            // The user's statements compiled on their own; if the combination does not (a
            // size limit), refuse everything rather than drop the restriction.
            tracing::error!(error = %e, "access point VPC restriction did not compile");
            DENY_ALL.clone()
        }
    }
}

/// A policy refusing everything.
static DENY_ALL: std::sync::LazyLock<Arc<Policy>> = std::sync::LazyLock::new(|| {
    match Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
        PolicyType::Resource,
    ) {
        Ok(p) => Arc::new(p),
        // A fixed document; failing to parse it is a build defect.
        Err(e) => panic!("fixed deny-all policy: {e}"),
    }
});

/// Every access point, by `ACCOUNT/NAME`, with the alias index.
#[derive(Default)]
pub struct Directory {
    points: BTreeMap<String, AccessPoint>,
    aliases: HashMap<String, String>,
}

impl Directory {
    /// Loads every access point from the store.
    pub fn load(store: &storage::Store) -> Result<Directory, storage::Error> {
        let mut d = Directory::default();
        for rec in store.table::<AccessPointRecord>().load_all()? {
            d.insert(AccessPoint::new(rec));
        }
        Ok(d)
    }

    /// Adds or replaces an access point.
    pub fn insert(&mut self, ap: AccessPoint) {
        let k = ap.rec.key();
        self.aliases.insert(ap.rec.alias.clone(), k.clone());
        self.points.insert(k, ap);
    }

    /// Removes an access point.
    pub fn remove(&mut self, account: &str, name: &str) -> Option<AccessPoint> {
        let ap = self.points.remove(&key(account, name))?;
        self.aliases.remove(&ap.rec.alias);
        Some(ap)
    }

    /// An access point by account and name.
    pub fn get(&self, account: &str, name: &str) -> Option<&AccessPoint> {
        self.points.get(&key(account, name))
    }

    /// An access point by alias.
    pub fn by_alias(&self, alias: &str) -> Option<&AccessPoint> {
        self.aliases.get(alias).and_then(|k| self.points.get(k))
    }

    /// An access point by ARN.
    pub fn by_arn(&self, arn: &str) -> Option<&AccessPoint> {
        let (_, account, name) = parse_arn(arn)?;
        self.get(account, name)
    }

    /// Whether an alias is taken.
    pub fn alias_taken(&self, alias: &str) -> bool {
        self.aliases.contains_key(alias)
    }

    /// The access points of `account`, by name.
    pub fn of_account<'a>(&'a self, account: &'a str) -> impl Iterator<Item = &'a AccessPoint> {
        let prefix = format!("{account}/");
        self.points
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
    }
}

/// Checks an access point name against S3's rules (3–50 characters of lower-case letters,
/// digits and hyphens, starting and ending with a letter or digit, not `xn--...` or `...-s3alias`).
pub fn check_name(name: &str) -> Result<(), AwsError> {
    let b = name.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (3..=50).contains(&b.len())
        && b.iter().all(|c| alnum(*c) || *c == b'-')
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && !name.starts_with("xn--")
        && !name.ends_with("-s3alias");
    if ok {
        Ok(())
    } else {
        Err(
            AwsError::bad_request("InvalidURI", "Couldn't parse the specified URI.")
                .with("URI", format!("accesspoint/{name}")),
        )
    }
}

/// A fresh alias: the name (up to 20 characters), a random part and `-s3alias`.
pub fn new_alias(name: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = [0u8; 34];
    let _ = aws_lc_rs::rand::fill(&mut b);
    let random: String = b
        .iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect();
    let prefix: String = name.chars().take(20).collect();
    format!("{}-{random}-s3alias", prefix.trim_end_matches('-'))
}

/// `NoSuchAccessPoint`.
pub fn no_such_access_point(name: &str) -> AwsError {
    AwsError::new(
        "NoSuchAccessPoint",
        404,
        "The specified accesspoint does not exist",
    )
    .with("AccessPointName", name)
}

/// The name and account in the first label of an access point host (`NAME-ACCOUNT.`).
pub fn host_label(host: &str) -> Option<(&str, &str)> {
    let (label, _) = host.split_once('.')?;
    let (name, account) = label.rsplit_once('-')?;
    (account.len() == 12 && account.bytes().all(|c| c.is_ascii_digit()) && !name.is_empty())
        .then_some((name, account))
}

/// Whether what follows the first label is an address with no buckets of its own: an IP
/// address (as SDKs prepend to a custom endpoint `http://IP:PORT`) or S3's access point domain.
fn access_point_only(rest: &str) -> bool {
    rest.parse::<std::net::IpAddr>().is_ok() || rest.starts_with("s3-accesspoint.")
}

/// The key of a virtual-hosted request path (`/` names none).
fn object_key(path: &str) -> Result<Option<String>, AwsError> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(None);
    }
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map(|k| Some(k.into_owned()))
        .map_err(|_| error::invalid_request("the request path is not valid UTF-8"))
}

/// Where a request addressed to an access point goes: the bucket and key, and the access
/// point's ARN; `None` when the request does not name an access point.
pub fn address(
    dir: &Directory,
    host: &str,
    path: &str,
    target: &Result<Target, AwsError>,
) -> Result<Option<(Target, String)>, AwsError> {
    let host = host.trim_end_matches('.');
    // Most requests name no access point: the host is lower-cased only when it might.
    let lower;
    let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = host.to_ascii_lowercase();
        lower.as_str()
    } else {
        host
    };
    if let Some((name, account)) = host_label(host) {
        let rest = host.split_once('.').map(|(_, r)| r).unwrap_or("");
        match dir.get(account, name) {
            Some(ap) => {
                let key = object_key(path)?;
                return Ok(Some((
                    Target {
                        bucket: Some(ap.rec.bucket.clone()),
                        key,
                    },
                    ap.arn(),
                )));
            }
            None if access_point_only(rest) => return Err(no_such_access_point(name)),
            None => {}
        }
    }
    let target = target.as_ref().map_err(Clone::clone)?;
    if let Some(b) = target.bucket.as_deref()
        && b.ends_with("-s3alias")
    {
        return match dir.by_alias(b) {
            Some(ap) => Ok(Some((
                Target {
                    bucket: Some(ap.rec.bucket.clone()),
                    key: target.key.clone(),
                },
                ap.arn(),
            ))),
            None => Err(error::no_such_bucket(b)),
        };
    }
    Ok(None)
}

/// A copy source (`x-amz-copy-source`) that names an access point, by ARN
/// (`arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME/object/KEY`) or by alias (`ALIAS/KEY`): the
/// source rewritten to `BUCKET/KEY` and the access point's ARN. `None` for a bucket source.
pub fn copy_source(dir: &Directory, raw: &str) -> Result<Option<(String, String)>, AwsError> {
    let (path, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return Ok(None);
    };
    let decoded = decoded.strip_prefix('/').unwrap_or(&decoded);
    let (ap, key) = if decoded.starts_with("arn:") {
        let Some((arn, key)) = decoded.split_once("/object/") else {
            return Err(error::invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                "x-amz-copy-source",
                raw,
            ));
        };
        let name = parse_arn(arn).map(|(_, _, n)| n).unwrap_or(arn);
        (
            dir.by_arn(arn).ok_or_else(|| no_such_access_point(name))?,
            key,
        )
    } else {
        match decoded.split_once('/') {
            Some((b, key)) if b.ends_with("-s3alias") => (
                dir.by_alias(b).ok_or_else(|| error::no_such_bucket(b))?,
                key,
            ),
            _ => return Ok(None),
        }
    };
    const KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let mut source = format!(
        "{}/{}",
        ap.rec.bucket,
        percent_encoding::utf8_percent_encode(key, KEY)
    );
    if let Some(q) = query {
        source.push('?');
        source.push_str(q);
    }
    Ok(Some((source, ap.arn())))
}

/// The access point named by `arn`, if it still opens onto `bucket`.
fn opening_onto<'a>(
    dir: &'a Directory,
    arn: &str,
    bucket: &str,
) -> Result<&'a AccessPoint, AwsError> {
    let name = parse_arn(arn).map(|(_, _, n)| n).unwrap_or(arn);
    dir.by_arn(arn)
        .filter(|ap| ap.rec.bucket == bucket)
        .ok_or_else(|| no_such_access_point(name))
}

/// Turns the checks of a request made through an access point into the two AWS makes for each:
/// one on the access point's resource under its policy, one on the bucket's resource under the
/// bucket policy, both carrying the access point's condition keys. A copy's source read goes
/// through the access point its source names, if any. Requests that name no access point pass
/// unchanged. Decides nothing.
pub fn authorize(
    dir: &Directory,
    call: &Call,
    input: &Input,
    operation: &'static str,
    mut auth: Authorization,
) -> Result<Authorization, AwsError> {
    let copy = matches!(operation, "CopyObject" | "UploadPartCopy");
    let through = input.str(ACCESS_POINT);
    let source_through = input.str(COPY_SOURCE_ACCESS_POINT).filter(|_| copy);
    if through.is_none() && source_through.is_none() {
        return Ok(auth);
    }
    if through.is_some() && !SUPPORTED.contains(&operation) {
        return Err(error::invalid_request(format!(
            "{operation} is not supported through an access point"
        )));
    }
    let target = match through {
        Some(arn) => Some((
            opening_onto(dir, arn, input.bucket())?,
            input.bucket().to_string(),
        )),
        None => None,
    };
    let source = match source_through {
        Some(arn) => {
            let (bucket, _, _) = crate::ops::object::copy_source(input)?;
            Some((opening_onto(dir, arn, &bucket)?, bucket))
        }
        None => None,
    };
    let mut checks = Vec::with_capacity(auth.checks.len() * 2);
    for c in auth.checks.drain(..) {
        // A copy reads its source through the source's access point (or the bucket itself).
        let via = if copy && c.action.starts_with("s3:GetObject") {
            source.as_ref()
        } else {
            target.as_ref()
        };
        let Some((ap, bucket)) = via else {
            checks.push(c);
            continue;
        };
        let bucket = bucket_arn(bucket);
        let suffix = if c.resource == bucket {
            Some(String::new())
        } else {
            c.resource
                .strip_prefix(&format!("{bucket}/"))
                .map(|k| format!("/object/{k}"))
        };
        let Some(suffix) = suffix else {
            checks.push(c);
            continue;
        };
        let facts = ap.facts();
        let mut on_ap: Check = c.clone();
        on_ap.resource = format!("{}{suffix}", facts.arn);
        on_ap.resource_account = Some(ap.rec.account.clone());
        on_ap.resource_policy = ap.resource_policy(call);
        on_ap.resource_tags = Vec::new();
        let on_ap = on_ap.with("s3:ResourceAccount", ap.rec.account.clone());
        checks.push(through_access_point(on_ap, &facts));
        checks.push(through_access_point(c, &facts));
    }
    auth.checks = checks;
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, vpc: Option<&str>) -> AccessPointRecord {
        AccessPointRecord {
            account: "111122223333".into(),
            name: name.into(),
            region: "us-east-1".into(),
            bucket: "data-science-on-aws".into(),
            bucket_account: "111122223333".into(),
            alias: new_alias(name),
            vpc_id: vpc.map(str::to_string),
            public_access_block: PublicAccessBlock::ALL,
            created: 0.0,
            policy: None,
        }
    }

    fn dir() -> (Directory, String) {
        let mut d = Directory::default();
        let rec = record("ap1-ds", None);
        let alias = rec.alias.clone();
        d.insert(AccessPoint::new(rec));
        d.insert(AccessPoint::new(record("ap2-bi", Some("vpc-1"))));
        (d, alias)
    }

    fn route(d: &Directory, host: &str, path: &str) -> Result<Option<(Target, String)>, AwsError> {
        address(d, host, path, &crate::router::target(host, path))
    }

    #[test]
    fn names_and_aliases() {
        assert!(check_name("ap1-ds").is_ok());
        for bad in [
            "ab",
            "Ap1",
            "-ap",
            "ap-",
            "xn--ap",
            "ap-s3alias",
            &"a".repeat(51),
        ] {
            assert_eq!(check_name(bad).unwrap_err().code, "InvalidURI", "{bad}");
        }
        let a = new_alias("ap1-ds");
        assert!(a.starts_with("ap1-ds-") && a.ends_with("-s3alias"), "{a}");
        assert!(a.len() <= 63);
        assert!(crate::names::check_bucket_name(&a).is_err());
        assert_ne!(a, new_alias("ap1-ds"));
        let long = new_alias(&"a".repeat(50));
        assert!(long.len() <= 63, "{long}");
    }

    #[test]
    fn arns() {
        let arn = arn("us-east-1", "111122223333", "ap1-ds");
        assert_eq!(arn, "arn:aws:s3:us-east-1:111122223333:accesspoint/ap1-ds");
        assert_eq!(
            parse_arn(&arn),
            Some(("us-east-1", "111122223333", "ap1-ds"))
        );
        assert_eq!(parse_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(
            parse_arn("arn:aws:s3:us-east-1:111122223333:accesspoint/a/object/k"),
            None
        );
    }

    #[test]
    fn routes_by_arn_host() {
        let (d, _) = dir();
        let arn = "arn:aws:s3:us-east-1:111122223333:accesspoint/ap1-ds".to_string();
        // A custom endpoint http://127.0.0.1:PORT, as botocore rewrites it for an ARN.
        let (t, a) = route(
            &d,
            "ap1-ds-111122223333.127.0.0.1",
            "/feature-store/a%20b.csv",
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.bucket.as_deref(), Some("data-science-on-aws"));
        assert_eq!(t.key.as_deref(), Some("feature-store/a b.csv"));
        assert_eq!(a, arn);
        // Host names are case-insensitive.
        let (t, a) = route(&d, "AP1-DS-111122223333.S3-AccessPoint.example.", "/k")
            .unwrap()
            .unwrap();
        assert_eq!(t.bucket.as_deref(), Some("data-science-on-aws"));
        assert_eq!(a, arn);
        // localhost, and AWS's own access point domain.
        for host in [
            "ap1-ds-111122223333.localhost",
            "ap1-ds-111122223333.s3-accesspoint.us-east-1.amazonaws.com",
        ] {
            let (t, a) = route(&d, host, "/k").unwrap().unwrap();
            assert_eq!(t.key.as_deref(), Some("k"));
            assert_eq!(a, arn);
        }
        // The access point itself (ListObjectsV2).
        let (t, _) = route(&d, "ap1-ds-111122223333.127.0.0.1", "/")
            .unwrap()
            .unwrap();
        assert_eq!(t.bucket.as_deref(), Some("data-science-on-aws"));
        assert_eq!(t.key, None);
        // An unknown access point on an address with no buckets of its own.
        let e = route(&d, "nope-111122223333.127.0.0.1", "/k").unwrap_err();
        assert_eq!(e.code, "NoSuchAccessPoint");
        // Elsewhere a label of that shape may be a virtual-hosted bucket.
        assert!(
            route(&d, "nope-111122223333.localhost", "/k")
                .unwrap()
                .is_none()
        );
        // Plain requests are not access point requests.
        assert!(route(&d, "127.0.0.1", "/bucket/k").unwrap().is_none());
        assert!(route(&d, "bucket.localhost", "/k").unwrap().is_none());
    }

    #[test]
    fn routes_by_alias() {
        let (d, alias) = dir();
        let (t, a) = route(&d, "127.0.0.1", &format!("/{alias}/feature-store/x"))
            .unwrap()
            .unwrap();
        assert_eq!(t.bucket.as_deref(), Some("data-science-on-aws"));
        assert_eq!(t.key.as_deref(), Some("feature-store/x"));
        assert!(a.ends_with(":accesspoint/ap1-ds"));
        let (t, _) = route(&d, &format!("{alias}.localhost"), "/k")
            .unwrap()
            .unwrap();
        assert_eq!(t.key.as_deref(), Some("k"));
        let e = route(&d, "127.0.0.1", "/ap1-ds-unknown-s3alias/k").unwrap_err();
        assert_eq!(e.code, "NoSuchBucket");
    }

    fn input(op_arn: Option<&str>) -> Input {
        let mut m = serde_json::Map::new();
        m.insert("Bucket".into(), "data-science-on-aws".into());
        m.insert("Key".into(), "feature-store/a".into());
        if let Some(a) = op_arn {
            m.insert(ACCESS_POINT.into(), a.into());
        }
        Input::new(m)
    }

    fn harness() -> gateway::fuzzing::Harness {
        let config = gateway::Config {
            account_id: "111122223333".into(),
            ..gateway::Config::default()
        };
        gateway::fuzzing::Harness::new(config, storage::Store::ephemeral(), Vec::new())
    }

    fn keys(c: &Check) -> Vec<(String, String)> {
        c.context
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_slice().join(",")))
            .collect()
    }

    #[test]
    fn through_an_access_point_each_check_becomes_two() {
        let (d, _) = dir();
        let h = harness();
        let call = h.call("s3");
        let arn = "arn:aws:s3:us-east-1:111122223333:accesspoint/ap1-ds";
        let object = "arn:aws:s3:::data-science-on-aws/feature-store/a";
        let get =
            || Authorization::check(Check::new("s3:GetObject", object).owned_by("444455556666"));
        // Not through an access point: unchanged.
        let a = authorize(&d, &call, &input(None), "GetObject", get()).unwrap();
        assert_eq!(a.checks.len(), 1);
        assert!(keys(&a.checks[0]).is_empty());
        // Through one: the access point's resource, then the bucket's, both with its keys.
        let a = authorize(&d, &call, &input(Some(arn)), "GetObject", get()).unwrap();
        let [on_ap, on_bucket] = &a.checks[..] else {
            panic!("expected two checks, got {}", a.checks.len());
        };
        assert_eq!(on_ap.resource, format!("{arn}/object/feature-store/a"));
        assert_eq!(on_ap.resource_account.as_deref(), Some("111122223333"));
        assert_eq!(on_bucket.resource, object);
        assert_eq!(on_bucket.resource_account.as_deref(), Some("444455556666"));
        for c in [on_ap, on_bucket] {
            let k = keys(c);
            assert!(k.contains(&("s3:DataAccessPointArn".into(), arn.into())));
            assert!(k.contains(&("s3:DataAccessPointAccount".into(), "111122223333".into())));
            assert!(k.contains(&("s3:AccessPointNetworkOrigin".into(), "Internet".into())));
        }
        // The bucket itself (ListObjectsV2) maps to the access point's own ARN.
        let list = Authorization::check(Check::new(
            "s3:ListBucket",
            "arn:aws:s3:::data-science-on-aws",
        ));
        let a = authorize(&d, &call, &input(Some(arn)), "ListObjectsV2", list).unwrap();
        assert_eq!(a.checks[0].resource, arn);
        // A copy's source read stays on the bucket.
        let copy = Authorization::all(vec![
            Check::new("s3:GetObject", "arn:aws:s3:::data-science-on-aws/src"),
            Check::new("s3:PutObject", object),
        ]);
        let a = authorize(&d, &call, &input(Some(arn)), "CopyObject", copy).unwrap();
        let resources: Vec<&str> = a.checks.iter().map(|c| c.resource.as_str()).collect();
        assert_eq!(
            resources,
            [
                "arn:aws:s3:::data-science-on-aws/src",
                &format!("{arn}/object/feature-store/a"),
                object
            ]
        );
        // Bucket configuration is not served through an access point.
        let e = authorize(&d, &call, &input(Some(arn)), "PutBucketPolicy", get()).unwrap_err();
        assert_eq!(e.code, "InvalidRequest");
        // An access point that is gone, or now opens onto another bucket.
        let gone = "arn:aws:s3:us-east-1:111122223333:accesspoint/gone";
        let e = authorize(&d, &call, &input(Some(gone)), "GetObject", get()).unwrap_err();
        assert_eq!(e.code, "NoSuchAccessPoint");
        let mut members = input(Some(arn)).map().clone();
        members.insert("Bucket".into(), "other-bucket".into());
        let other = Input::new(members);
        let e = authorize(&d, &call, &other, "GetObject", get()).unwrap_err();
        assert_eq!(e.code, "NoSuchAccessPoint");
        // A VPC access point always carries a resource policy (its network restriction).
        let vpc_arn = "arn:aws:s3:us-east-1:111122223333:accesspoint/ap2-bi";
        let a = authorize(&d, &call, &input(Some(vpc_arn)), "GetObject", get()).unwrap();
        assert!(a.checks[0].resource_policy.is_some());
        assert!(keys(&a.checks[0]).contains(&("s3:AccessPointNetworkOrigin".into(), "VPC".into())));
    }

    #[test]
    fn copy_sources_through_access_points() {
        let (d, alias) = dir();
        let arn = "arn:aws:s3:us-east-1:111122223333:accesspoint/ap1-ds";
        // botocore's form for an access point ARN source, percent-encoded or not.
        assert_eq!(
            copy_source(
                &d,
                &format!("{arn}/object/feature-store/a%20b?versionId=v1")
            )
            .unwrap(),
            Some((
                "data-science-on-aws/feature-store/a%20b?versionId=v1".into(),
                arn.into()
            ))
        );
        assert_eq!(
            copy_source(
                &d,
                "arn%3Aaws%3As3%3Aus-east-1%3A111122223333%3Aaccesspoint%2Fap1-ds%2Fobject%2Fk"
            )
            .unwrap()
            .map(|(s, _)| s),
            Some("data-science-on-aws/k".into())
        );
        assert_eq!(
            copy_source(&d, &format!("/{alias}/x/y")).unwrap(),
            Some(("data-science-on-aws/x/y".into(), arn.into()))
        );
        assert_eq!(copy_source(&d, "/bucket/key").unwrap(), None);
        let e = copy_source(
            &d,
            "arn:aws:s3:us-east-1:111122223333:accesspoint/nope/object/k",
        );
        assert_eq!(e.unwrap_err().code, "NoSuchAccessPoint");
        let e = copy_source(&d, "nope-s3alias/k").unwrap_err();
        assert_eq!(e.code, "NoSuchBucket");
    }

    #[test]
    fn vpc_access_points_add_a_network_restriction() {
        let ap = AccessPoint::new(record("ap2-bi", Some("vpc-1")));
        assert_eq!(ap.network_origin(), "VPC");
        let (with, alone) = ap.vpc_guarded.clone().unwrap();
        assert_eq!(with.statement_count(), 1);
        assert_eq!(alone.statement_count(), 1);
        let mut rec = record("ap3", Some("vpc-1"));
        rec.policy = Some(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:us-east-1:111122223333:accesspoint/ap3/object/*"}}"#
                .into(),
        );
        let ap = AccessPoint::new(rec);
        let (with, _) = ap.vpc_guarded.clone().unwrap();
        assert_eq!(with.statement_count(), 2);
        assert_eq!(
            AccessPoint::new(record("ap4", None)).network_origin(),
            "Internet"
        );
    }
}
