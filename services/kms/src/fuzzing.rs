//! Entry points shared by the fuzz targets `kms_ciphertext` and `kms_request` (under `fuzz/`)
//! and the test that replays their saved corpora. Input never panics; only a broken invariant
//! does.
//!
//! Requests run against an in-memory KMS holding one customer managed key (alias
//! `alias/fixture`), a ciphertext sealed under it and a grant on it; the environment is rebuilt
//! every [`REBUILD`] inputs so state made by earlier inputs stays small.

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gateway::fuzzing::Harness;
use serde_json::{Value, json};

use crate::crypto::{self, EncryptionContext, Material};
use crate::{Kms, api};

/// Inputs served by one environment before it is rebuilt.
const REBUILD: usize = 256;

/// Placeholders a fuzzed request may use for the fixture's random identifiers.
pub const PLACEHOLDERS: [&str; 5] = ["KEY-ID", "KEY-ARN", "CIPHERTEXT", "GRANT-TOKEN", "GRANT-ID"];

/// The operations `kms_request` picks from with its first byte.
pub const OPERATIONS: &[&str] = &[
    "Decrypt",
    "ReEncrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom",
    "DescribeKey",
    "ListKeys",
    "ListAliases",
    "ListGrants",
    "ListRetirableGrants",
    "RetireGrant",
    "RevokeGrant",
    "CreateGrant",
    "GetKeyPolicy",
    "PutKeyPolicy",
    "ListKeyPolicies",
    "ListResourceTags",
    "TagResource",
    "UntagResource",
    "ListKeyRotations",
    "GetKeyRotationStatus",
    "EnableKeyRotation",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "CreateKey",
    "UpdateKeyDescription",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "DisableKey",
    "EnableKey",
];

struct Env {
    harness: Harness,
    /// The placeholders' values, in [`PLACEHOLDERS`] order.
    values: [String; 5],
}

fn ok(harness: &Harness, op: &str, input: Value) -> Value {
    match harness.run("kms", op, input) {
        Some(Ok(v)) => v,
        other => panic!("fixture {op}: {other:?}"),
    }
}

