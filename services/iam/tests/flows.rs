//! IAM and STS flows through the gateway's authorization path (internal calls), without a
//! listener: entities, credentials, sessions, MFA, simulation and persistence.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::{AwsError, Call, Caller, Gateway, GatewayBuilder, Identities, Operation, Via};
use iam::Iam;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const ROOT_KEY: &str = "AKIAROOTROOTROOT0001";
const ROOT_SECRET: &str = "root-secret-root-secret-root-secret-0000";

struct Env {
    iam: Arc<Iam>,
    gw: Gateway,
}

fn env_on(store: storage::Store) -> Env {
    let config = gateway::Config {
        account_id: ACCOUNT.into(),
        ..gateway::Config::default()
    };
    let iam = Iam::open(&store, &config).expect("open");
    iam.ensure_account(ACCOUNT, ROOT_KEY, ROOT_SECRET)
        .expect("account");
    let mut b = GatewayBuilder::new(config, store, iam.clone());
    for def in iam.service_defs() {
        b = b.service(def);
    }
    Env { gw: b.build(), iam }
}

fn env() -> Env {
    env_on(storage::Store::ephemeral())
}

fn input<O: DeserializeOwned>(v: Value) -> O {
    serde_json::from_value(v).expect("input")
}

impl Env {
    fn caller(&self, key: &str, token: Option<&str>) -> Result<Arc<Caller>, AwsError> {
        self.iam
            .lookup(key, token, SystemTime::now())
            .map(|c| c.caller)
    }

    fn root(&self) -> Arc<Caller> {
        self.caller(ROOT_KEY, None).expect("root")
    }

    fn call(&self, caller: Arc<Caller>, service: &'static str) -> Call {
        self.gw.internal_call(caller, service)
    }

    async fn run<O: Operation<Service = Iam>>(
        &self,
        caller: &Arc<Caller>,
        service: &'static str,
        v: Value,
    ) -> Result<Value, AwsError> {
        let op: O = input(v);
        let out = self
            .call(caller.clone(), service)
            .invoke(&self.iam, op, service, Via::service("perimeter.test"))
            .await?;
        Ok(serde_json::to_value(out).expect("output"))
    }

    async fn iam<O: Operation<Service = Iam>>(
        &self,
        caller: &Arc<Caller>,
        v: Value,
    ) -> Result<Value, AwsError> {
        self.run::<O>(caller, "iam", v).await
    }

    async fn sts<O: Operation<Service = Iam>>(
        &self,
        caller: &Arc<Caller>,
        v: Value,
    ) -> Result<Value, AwsError> {
        self.run::<O>(caller, "sts", v).await
    }

    /// A user with an access key and the given inline policy; returns its caller.
    async fn user_with_policy(&self, name: &str, policy: Value) -> (Arc<Caller>, String, String) {
        let root = self.root();
        self.iam::<iam::CreateUser>(&root, json!({"UserName": name}))
            .await
            .expect("user");
        self.iam::<iam::PutUserPolicy>(
            &root,
            json!({"UserName": name, "PolicyName": "p", "PolicyDocument": policy.to_string()}),
        )
        .await
        .expect("policy");
        let key = self
            .iam::<iam::CreateAccessKey>(&root, json!({"UserName": name}))
            .await
            .expect("key");
        let id = key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string();
        let secret = key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_string();
        (self.caller(&id, None).expect("user caller"), id, secret)
    }
}

