//! Helpers shared by the integration tests: sign a request, change it, verify it.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sigv4::{Error, PayloadSigning, Request, SigningKeyCache, SigningParams, Timestamp, Verified};

pub const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// 2024-01-01T00:00:00Z plus `secs`.
pub fn at(secs: i64) -> SystemTime {
    let t = Timestamp::parse_basic("20240101T000000Z").unwrap().unix() + secs;
    UNIX_EPOCH + Duration::from_secs(t as u64)
}

pub fn params(service: &'static str, time: SystemTime) -> SigningParams<'static> {
    SigningParams {
        access_key_id: AKID,
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service,
        time,
    }
}

/// An owned request that tests change before verifying.
#[derive(Clone, Debug)]
pub struct Owned {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Owned {
    pub fn new(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Owned {
        Owned {
            method: method.into(),
            target: target.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: body.to_vec(),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let req = Request::new(&self.method, &self.target, &headers).with_body(&self.body);
        f(&req)
    }

    /// Signs with the `Authorization` header, adding the signer's headers.
    pub fn sign(mut self, params: &SigningParams<'_>) -> Owned {
        let payload_body = self.body.clone();
        let payload =
            if params.service == "s3" && self.headers.iter().any(|(n, _)| n == "x-unsigned") {
                PayloadSigning::Unsigned
            } else {
                PayloadSigning::Body(&payload_body)
            };
        let signature = self.with(|req| sigv4::sign(req, params, payload));
        for (name, value) in signature.headers {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self.headers.push((name.to_string(), value.into_bytes()));
        }
        self
    }

    /// Presigns for `expires` seconds.
    pub fn presign(mut self, params: &SigningParams<'_>, expires: u64) -> Owned {
        let presigned = self.with(|req| sigv4::presign(req, params, expires));
        let path = self.target.split('?').next().unwrap().to_owned();
        self.target = format!("{path}?{}", presigned.query);
        self
    }

    pub fn set_header(mut self, name: &str, value: &str) -> Owned {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.as_bytes().to_vec()));
        self
    }

    pub fn remove_header(mut self, name: &str) -> Owned {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn header(&self, name: &str) -> String {
        let v = &self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap()
            .1;
        String::from_utf8(v.clone()).unwrap()
    }

    pub fn map_header(self, name: &str, f: impl FnOnce(String) -> String) -> Owned {
        let value = f(self.header(name));
        self.set_header(name, &value)
    }

    pub fn map_target(mut self, f: impl FnOnce(String) -> String) -> Owned {
        self.target = f(self.target);
        self
    }

    /// Parses, prechecks (region us-east-1) and verifies with `secret` at `now`.
    pub fn verify_with(&self, secret: &str, now: SystemTime) -> Result<Verified, Error> {
        self.with(|req| {
            let auth = sigv4::parse(req, None)?.expect("a signed request");
            auth.precheck(now, Some("us-east-1"), None)?;
            auth.verify(req, secret, now, &SigningKeyCache::new(8))
        })
    }

    pub fn verify(&self, now: SystemTime) -> Result<Verified, Error> {
        self.verify_with(SECRET, now)
    }

    /// The error of verifying at `now`.
    pub fn error(&self, now: SystemTime) -> Error {
        match self.verify(now) {
            Ok(_) => panic!("{} {} was accepted", self.method, self.target),
            Err(e) => e,
        }
    }
}

/// (code, status, message) of an error.
pub fn triple(e: &Error) -> (&'static str, u16, String) {
    (e.code(), e.status(), e.message())
}