impl Env {
    fn new() -> Env {
        let store = storage::Store::ephemeral();
        let config = gateway::Config::default();
        let kms = match Kms::open(&store, &config) {
            Ok(k) => k,
            Err(e) => panic!("kms: {e}"),
        };
        let harness = Harness::new(config, store, vec![kms.service_def()]);
        let key = ok(&harness, "CreateKey", json!({"Description": "fixture"}));
        let id = key["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let arn = key["KeyMetadata"]["Arn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        ok(
            &harness,
            "CreateAlias",
            json!({"AliasName": "alias/fixture", "TargetKeyId": id}),
        );
        let sealed = ok(
            &harness,
            "Encrypt",
            json!({"KeyId": id, "Plaintext": STANDARD.encode(b"fixture"),
                   "EncryptionContext": {"purpose": "fuzzing"}}),
        );
        let blob = sealed["CiphertextBlob"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let grant = ok(
            &harness,
            "CreateGrant",
            json!({"KeyId": id, "GranteePrincipal": "arn:aws:iam::000000000000:root",
                   "RetiringPrincipal": "arn:aws:iam::000000000000:root",
                   "Operations": ["Decrypt", "Encrypt", "RetireGrant"]}),
        );
        let token = grant["GrantToken"].as_str().unwrap_or_default().to_string();
        let grant_id = grant["GrantId"].as_str().unwrap_or_default().to_string();
        Env {
            harness,
            values: [id, arn, blob, token, grant_id],
        }
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (p, v) in PLACEHOLDERS.iter().zip(&self.values) {
            out = out.replace(p, v);
        }
        out
    }
}

thread_local! {
    static ENV: RefCell<Option<(Env, usize)>> = const { RefCell::new(None) };
}

fn with_env(f: impl FnOnce(&Env)) {
    gateway::fuzzing::with_env(&ENV, REBUILD, Env::new, f);
}

/// Fixed key material for the sealing round trip (never a real key's).
const MATERIAL: [u8; crypto::MATERIAL_LEN] = [0x42; crypto::MATERIAL_LEN];

/// Any bytes as a ciphertext blob, raw and as the base64 text a request carries, and as the other
/// opaque strings KMS reads back from clients (grant tokens, pagination markers, key ids):
/// - a blob whose header parses names a key id that prints and parses back to the same bytes;
/// - opening it never panics; sealing the bytes then opening them with the same context returns
///   them, while changing one byte of the sealed blob fails;
/// - `Decrypt` of it, `RetireGrant` with it as the token, `DescribeKey` with it as the key id,
///   and `ListKeys`/`ListAliases`/`ListGrants` with it as the marker answer with AWS errors.
pub fn ciphertext(data: &[u8]) {
    if let Some(h) = crypto::parse_header(data) {
        assert_eq!(
            crypto::uuid_bytes(&h.key_id()),
            Some(h.key),
            "key id of the header"
        );
    }
    let Ok(material) = Material::from_bytes(&MATERIAL) else {
        panic!("fixed material");
    };
    let mut context = EncryptionContext::new();
    let text = String::from_utf8_lossy(data).into_owned();
    if let Some((k, v)) = text.split_once('=') {
        context.insert(k.to_string(), v.to_string());
    }
    let _ = material.open(data, &context);
    if let Ok(sealed) = material.seal([7; 16], 1, &context, data) {
        match material.open(&sealed, &context) {
            Ok(plain) => assert_eq!(&plain[..], data, "round trip"),
            Err(e) => panic!("sealed blob does not open: {e:?}"),
        }
        let mut bent = sealed.clone();
        let at = data.len() % bent.len();
        bent[at] ^= 0x01;
        assert!(
            material.open(&bent, &context).is_err(),
            "altered byte {at} opens"
        );
        let _ = crypto::canonical_context(&context);
    }
    if let Some(b) = crypto::uuid_bytes(&text) {
        assert_eq!(crypto::uuid_text(&b), text.to_ascii_lowercase());
    }
    if let Some(blob) = api::decode_blob(&text) {
        let _ = crypto::parse_header(&blob);
    }
    let items: Vec<(String, u32)> = ["a", "b", "c/d", "\u{10FFFF}"]
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), i as u32))
        .collect();
    for limit in [None, Some(-1), Some(1), Some(i64::MAX)] {
        if let Ok((page, next)) = crate::paginate(items.clone(), Some(&text), limit, 50) {
            assert!(page.len() <= items.len());
            if let Some(n) = next {
                assert!(URL_SAFE_NO_PAD.decode(&n).is_ok(), "marker {n}");
            }
        }
    }
    with_env(|env| {
        let raw = STANDARD.encode(data);
        for blob in [raw.as_str(), text.as_str()] {
            let _ = env.harness.run(
                "kms",
                "Decrypt",
                json!({"CiphertextBlob": blob, "EncryptionContext": {"purpose": "fuzzing"}}),
            );
        }
        let _ = env
            .harness
            .run("kms", "RetireGrant", json!({"GrantToken": text}));
        let _ = env
            .harness
            .run("kms", "DescribeKey", json!({"KeyId": text}));
        let _ = env.harness.run("kms", "ListKeys", json!({"Marker": text}));
        let _ = env
            .harness
            .run("kms", "ListAliases", json!({"Marker": text}));
        let _ = env.harness.run(
            "kms",
            "ListGrants",
            json!({"KeyId": env.values[0], "Marker": text}),
        );
    });
}

/// Byte 0 picks an operation from [`OPERATIONS`]; the rest is its JSON input, in which
/// [`PLACEHOLDERS`] stand for the fixture's key id, key ARN, ciphertext, grant token and grant
/// id. The input is validated against the model as the gateway does, then the operation's
/// declaration and handler run: AWS errors, never a panic.
pub fn request(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let op = OPERATIONS[which as usize % OPERATIONS.len()];
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    with_env(|env| {
        let Ok(input) = serde_json::from_str::<Value>(&env.substitute(text)) else {
            return;
        };
        let _ = env.harness.run("kms", op, input);
    });
}

/// Byte 0 is a page size (`Limit`), the rest a `Marker` given to KMS's list operations over the
/// fixture (keys, aliases, grants, tags, rotations): AWS errors, never a panic. An empty marker
/// starts from the first page and follows the `NextMarker`s returned, which must be accepted.
pub fn next_token(data: &[u8]) {
    let (limit, token) = gateway::fuzzing::page_input(data);
    with_env(|env| {
        let key = env.values[0].as_str();
        for (op, input) in [
            ("ListKeys", json!({})),
            ("ListAliases", json!({})),
            ("ListAliases", json!({"KeyId": key})),
            ("ListGrants", json!({"KeyId": key})),
            (
                "ListRetirableGrants",
                json!({"RetiringPrincipal": "arn:aws:iam::000000000000:root"}),
            ),
            ("ListResourceTags", json!({"KeyId": key})),
            ("ListKeyRotations", json!({"KeyId": key})),
            ("ListKeyPolicies", json!({"KeyId": key})),
        ] {
            let mut input = input;
            input["Limit"] = json!(limit);
            env.harness
                .page("kms", op, input, ("Marker", "NextMarker"), &token, 20);
        }
    });
}
