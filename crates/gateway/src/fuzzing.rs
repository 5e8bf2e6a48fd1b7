//! Entry points for fuzzing the codecs that read untrusted input; the fuzz
//! targets under `fuzz/` and the corpus replay test call these.

use crate::codec::query::{self, Dialect, Params};
use crate::codec::validate;
use crate::model::Model;

/// A form body (Query or EC2 dialect) decoded and validated against every operation of `model`.
pub fn form_input(model: &Model, body: &[u8]) {
    let pairs = query::parse_form(body);
    // A REST query string is parsed borrowing its plain components: the same pairs.
    if let Ok(text) = std::str::from_utf8(body) {
        let borrowed = query::parse_form_borrowed(text);
        assert!(
            borrowed.len() == pairs.len()
                && borrowed
                    .iter()
                    .zip(&pairs)
                    .all(|((k, v), (pk, pv))| k == pk && v == pv),
            "the borrowing form parser disagrees on {text:?}"
        );
    }
    let params = Params::new(&pairs);
    let dialect = if model.metadata.protocol == "ec2" {
        Dialect::Ec2
    } else {
        Dialect::Query
    };
    for op in model.operations.values() {
        if let Some(input) = &op.input
            && let Ok(v) = query::decode(model, &input.shape, &params, dialect)
        {
            let _ = validate::validate(model, &input.shape, &v);
        }
    }
}

/// A JSON body validated against every operation of `model`.
pub fn json_input(model: &Model, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    for op in model.operations.values() {
        if let Some(input) = &op.input {
            let _ = validate::validate(model, &input.shape, &v);
        }
    }
}

/// Any text as an ISO 8601 or epoch timestamp.
pub fn timestamp(text: &[u8]) {
    if let Ok(s) = std::str::from_utf8(text)
        && let Some(t) = crate::time::parse_timestamp(s)
    {
        let _ = crate::time::iso8601(t, true);
        let _ = crate::time::http_date(t);
    }
}

/// A REST-XML payload parsed and decoded against every operation of `model` whose input has a
/// structure payload (the document root must be named as that payload's element).
pub fn xml_input(model: &Model, body: &[u8]) {
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let Ok(root) = crate::codec::xml_in::parse(text) else {
        return;
    };
    for op in model.operations.values() {
        let Some(shape) = op.input.as_ref().and_then(|i| model.shape(&i.shape)) else {
            continue;
        };
        let Some(payload) = shape.payload.as_deref() else {
            continue;
        };
        let Some((_, r)) = shape.members.iter().find(|(n, _)| n == payload) else {
            continue;
        };
        if model.shape(&r.shape).is_none_or(|s| s.kind != "structure") {
            continue;
        }
        if let Ok(v) = crate::codec::xml_in::decode(model, r, &root) {
            let _ = validate::validate(model, &r.shape, &v);
        }
    }
}

/// The credential directory of a [`Harness`]: no access key is known (operations run as an
/// internal call of the account's root user, never through a signature).
struct NoCredentials;

impl crate::Identities for NoCredentials {
    fn lookup(
        &self,
        access_key_id: &str,
        _session_token: Option<&str>,
        _now: std::time::SystemTime,
    ) -> Result<crate::Credential, crate::AwsError> {
        Err(crate::AwsError::bad_request(
            "InvalidClientTokenId",
            format!("the access key `{access_key_id}` is not known"),
        ))
    }
}

/// A gateway without listeners for fuzzing services' handlers: an operation runs the way the
/// gateway runs it once the request is decoded (model validation, deserialization, the
/// operation's declaration, its handler), minus the policy decision, as the root user of the
/// configured account.
pub struct Harness {
    gateway: crate::Gateway,
    runtime: tokio::runtime::Runtime,
    root: std::sync::Arc<crate::Caller>,
}

impl Harness {
    /// A harness over `store` serving `services`.
    pub fn new(
        config: crate::Config,
        store: storage::Store,
        services: Vec<crate::ServiceDef>,
    ) -> Harness {
        let account = config.account_id.clone();
        let mut b = crate::GatewayBuilder::new(config, store, std::sync::Arc::new(NoCredentials));
        for def in services {
            b = b.service(def);
        }
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => panic!("fuzzing runtime: {e}"),
        };
        let root = crate::Caller {
            kind: crate::IdentityType::Root,
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.clone(),
            principal_id: account.clone(),
            user_name: None,
            access_key_id: None,
            principal: policy::Principal::root(&account),
            tags: Vec::new(),
            identity_policies: Vec::new(),
            boundary: None,
            session: None,
        };
        Harness {
            gateway: b.build(),
            runtime,
            root: std::sync::Arc::new(root),
        }
    }

    /// The gateway (to install raw routes, or to make calls).
    pub fn gateway(&self) -> &crate::Gateway {
        &self.gateway
    }

    /// A call of `service` by the account's root user.
    pub fn call(&self, service: &'static str) -> crate::Call {
        self.gateway.internal_call(self.root.clone(), service)
    }

    /// Runs a future to completion.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Runs `op` of `service` on `input`. `None` when the service does not serve `op` or when
    /// the gateway would have refused the input before any handler (not an object, or, for
    /// the JSON and Query protocols, invalid for the model); otherwise what the operation
    /// returned, its output rendered as the protocol would.
    pub fn run(
        &self,
        service: &str,
        op: &str,
        input: serde_json::Value,
    ) -> Option<Result<serde_json::Value, crate::AwsError>> {
        let def = self.gateway.inner.services.get(service)?.clone();
        let (name, handler) = def.handlers.get_key_value(op)?;
        let (name, handler) = (*name, handler.clone());
        if !input.is_object() {
            return None;
        }
        if def.protocol != crate::protocol::Protocol::RestXml
            && let Some(shape) = def
                .model
                .operations
                .get(name)
                .and_then(|o| o.input.as_ref())
            && validate::validate(&def.model, &shape.shape, &input).is_err()
        {
            return None;
        }
        let mut call = self.call(def.signing_name);
        call.operation = name;
        call.input = std::sync::Arc::new(input.clone());
        let shared = call.input.clone();
        let result = self.block_on(async {
            let prepared = handler.prepare(&shared, &call)?;
            (prepared.run)(call.clone()).await
        });
        if let (Ok(output), Some(router)) = (&result, &def.rest) {
            let _ = router.render(name, output, &call.request_id);
        }
        Some(result)
    }

    /// Serves `request` on a raw route (Studio pages, credential endpoints) as if it came
    /// from `peer` on the public endpoint; `None` when no route serves its path.
    pub fn raw(
        &self,
        request: http::Request<bytes::Bytes>,
        peer: std::net::SocketAddr,
    ) -> Option<http::Response<crate::body::Body>> {
        let path = request.uri().path().to_string();
        let handler = {
            let routes = self.gateway.inner.raw.read().ok()?;
            routes
                .iter()
                .find(|(prefix, _, _)| path.starts_with(prefix.as_str()))
                .map(|(_, _, h)| h.clone())?
        };
        let req = crate::raw::RawRequest {
            request,
            location: crate::Location::Public,
            peer,
        };
        Some(self.block_on(handler.handle(req)))
    }
}

