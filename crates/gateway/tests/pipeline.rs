//! The request pipeline end to end over TCP: a signed Query request is
//! authenticated, decoded by the model, authorized by the engine, handled,
//! rendered, and audited; a denied one gets AWS's error shape.

use std::sync::Arc;
use std::time::SystemTime;

use gateway::{
    Authorization, AwsError, Call, Caller, Check, Config, Credential, GatewayBuilder, Identities,
    IdentityType, Location, Operation, ServiceDef,
};
use policy::{Policy, PolicyType, Principal};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MODEL: &str = r#"{
 "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "endpointPrefix": "toy",
              "xmlNamespace": "https://toy.amazonaws.com/doc/2020-01-01/"},
 "operations": {
  "Touch": {"name": "Touch", "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "TouchRequest"},
            "output": {"shape": "TouchResponse", "resultWrapper": "TouchResult"}},
  "Boom": {"name": "Boom", "http": {"method": "POST", "requestUri": "/"}}
 },
 "shapes": {
  "TouchRequest": {"type": "structure", "required": ["Name"],
                   "members": {"Name": {"shape": "Name"}, "Tags": {"shape": "Tags"}, "Count": {"shape": "Count"}}},
  "TouchResponse": {"type": "structure", "members": {"Touched": {"shape": "Name"}, "Names": {"shape": "Names"},
                    "At": {"shape": "When"}}},
  "Tags": {"type": "list", "member": {"shape": "Tag"}},
  "Tag": {"type": "structure", "members": {"Key": {"shape": "Name"}, "Value": {"shape": "Name"}}},
  "Names": {"type": "list", "member": {"shape": "Name"}},
  "Name": {"type": "string", "min": 1, "max": 64},
  "Count": {"type": "integer"},
  "When": {"type": "timestamp"}
 }
}"#;

struct Toy;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Touch {
    name: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    count: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TouchOut {
    touched: String,
    names: Vec<String>,
    at: f64,
}

impl Operation for Touch {
    type Service = Toy;
    type Output = TouchOut;
    const NAME: &'static str = "Touch";

    fn authorize(&self, _svc: &Toy, call: &Call) -> Result<Authorization, AwsError> {
        let tags: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        Ok(Authorization::check(
            Check::new(
                "toy:Touch",
                format!(
                    "arn:aws:toy:{}:{}:thing/{}",
                    call.region(),
                    call.account(),
                    self.name
                ),
            )
            .request_tags(&tags, None),
        ))
    }

    async fn handle(self, _svc: Arc<Toy>, _call: Call) -> Result<TouchOut, AwsError> {
        Ok(TouchOut {
            touched: self.name.clone(),
            names: vec![self.name, format!("n{}", self.count.unwrap_or(0))],
            at: 0.0,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Boom {}

impl Operation for Boom {
    type Service = Toy;
    type Output = ();
    const NAME: &'static str = "Boom";

    fn authorize(&self, _svc: &Toy, _call: &Call) -> Result<Authorization, AwsError> {
        Ok(Authorization::none_required())
    }

    async fn handle(self, _svc: Arc<Toy>, _call: Call) -> Result<(), AwsError> {
        panic!("a defect in a handler")
    }
}

struct Directory {
    caller: Arc<Caller>,
}

impl Identities for Directory {
    fn lookup(
        &self,
        id: &str,
        _token: Option<&str>,
        _now: SystemTime,
    ) -> Result<Credential, AwsError> {
        if id != "AKIAUSER" {
            return Err(AwsError::new(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            ));
        }
        Ok(Credential {
            secret: Arc::from("secret"),
            caller: self.caller.clone(),
        })
    }
}

fn user() -> Arc<Caller> {
    let arn = "arn:aws:iam::111122223333:user/alice";
    let policy = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"toy:Touch","Resource":"arn:aws:toy:*:111122223333:thing/ok*"},
            {"Effect":"Deny","Action":"toy:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/stage":"prod"}}}]}"#,
        PolicyType::Identity,
    )
    .expect("policy parses");
    Arc::new(Caller {
        kind: IdentityType::IamUser,
        arn: arn.into(),
        account: "111122223333".into(),
        principal_id: "AIDAALICE".into(),
        user_name: Some("alice".into()),
        access_key_id: Some("AKIAUSER".into()),
        principal: Principal::user(arn, "AIDAALICE", "alice"),
        tags: Vec::new(),
        identity_policies: vec![Arc::new(policy)],
        boundary: None,
        session: None,
    })
}

