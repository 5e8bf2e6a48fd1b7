//! KMS through the real gateway, including calls another service makes on a caller's behalf with
//! `Call::invoke`: a toy storage service (`toys3`, signing as `s3.amazonaws.com`) creates grants and
//! data keys for its caller, as S3 and SageMaker do. Scenario S3: `kms:GrantIsForAWSResource`,
//! `kms:ViaService`, and "the service allows, KMS denies".

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gateway::{
    Authorization, AwsError, Call, Caller, Check, Config, Credential, GatewayBuilder, Identities,
    IdentityType, Location, Operation, ServiceDef, Session, Via,
};
use kms::Kms;
use policy::{Policy, PolicyType, Principal};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCOUNT: &str = "111122223333";

const TOY_MODEL: &str = r#"{
 "metadata": {"protocol": "json", "jsonVersion": "1.1", "apiVersion": "2020-01-01",
              "endpointPrefix": "toys3", "targetPrefix": "ToyS3"},
 "operations": {
  "Grant": {"name": "Grant", "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "In"}, "output": {"shape": "Out"}},
  "Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"},
          "input": {"shape": "In"}, "output": {"shape": "Out"}},
  "Get": {"name": "Get", "http": {"method": "POST", "requestUri": "/"},
          "input": {"shape": "In"}, "output": {"shape": "Out"}}
 },
 "shapes": {
  "In": {"type": "structure", "required": ["KeyId"],
         "members": {"KeyId": {"shape": "S"}, "Grantee": {"shape": "S"}, "Blob": {"shape": "S"}}},
  "Out": {"type": "structure", "members": {"Value": {"shape": "S"}}},
  "S": {"type": "string"}
 }
}"#;

/// The toy service: holds the KMS service it calls.
struct ToyS3 {
    kms: Arc<Kms>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct In {
    key_id: String,
    grantee: Option<String>,
    blob: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Out {
    value: String,
}

fn toy_check(action: &'static str) -> Result<Authorization, AwsError> {
    Ok(Authorization::check(Check::new(action, "*")))
}

fn context() -> kms::ContextMap {
    [(
        "aws:s3:arn".to_string(),
        "arn:aws:s3:::bucket/object".to_string(),
    )]
    .into()
}

const VIA: &str = "s3.amazonaws.com";

macro_rules! toy_op {
    ($name:ident, $op:literal, $action:literal, |$input:ident, $svc:ident, $call:ident| $body:block) => {
        #[derive(Serialize, Deserialize, Default)]
        #[serde(transparent)]
        struct $name(In);

        impl Operation for $name {
            type Service = ToyS3;
            type Output = Out;
            const NAME: &'static str = $op;

            fn authorize(&self, _svc: &ToyS3, _call: &Call) -> Result<Authorization, AwsError> {
                toy_check($action)
            }

            async fn handle(self, $svc: Arc<ToyS3>, $call: Call) -> Result<Out, AwsError> {
                let $input = self.0;
                $body
            }
        }
    };
}

toy_op!(ToyGrant, "Grant", "toys3:Grant", |input, svc, call| {
    let out = call
        .invoke(
            &svc.kms,
            kms::CreateGrant {
                key_id: input.key_id,
                grantee_principal: input.grantee.unwrap_or_default(),
                operations: vec!["Decrypt".into(), "GenerateDataKey".into()],
                ..Default::default()
            },
            "kms",
            Via::service(VIA),
        )
        .await?;
    Ok(Out {
        value: out.grant_id,
    })
});

toy_op!(ToyPut, "Put", "toys3:Put", |input, svc, call| {
    let out = call
        .invoke(
            &svc.kms,
            kms::GenerateDataKey {
                key_id: input.key_id,
                key_spec: Some("AES_256".into()),
                encryption_context: Some(context()),
                ..Default::default()
            },
            "kms",
            Via::service(VIA),
        )
        .await?;
    assert_eq!(out.plaintext_bytes().map(|p| p.len()), Some(32));
    Ok(Out {
        value: out.ciphertext_blob,
    })
});

toy_op!(ToyGet, "Get", "toys3:Get", |input, svc, call| {
    let out = call
        .invoke(
            &svc.kms,
            kms::Decrypt {
                ciphertext_blob: input.blob.unwrap_or_default(),
                encryption_context: Some(context()),
                ..Default::default()
            },
            "kms",
            Via::service(VIA),
        )
        .await?;
    Ok(Out { value: out.key_id })
});

/// Credentials: the account root and role sessions, each allowed `toys3:*` only.
struct Directory {
    callers: HashMap<&'static str, Arc<Caller>>,
}

impl Identities for Directory {
    fn lookup(
        &self,
        id: &str,
        _token: Option<&str>,
        _now: SystemTime,
    ) -> Result<Credential, AwsError> {
        let caller = self.callers.get(id).cloned().ok_or_else(|| {
            AwsError::new(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            )
        })?;
        Ok(Credential {
            secret: Arc::from("secret"),
            caller,
        })
    }
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn role_session(name: &str, key: &str) -> Arc<Caller> {
    let role = role_arn(name);
    let session = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/s");
    let role_id = format!("AROA{}", name.to_uppercase());
    let toy = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"toys3:*","Resource":"*"}]}"#,
        PolicyType::Identity,
    )
    .expect("policy");
    Arc::new(Caller {
        kind: IdentityType::AssumedRole,
        arn: session.clone(),
        account: ACCOUNT.into(),
        principal_id: format!("{role_id}:s"),
        user_name: None,
        access_key_id: Some(key.into()),
        principal: Principal::assumed_role(&session, &role, &role_id, "s"),
        tags: Vec::new(),
        identity_policies: vec![Arc::new(toy)],
        boundary: None,
        session: Some(Arc::new(Session {
            issued_at: SystemTime::now(),
            expires_at: SystemTime::now() + Duration::from_secs(3600),
            mfa_authenticated: false,
            mfa_auth_time: None,
            source_identity: None,
            policies: None,
            role: Some((role, name.into(), role_id)),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            issuer_arn: None,
        })),
    })
}