/// A per-thread fuzzing environment, built on first use and rebuilt after `every` inputs so the
/// state earlier inputs made stays small: `f` runs with it.
pub fn with_env<T: 'static>(
    slot: &'static std::thread::LocalKey<std::cell::RefCell<Option<(T, usize)>>>,
    every: usize,
    make: impl FnOnce() -> T,
    f: impl FnOnce(&T),
) {
    slot.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(_, served)| *served >= every) {
            *slot = None;
            *slot = Some((make(), 0));
        }
        if let Some((env, served)) = slot.as_mut() {
            *served += 1;
            f(env);
        }
    });
}

impl Harness {
    /// The whole body of a response.
    pub fn body(&self, response: http::Response<crate::body::Body>) -> bytes::Bytes {
        use http_body_util::BodyExt;
        self.block_on(response.into_body().collect())
            .map(|c| c.to_bytes())
            .unwrap_or_default()
    }
}

/// Replays every file of the saved corpus `dir` through `f`, in name order: the test that keeps a
/// fuzz target's findings fixed. A panic names the file.
pub fn replay(dir: &std::path::Path, f: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "empty corpus {}", dir.display());
    for path in paths {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let result = std::panic::catch_unwind(|| f(&data));
        assert!(result.is_ok(), "{} fails", path.display());
    }
}

/// A pagination input: byte 0 chooses the page size (1 to 50), the rest is the token as text.
pub fn page_input(data: &[u8]) -> (i64, String) {
    match data.split_first() {
        Some((&b, rest)) => (
            i64::from(b % 50) + 1,
            String::from_utf8_lossy(rest).into_owned(),
        ),
        None => (1, String::new()),
    }
}

impl Harness {
    /// Runs the list operation `op` with `token` as its pagination member `token_in` (absent when
    /// `token` is empty: the first page). From the first page, follows the tokens the operation
    /// returns in `token_out` for up to `pages` pages: each must be accepted by the next call.
    pub fn page(
        &self,
        service: &str,
        op: &str,
        input: serde_json::Value,
        (token_in, token_out): (&str, &str),
        token: &str,
        pages: usize,
    ) {
        let with = |mut input: serde_json::Value, token: &str| {
            if let Some(m) = input.as_object_mut() {
                m.insert(token_in.into(), token.into());
            }
            input
        };
        if !token.is_empty() {
            let _ = self.run(service, op, with(input, token));
            return;
        }
        let mut next = self.run(service, op, input.clone());
        for _ in 0..pages {
            let Some(Ok(out)) = &next else { return };
            let Some(t) = out.get(token_out).and_then(serde_json::Value::as_str) else {
                return;
            };
            let t = t.to_string();
            next = self.run(service, op, with(input.clone(), &t));
            assert!(
                matches!(next, Some(Ok(_))),
                "{op} refuses its own {token_out} `{t}`: {next:?}"
            );
        }
    }
}

impl Harness {
    /// The operations `service` serves, sorted by name.
    pub fn operations(&self, service: &str) -> Vec<&'static str> {
        let mut ops: Vec<&'static str> = self
            .gateway
            .inner
            .services
            .get(service)
            .map(|d| d.handlers.keys().copied().collect())
            .unwrap_or_default();
        ops.sort_unstable();
        ops
    }

    /// A fuzzed request of `service`: byte 0 picks an operation (see [`Harness::operations`]),
    /// the rest is its JSON input after `fill` replaced the placeholders of fixture identifiers.
    /// It runs as [`Harness::run`] does; input that is not JSON is ignored.
    pub fn request(&self, service: &str, data: &[u8], fill: impl Fn(&str) -> String) {
        let Some((&which, body)) = data.split_first() else {
            return;
        };
        let ops = self.operations(service);
        let Some(op) = ops.get(which as usize % ops.len().max(1)) else {
            return;
        };
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        let Ok(input) = serde_json::from_str::<serde_json::Value>(&fill(text)) else {
            return;
        };
        let _ = self.run(service, op, input);
    }
}