fn allow(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn trust_account(extra: Value) -> String {
    let mut stmt = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": ["sts:AssumeRole", "sts:TagSession"]});
    if !extra.is_null() {
        stmt["Condition"] = extra;
    }
    json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string()
}

#[tokio::test]
async fn users_are_created_once_and_deleted_only_when_empty() {
    let e = env();
    let root = e.root();
    let out = e.iam::<iam::CreateUser>(&root, json!({"UserName": "alice", "Path": "/team/", "Tags": [{"Key": "team", "Value": "ml"}]})).await.unwrap();
    assert_eq!(
        out["User"]["Arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/team/alice")
    );
    assert!(out["User"]["UserId"].as_str().unwrap().starts_with("AIDA"));
    let dup = e
        .iam::<iam::CreateUser>(&root, json!({"UserName": "ALICE"}))
        .await
        .unwrap_err();
    assert_eq!(
        (dup.code.as_ref(), dup.status),
        ("EntityAlreadyExists", 409)
    );
    let bad = e
        .iam::<iam::CreateUser>(&root, json!({"UserName": "bad name"}))
        .await
        .unwrap_err();
    assert_eq!(bad.code, "ValidationError");

    e.iam::<iam::CreateAccessKey>(&root, json!({"UserName": "alice"}))
        .await
        .unwrap();
    let conflict = e
        .iam::<iam::DeleteUser>(&root, json!({"UserName": "alice"}))
        .await
        .unwrap_err();
    assert_eq!(conflict.code, "DeleteConflict");
    assert_eq!(
        conflict.message,
        "Cannot delete entity, must delete access keys first."
    );

    let missing = e
        .iam::<iam::GetUser>(&root, json!({"UserName": "bob"}))
        .await
        .unwrap_err();
    assert_eq!(
        (missing.code.as_ref(), missing.status),
        ("NoSuchEntity", 404)
    );
    assert_eq!(missing.message, "The user with name bob cannot be found.");
}

#[tokio::test]
async fn malformed_policies_report_the_engine_position() {
    let e = env();
    let root = e.root();
    e.iam::<iam::CreateRole>(
        &root,
        json!({"RoleName": "r", "AssumeRolePolicyDocument": trust_account(Value::Null)}),
    )
    .await
    .unwrap();
    let err = e
        .iam::<iam::PutRolePolicy>(
            &root,
            json!({"RoleName": "r", "PolicyName": "p", "PolicyDocument": "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\",}]\n}"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status),
        ("MalformedPolicyDocument", 400)
    );
    assert!(err.message.contains("line 3"), "{}", err.message);
}

#[tokio::test]
async fn identity_policies_follow_iam_changes() {
    let e = env();
    let root = e.root();
    let (caller, id, _) = e
        .user_with_policy("carol", allow("s3:ListAllMyBuckets", "*"))
        .await;
    assert_eq!(caller.identity_policies.len(), 1);
    assert_eq!(
        caller.principal_id,
        e.caller(&id, None).unwrap().principal_id
    );

    e.iam::<iam::CreateGroup>(&root, json!({"GroupName": "readers"}))
        .await
        .unwrap();
    e.iam::<iam::AttachGroupPolicy>(
        &root,
        json!({"GroupName": "readers", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await
    .unwrap();
    e.iam::<iam::AddUserToGroup>(&root, json!({"GroupName": "readers", "UserName": "carol"}))
        .await
        .unwrap();
    assert_eq!(e.caller(&id, None).unwrap().identity_policies.len(), 2);

    e.iam::<iam::UpdateAccessKey>(
        &root,
        json!({"UserName": "carol", "AccessKeyId": id, "Status": "Inactive"}),
    )
    .await
    .unwrap();
    assert_eq!(
        e.caller(&id, None).unwrap_err().code,
        "InvalidClientTokenId"
    );
    assert_eq!(
        e.caller("AKIANOSUCHKEY0000000", None).unwrap_err().code,
        "InvalidClientTokenId"
    );
}

#[tokio::test]
async fn denied_calls_carry_the_enriched_message() {
    let e = env();
    let (caller, _, _) = e.user_with_policy("dave", allow("iam:GetUser", "*")).await;
    let err = e
        .iam::<iam::CreateRole>(
            &caller,
            json!({"RoleName": "x", "AssumeRolePolicyDocument": trust_account(Value::Null)}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, "AccessDenied");
    assert_eq!(
        err.message,
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/dave is not authorized to perform: iam:CreateRole on resource: \
             arn:aws:iam::{ACCOUNT}:role/x because no identity-based policy allows the iam:CreateRole action"
        )
    );
}

#[tokio::test]
async fn assume_role_checks_the_trust_policy_external_id_and_tags() {
    let e = env();
    let root = e.root();
    let cond = json!({"StringEquals": {"sts:ExternalId": "ext-123"}});
    e.iam::<iam::CreateRole>(
        &root,
        json!({"RoleName": "DataScience", "AssumeRolePolicyDocument": trust_account(cond), "Tags": [{"Key": "dept", "Value": "ds"}]}),
    )
    .await
    .unwrap();
    e.iam::<iam::AttachRolePolicy>(&root, json!({"RoleName": "DataScience", "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})).await.unwrap();
    let (user, _, _) = e.user_with_policy("erin", allow("sts:*", "*")).await;
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/DataScience");

    let denied = e
        .sts::<iam::AssumeRole>(&user, json!({"RoleArn": role_arn, "RoleSessionName": "s1"}))
        .await
        .unwrap_err();
    assert_eq!(denied.code, "AccessDenied");
    assert!(
        denied.message.contains("sts:AssumeRole"),
        "{}",
        denied.message
    );

    let out = e
        .sts::<iam::AssumeRole>(
            &user,
            json!({"RoleArn": role_arn, "RoleSessionName": "s1", "ExternalId": "ext-123",
                   "Tags": [{"Key": "project", "Value": "p1"}], "TransitiveTagKeys": ["project"]}),
        )
        .await
        .unwrap();
    let ak = out["Credentials"]["AccessKeyId"].as_str().unwrap();
    let token = out["Credentials"]["SessionToken"].as_str().unwrap();
    assert!(ak.starts_with("ASIA"));
    assert_eq!(
        out["AssumedRoleUser"]["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/DataScience/s1")
    );
    assert!(
        out["AssumedRoleUser"]["AssumedRoleId"]
            .as_str()
            .unwrap()
            .starts_with("AROA")
    );
    assert!(out["PackedPolicySize"].as_u64().is_some());

    let session = e.caller(ak, Some(token)).unwrap();
    assert_eq!(session.kind, gateway::IdentityType::AssumedRole);
    assert_eq!(session.identity_policies.len(), 1);
    assert!(
        session
            .tags
            .contains(&("dept".to_string(), "ds".to_string()))
    );
    assert!(
        session
            .tags
            .contains(&("project".to_string(), "p1".to_string()))
    );
    let s = session.session.as_ref().unwrap();
    assert!(!s.mfa_authenticated);
    assert_eq!(s.transitive_tag_keys, vec!["project".to_string()]);

    assert_eq!(e.caller(ak, None).unwrap_err().code, "InvalidClientTokenId");
    assert_eq!(
        e.caller(ak, Some("wrong")).unwrap_err().code,
        "InvalidClientTokenId"
    );
    let later = SystemTime::now() + Duration::from_secs(7200);
    assert_eq!(
        e.iam
            .lookup(ak, Some(token), later)
            .map(|_| ())
            .unwrap_err()
            .code,
        "ExpiredToken"
    );

    // Role chaining keeps transitive tags and caps the duration at one hour.
    e.iam::<iam::UpdateAssumeRolePolicy>(
        &root,
        json!({"RoleName": "DataScience", "PolicyDocument": trust_account(Value::Null)}),
    )
    .await
    .unwrap();
    e.iam::<iam::PutRolePolicy>(&root, json!({"RoleName": "DataScience", "PolicyName": "chain", "PolicyDocument": allow("sts:*", "*").to_string()})).await.unwrap();
    let session = e.caller(ak, Some(token)).unwrap();
    let long = e
        .sts::<iam::AssumeRole>(
            &session,
            json!({"RoleArn": role_arn, "RoleSessionName": "s2", "DurationSeconds": 7200}),
        )
        .await
        .unwrap_err();
    assert_eq!(long.code, "ValidationError", "{}", long.message);
    let chained = e
        .sts::<iam::AssumeRole>(
            &session,
            json!({"RoleArn": role_arn, "RoleSessionName": "s2"}),
        )
        .await
        .unwrap();
    let c2 = e
        .caller(
            chained["Credentials"]["AccessKeyId"].as_str().unwrap(),
            chained["Credentials"]["SessionToken"].as_str(),
        )
        .unwrap();
    assert!(c2.tags.contains(&("project".to_string(), "p1".to_string())));

    let who = e
        .sts::<iam::GetCallerIdentity>(&c2, json!({}))
        .await
        .unwrap();
    assert_eq!(
        who["Arn"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/DataScience/s2")
    );
    assert_eq!(who["Account"], ACCOUNT);
}

#[tokio::test]
async fn mfa_sessions_need_real_totp_codes() {
    let e = env();
    let root = e.root();
    let (user, _, _) = e.user_with_policy("frank", allow("s3:*", "*")).await;
    let dev = e
        .iam::<iam::CreateVirtualMFADevice>(&root, json!({"VirtualMFADeviceName": "frank-phone"}))
        .await
        .unwrap();
    let serial = dev["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(serial, format!("arn:aws:iam::{ACCOUNT}:mfa/frank-phone"));
    let b32 = STANDARD
        .decode(
            dev["VirtualMFADevice"]["Base32StringSeed"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let seed = iam::crypto::base32_decode(std::str::from_utf8(&b32).unwrap()).unwrap();
    let step = iam::crypto::totp_step(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );

    let wrong = e
        .iam::<iam::EnableMFADevice>(
            &root,
            json!({"UserName": "frank", "SerialNumber": serial, "AuthenticationCode1": "000000", "AuthenticationCode2": "000001"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (wrong.code.as_ref(), wrong.status),
        ("InvalidAuthenticationCode", 403)
    );
    e.iam::<iam::EnableMFADevice>(
        &root,
        json!({"UserName": "frank", "SerialNumber": serial,
               "AuthenticationCode1": iam::crypto::totp_code(&seed, step - 1),
               "AuthenticationCode2": iam::crypto::totp_code(&seed, step)}),
    )
    .await
    .unwrap();
    let listed = e
        .iam::<iam::ListMFADevices>(&root, json!({"UserName": "frank"}))
        .await
        .unwrap();
    assert_eq!(listed["MFADevices"][0]["SerialNumber"], serial);

    let plain = e
        .sts::<iam::GetSessionToken>(&user, json!({}))
        .await
        .unwrap();
    let c = e
        .caller(
            plain["Credentials"]["AccessKeyId"].as_str().unwrap(),
            plain["Credentials"]["SessionToken"].as_str(),
        )
        .unwrap();
    assert!(!c.session.as_ref().unwrap().mfa_authenticated);
    assert_eq!(c.arn, format!("arn:aws:iam::{ACCOUNT}:user/frank"));

    let bad = e
        .sts::<iam::GetSessionToken>(
            &user,
            json!({"SerialNumber": serial, "TokenCode": "123456"}),
        )
        .await;
    if iam::crypto::totp_find(&seed, step, 1, "123456").is_none() {
        assert_eq!(bad.unwrap_err().code, "AccessDenied");
    }
    let good = e
        .sts::<iam::GetSessionToken>(&user, json!({"SerialNumber": serial, "TokenCode": iam::crypto::totp_code(&seed, step), "DurationSeconds": 900}))
        .await
        .unwrap();
    let c = e
        .caller(
            good["Credentials"]["AccessKeyId"].as_str().unwrap(),
            good["Credentials"]["SessionToken"].as_str(),
        )
        .unwrap();
    let s = c.session.as_ref().unwrap();
    assert!(s.mfa_authenticated && s.mfa_auth_time.is_some());
    assert_eq!(c.identity_policies.len(), 1);

    let nested = e
        .sts::<iam::GetSessionToken>(&c, json!({}))
        .await
        .unwrap_err();
    assert_eq!(nested.code, "AccessDenied");
}

#[tokio::test]
async fn pass_role_is_simulated_as_a_plain_iam_check() {
    let e = env();
    let root = e.root();
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:PassRole", "Resource": format!("arn:aws:iam::{ACCOUNT}:role/*StudioRole*"),
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}]});
    e.user_with_policy("ds", policy).await;
    let studio = format!("arn:aws:iam::{ACCOUNT}:role/SageMakerStudioRole");
    let admin = format!("arn:aws:iam::{ACCOUNT}:role/Admin");
    let source = format!("arn:aws:iam::{ACCOUNT}:user/ds");
    let ctx = json!([{"ContextKeyName": "iam:PassedToService", "ContextKeyValues": ["sagemaker.amazonaws.com"], "ContextKeyType": "string"}]);
    let out = e
        .iam::<iam::SimulatePrincipalPolicy>(
            &root,
            json!({"PolicySourceArn": source, "ActionNames": ["iam:PassRole"], "ResourceArns": [studio, admin], "ContextEntries": ctx}),
        )
        .await
        .unwrap();
    let results = out["EvaluationResults"].as_array().unwrap();
    assert_eq!(results[0]["EvalDecision"], "allowed");
    assert_eq!(results[0]["MatchedStatements"][0]["SourcePolicyId"], "p");
    assert_eq!(
        results[0]["MatchedStatements"][0]["SourcePolicyType"],
        "user"
    );
    assert_eq!(results[1]["EvalDecision"], "implicitDeny");

    let out = e
        .iam::<iam::SimulatePrincipalPolicy>(&root, json!({"PolicySourceArn": source, "ActionNames": ["iam:PassRole"], "ResourceArns": [studio]}))
        .await
        .unwrap();
    assert_eq!(out["EvaluationResults"][0]["EvalDecision"], "implicitDeny");
    assert_eq!(
        out["EvaluationResults"][0]["MissingContextValues"],
        json!(["iam:PassedToService"])
    );

    let custom = e
        .iam::<iam::SimulateCustomPolicy>(
            &root,
            json!({"PolicyInputList": [json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}).to_string(),
                                        allow("s3:*", "*").to_string()],
                   "ActionNames": ["s3:GetObject"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        custom["EvaluationResults"][0]["EvalDecision"],
        "explicitDeny"
    );
    assert_eq!(
        custom["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"],
        "PolicyInputList.1"
    );
}

#[tokio::test]
async fn managed_policy_versions_and_attachments() {
    let e = env();
    let root = e.root();
    let p = e.iam::<iam::CreatePolicy>(&root, json!({"PolicyName": "ds-read", "PolicyDocument": allow("s3:GetObject", "*").to_string()})).await.unwrap();
    let arn = p["Policy"]["Arn"].as_str().unwrap().to_string();
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:policy/ds-read"));
    for _ in 0..4 {
        e.iam::<iam::CreatePolicyVersion>(
            &root,
            json!({"PolicyArn": arn, "PolicyDocument": allow("s3:PutObject", "*").to_string()}),
        )
        .await
        .unwrap();
    }
    let over = e
        .iam::<iam::CreatePolicyVersion>(
            &root,
            json!({"PolicyArn": arn, "PolicyDocument": allow("s3:*", "*").to_string()}),
        )
        .await
        .unwrap_err();
    assert_eq!(over.code, "LimitExceeded");
    e.iam::<iam::SetDefaultPolicyVersion>(&root, json!({"PolicyArn": arn, "VersionId": "v3"}))
        .await
        .unwrap();
    let got = e
        .iam::<iam::GetPolicy>(&root, json!({"PolicyArn": arn}))
        .await
        .unwrap();
    assert_eq!(got["Policy"]["DefaultVersionId"], "v3");
    let del = e
        .iam::<iam::DeletePolicyVersion>(&root, json!({"PolicyArn": arn, "VersionId": "v3"}))
        .await
        .unwrap_err();
    assert_eq!(del.code, "DeleteConflict");
    let v = e
        .iam::<iam::GetPolicyVersion>(&root, json!({"PolicyArn": arn, "VersionId": "v1"}))
        .await
        .unwrap();
    assert!(
        v["PolicyVersion"]["Document"]
            .as_str()
            .unwrap()
            .starts_with("%7B")
    );

    e.iam::<iam::CreateRole>(
        &root,
        json!({"RoleName": "r", "AssumeRolePolicyDocument": trust_account(Value::Null)}),
    )
    .await
    .unwrap();
    e.iam::<iam::AttachRolePolicy>(&root, json!({"RoleName": "r", "PolicyArn": arn}))
        .await
        .unwrap();
    let conflict = e
        .iam::<iam::DeletePolicy>(&root, json!({"PolicyArn": arn}))
        .await
        .unwrap_err();
    assert_eq!(conflict.code, "DeleteConflict");
    let listed = e
        .iam::<iam::ListAttachedRolePolicies>(&root, json!({"RoleName": "r"}))
        .await
        .unwrap();
    assert_eq!(listed["AttachedPolicies"][0]["PolicyName"], "ds-read");
    let missing = e
        .iam::<iam::AttachRolePolicy>(
            &root,
            json!({"RoleName": "r", "PolicyArn": format!("arn:aws:iam::{ACCOUNT}:policy/nope")}),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code, "NoSuchEntity");

    let details = e
        .iam::<iam::GetAccountAuthorizationDetails>(&root, json!({}))
        .await
        .unwrap();
    assert_eq!(details["RoleDetailList"][0]["RoleName"], "r");
    assert_eq!(
        details["Policies"][0]["PolicyVersionList"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!(
        "perimeter-iam-test-{}-{}",
        std::process::id(),
        iam::crypto::unique_id("T")
    ));
    let (key, secret, session) = {
        let e = env_on(storage::Store::open(&dir).unwrap());
        let root = e.root();
        e.iam::<iam::CreateRole>(
            &root,
            json!({"RoleName": "keep", "AssumeRolePolicyDocument": trust_account(Value::Null)}),
        )
        .await
        .unwrap();
        let (user, id, secret) = e
            .user_with_policy("grace", allow("sts:AssumeRole", "*"))
            .await;
        let out = e
            .sts::<iam::AssumeRole>(&user, json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/keep"), "RoleSessionName": "kept"}))
            .await
            .unwrap();
        e.iam::<iam::CreateVirtualMFADevice>(&root, json!({"VirtualMFADeviceName": "d"}))
            .await
            .unwrap();
        (id, secret, out["Credentials"].clone())
    };
    let e = env_on(storage::Store::open(&dir).unwrap());
    let c = e.iam.lookup(&key, None, SystemTime::now()).unwrap();
    assert_eq!(&*c.secret, secret.as_str());
    assert_eq!(c.caller.identity_policies.len(), 1);
    let s = e
        .iam
        .lookup(
            session["AccessKeyId"].as_str().unwrap(),
            session["SessionToken"].as_str(),
            SystemTime::now(),
        )
        .unwrap();
    assert_eq!(&*s.secret, session["SecretAccessKey"].as_str().unwrap());
    let root = e.root();
    let role = e
        .iam::<iam::GetRole>(&root, json!({"RoleName": "keep"}))
        .await
        .unwrap();
    assert!(role["Role"]["RoleLastUsed"]["LastUsedDate"].is_number());
    let devices = e
        .iam::<iam::ListVirtualMFADevices>(&root, json!({}))
        .await
        .unwrap();
    assert_eq!(devices["VirtualMFADevices"].as_array().unwrap().len(), 1);
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn services_assume_roles_that_trust_them() {
    let e = env();
    let root = e.root();
    let trust_sagemaker = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    e.iam::<iam::CreateRole>(
        &root,
        json!({"RoleName": "Exec", "AssumeRolePolicyDocument": trust_sagemaker}),
    )
    .await
    .unwrap();
    e.iam::<iam::CreateRole>(
        &root,
        json!({"RoleName": "Other", "AssumeRolePolicyDocument": trust_account(Value::Null)}),
    )
    .await
    .unwrap();
    let call = e.call(root.clone(), "sts");
    let ok: iam::AssumeRole = input(
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/Exec"), "RoleSessionName": "SageMaker"}),
    );
    let out = call
        .invoke_as_service("sagemaker.amazonaws.com", &e.iam, ok, "sts")
        .await
        .unwrap();
    let caller = e
        .caller(
            &out.credentials.access_key_id,
            Some(&out.credentials.session_token),
        )
        .unwrap();
    assert_eq!(
        caller.arn,
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/Exec/SageMaker")
    );
    let no: iam::AssumeRole = input(
        json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/Other"), "RoleSessionName": "SageMaker"}),
    );
    let err = call
        .invoke_as_service("sagemaker.amazonaws.com", &e.iam, no, "sts")
        .await
        .unwrap_err();
    assert_eq!(err.code, "AccessDenied");
}

#[tokio::test]
async fn session_token_credentials_need_mfa_for_iam() {
    let e = env();
    let (user, _, _) = e.user_with_policy("henry", allow("iam:*", "*")).await;
    let out = e
        .sts::<iam::GetSessionToken>(&user, json!({}))
        .await
        .unwrap();
    let c = e
        .caller(
            out["Credentials"]["AccessKeyId"].as_str().unwrap(),
            out["Credentials"]["SessionToken"].as_str(),
        )
        .unwrap();
    let err = e.iam::<iam::ListUsers>(&c, json!({})).await.unwrap_err();
    assert_eq!(err.code, "InvalidClientTokenId");
    e.sts::<iam::GetCallerIdentity>(&c, json!({}))
        .await
        .unwrap();
    let fed = e
        .sts::<iam::GetFederationToken>(
            &user,
            json!({"Name": "fed", "Policy": allow("iam:*", "*").to_string()}),
        )
        .await;
    assert_eq!(fed.unwrap_err().code, "AccessDenied");
}