fn root() -> Arc<Caller> {
    Arc::new(Caller {
        kind: IdentityType::Root,
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
        account: ACCOUNT.into(),
        principal_id: ACCOUNT.into(),
        user_name: None,
        access_key_id: Some("AKROOT".into()),
        principal: Principal::root(ACCOUNT),
        tags: Vec::new(),
        identity_policies: Vec::new(),
        boundary: None,
        session: None,
    })
}

struct Harness {
    _gw: gateway::Gateway,
    addr: std::net::SocketAddr,
}

impl Harness {
    async fn start() -> Harness {
        let store = storage::Store::ephemeral();
        let config = Config {
            region: "us-east-1".into(),
            account_id: ACCOUNT.into(),
            ..Config::default()
        };
        let kms = Kms::open(&store, &config).expect("kms opens");
        let toy = Arc::new(ToyS3 { kms: kms.clone() });
        let toy_def = ServiceDef::new("toys3", TOY_MODEL)
            .expect("model")
            .operation::<ToyGrant>(&toy)
            .operation::<ToyPut>(&toy)
            .operation::<ToyGet>(&toy);
        let callers = HashMap::from([
            ("AKROOT", root()),
            ("AKUSER", role_session("DataScience", "AKUSER")),
            ("AKREADER", role_session("Reader", "AKREADER")),
        ]);
        let gw = GatewayBuilder::new(config, store, Arc::new(Directory { callers }))
            .service(kms.service_def())
            .service(toy_def)
            .build();
        let addr = gw
            .listen(
                "public",
                "127.0.0.1:0".parse().expect("addr"),
                Location::Public,
            )
            .await
            .expect("listen");
        Harness { _gw: gw, addr }
    }

    /// A signed JSON 1.1 request; returns the status and the parsed body.
    async fn call(&self, key: &str, service: &str, target: &str, body: Value) -> (u16, Value) {
        let body = body.to_string();
        let host = self.addr.to_string();
        let headers: Vec<(&str, &[u8])> = vec![
            ("host", host.as_bytes()),
            ("content-type", b"application/x-amz-json-1.1"),
            ("x-amz-target", target.as_bytes()),
        ];
        let req = sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: Some(body.as_bytes()),
        };
        let params = sigv4::SigningParams {
            access_key_id: key,
            secret_access_key: "secret",
            session_token: None,
            region: "us-east-1",
            service,
            time: SystemTime::now(),
        };
        let sig = sigv4::sign(&req, &params, sigv4::PayloadSigning::Body(body.as_bytes()));
        let mut text = format!(
            "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: {target}\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (k, v) in &sig.headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(&body);
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        stream.write_all(text.as_bytes()).await.expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).await.expect("read");
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let raw = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let value = serde_json::from_str(raw).unwrap_or(Value::String(raw.to_string()));
        (status, value)
    }

    async fn kms(&self, key: &str, op: &str, body: Value) -> (u16, Value) {
        self.call(key, "kms", &format!("TrentService.{op}"), body)
            .await
    }

    async fn toy(&self, key: &str, op: &str, body: Value) -> (u16, Value) {
        self.call(key, "toys3", &format!("ToyS3.{op}"), body).await
    }

    /// A key whose policy names an administrator role, `DataScience` as key user (through the
    /// service only for grants), and `Reader` only through S3.
    async fn key(&self) -> String {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": role_arn("Admin")},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": role_arn("DataScience")},
                 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                 "Resource": "*"},
                {"Sid": "Allow use of the key with AWS services", "Effect": "Allow",
                 "Principal": {"AWS": role_arn("DataScience")},
                 "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
                 "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
                {"Sid": "Reader through S3", "Effect": "Allow", "Principal": {"AWS": role_arn("Reader")},
                 "Action": "kms:Decrypt", "Resource": "*",
                 "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
            ]
        });
        let (status, out) = self
            .kms(
                "AKROOT",
                "CreateKey",
                json!({"Policy": policy.to_string(), "BypassPolicyLockoutSafetyCheck": true}),
            )
            .await;
        assert_eq!(status, 200, "{out}");
        out["KeyMetadata"]["Arn"].as_str().expect("arn").to_string()
    }
}