async fn post(addr: std::net::SocketAddr, body: &str, key: &str, secret: &str) -> (u16, String) {
    let host = addr.to_string();
    let headers: Vec<(&str, &[u8])> = vec![
        ("host", host.as_bytes()),
        (
            "content-type",
            b"application/x-www-form-urlencoded; charset=utf-8",
        ),
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
        secret_access_key: secret,
        session_token: None,
        region: "us-east-1",
        service: "toy",
        time: SystemTime::now(),
    };
    let sig = sigv4::sign(&req, &params, sigv4::PayloadSigning::Body(body.as_bytes()));
    let mut text = format!(
        "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-www-form-urlencoded; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in &sig.headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(text.as_bytes()).await.expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).await.expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn start() -> (gateway::Gateway, std::net::SocketAddr) {
    let toy = Arc::new(Toy);
    let def = ServiceDef::new("toy", MODEL)
        .expect("model")
        .operation::<Touch>(&toy)
        .operation::<Boom>(&toy);
    let store = storage::Store::ephemeral();
    let config = Config {
        region: "us-east-1".into(),
        account_id: "111122223333".into(),
        ..Config::default()
    };
    let gw = GatewayBuilder::new(config, store, Arc::new(Directory { caller: user() }))
        .service(def)
        .build();
    let addr = gw
        .listen(
            "public",
            "127.0.0.1:0".parse().expect("addr"),
            Location::Public,
        )
        .await
        .expect("listen");
    (gw, addr)
}

#[tokio::test]
async fn allowed_request_is_decoded_handled_and_rendered() {
    let (_gw, addr) = start().await;
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok-1&Count=7",
        "AKIAUSER",
        "secret",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(
            "<TouchResponse xmlns=\"https://toy.amazonaws.com/doc/2020-01-01/\"><TouchResult>"
        ),
        "{body}"
    );
    assert!(body.contains("<Touched>ok-1</Touched>"), "{body}");
    assert!(
        body.contains("<Names><member>ok-1</member><member>n7</member></Names>"),
        "{body}"
    );
    assert!(body.contains("<At>1970-01-01T00:00:00Z</At>"), "{body}");
    assert!(body.contains("<ResponseMetadata><RequestId>"), "{body}");
}

#[tokio::test]
async fn implicit_and_explicit_denials_carry_the_enriched_message() {
    let (_gw, addr) = start().await;
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=other",
        "AKIAUSER",
        "secret",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(
        body.contains("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: toy:Touch on resource: arn:aws:toy:us-east-1:111122223333:thing/other because no identity-based policy allows the toy:Touch action"),
        "{body}"
    );
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok-2&Tags.member.1.Key=stage&Tags.member.1.Value=prod",
        "AKIAUSER",
        "secret",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("with an explicit deny in an identity-based policy"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_signatures_and_bad_input_are_refused_with_aws_codes() {
    let (_gw, addr) = start().await;
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok",
        "AKIAUSER",
        "wrong",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{body}"
    );
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok",
        "AKIANOBODY",
        "secret",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>InvalidClientTokenId</Code>"), "{body}");
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01",
        "AKIAUSER",
        "secret",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(
            "Value null at &apos;name&apos; failed to satisfy constraint: Member must not be null"
        ),
        "{body}"
    );
    let (status, body) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok&Count=many",
        "AKIAUSER",
        "secret",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ValidationError"), "{body}");
    let (status, body) = post(addr, "Action=Nope&Version=2020-01-01", "AKIAUSER", "secret").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidAction"), "{body}");
}

#[tokio::test]
async fn every_request_leaves_an_audit_record() {
    let (gw, addr) = start().await;
    post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok-1",
        "AKIAUSER",
        "secret",
    )
    .await;
    post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=no",
        "AKIAUSER",
        "secret",
    )
    .await;
    post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok",
        "AKIAUSER",
        "wrong",
    )
    .await;
    // Records are appended asynchronously for reads and failures; wait for the writer.
    let mut events = Vec::new();
    for _ in 0..100 {
        events = gw.store().audit().read_from(1, 100).expect("read");
        if events.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(events.len(), 3);
    let bodies: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::from_slice(&e.event.body).expect("json"))
        .collect();
    assert_eq!(bodies[0]["eventName"], "Touch");
    assert!(bodies[0].get("errorCode").is_none());
    assert_eq!(
        bodies[0]["userIdentity"]["arn"],
        "arn:aws:iam::111122223333:user/alice"
    );
    assert_eq!(bodies[1]["errorCode"], "AccessDenied");
    assert_eq!(bodies[2]["errorCode"], "SignatureDoesNotMatch");
    assert!(gw.store().audit().verify().expect("verify").is_ok());
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_goes_on() {
    let (_gw, addr) = start().await;
    let (status, body) = post(addr, "Action=Boom&Version=2020-01-01", "AKIAUSER", "secret").await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("InternalFailure"), "{body}");
    let (status, _) = post(
        addr,
        "Action=Touch&Version=2020-01-01&Name=ok-1",
        "AKIAUSER",
        "secret",
    )
    .await;
    assert_eq!(status, 200);
}