fn code(v: &Value) -> &str {
    v["__type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn create_grant_is_allowed_only_when_a_service_makes_it() {
    let h = Harness::start().await;
    let key = h.key().await;
    let grantee = role_arn("DataScience");
    let (status, out) = h
        .kms(
            "AKUSER",
            "CreateGrant",
            json!({"KeyId": key, "GranteePrincipal": grantee, "Operations": ["Decrypt"]}),
        )
        .await;
    assert_eq!(status, 400, "{out}");
    assert_eq!(code(&out), "AccessDeniedException", "{out}");
    let message = out["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("is not authorized to perform: kms:CreateGrant on resource"),
        "{message}"
    );

    // The same request made by the integrated service on the user's behalf succeeds.
    let (status, out) = h
        .toy("AKUSER", "Grant", json!({"KeyId": key, "Grantee": grantee}))
        .await;
    assert_eq!(status, 200, "{out}");
    let grant_id = out["Value"].as_str().expect("grant id").to_string();
    assert_eq!(grant_id.len(), 64);

    // ListGrants, like CreateGrant, is allowed to this user only for AWS resources.
    let (status, out) = h.kms("AKUSER", "ListGrants", json!({"KeyId": key})).await;
    assert_eq!(code(&out), "AccessDeniedException", "{status} {out}");
    let (status, out) = h.kms("AKROOT", "ListGrants", json!({"KeyId": key})).await;
    assert_eq!(
        status, 400,
        "the key policy does not name the root user: {out}"
    );
    assert_eq!(code(&out), "AccessDeniedException");
}

#[tokio::test]
async fn the_service_allows_but_the_key_policy_denies_the_reader() {
    let h = Harness::start().await;
    let key = h.key().await;
    // The key user writes through the service: GenerateDataKey with the service's context.
    let (status, out) = h.toy("AKUSER", "Put", json!({"KeyId": key})).await;
    assert_eq!(status, 200, "{out}");
    let blob = out["Value"].as_str().expect("blob").to_string();

    // The reader may decrypt only through S3 (kms:ViaService).
    let (status, out) = h
        .toy("AKREADER", "Get", json!({"KeyId": key, "Blob": blob}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["Value"], json!(key));
    let (status, out) = h
        .kms(
            "AKREADER",
            "Decrypt",
            json!({"CiphertextBlob": blob, "EncryptionContext": {"aws:s3:arn": "arn:aws:s3:::bucket/object"}}),
        )
        .await;
    assert_eq!(
        (status, code(&out)),
        (400, "AccessDeniedException"),
        "{out}"
    );

    // Whom the service allows but the key policy does not name is denied by KMS.
    let (status, out) = h.toy("AKREADER", "Put", json!({"KeyId": key})).await;
    assert_eq!(code(&out), "AccessDeniedException", "{status} {out}");
    let message = out["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("kms:GenerateDataKey") && message.contains(&key),
        "{message}"
    );
}

#[tokio::test]
async fn aws_managed_key_works_only_through_its_service() {
    let h = Harness::start().await;
    let (status, out) = h
        .toy("AKUSER", "Put", json!({"KeyId": "alias/aws/s3"}))
        .await;
    assert_eq!(status, 200, "{out}");
    let blob = out["Value"].as_str().expect("blob").to_string();
    let (status, out) = h
        .toy(
            "AKREADER",
            "Get",
            json!({"KeyId": "alias/aws/s3", "Blob": blob}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let (status, out) = h
        .kms(
            "AKUSER",
            "Decrypt",
            json!({"CiphertextBlob": blob, "EncryptionContext": {"aws:s3:arn": "arn:aws:s3:::bucket/object"}}),
        )
        .await;
    assert_eq!(
        (status, code(&out)),
        (400, "AccessDeniedException"),
        "{out}"
    );
    let (status, out) = h
        .kms("AKROOT", "DescribeKey", json!({"KeyId": "alias/aws/s3"}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["KeyMetadata"]["KeyManager"], json!("AWS"));
}
