//! Untrusted or corrupted inputs produce errors, never panics.

use storage::audit::LookupQuery;
use storage::{BlobId, Keyring, Store};

/// A small deterministic generator (xorshift) so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() % (max as u64 + 1)) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn pagination_tokens_from_clients_never_panic() {
    let store = Store::ephemeral();
    let log = store.audit();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut samples: Vec<String> = vec![
        String::new(),
        "=".into(),
        "djEuLTEuLTE".into(), // v1.-1.-1
        "djEuOTIyMzM3MjAzNjg1NDc3NTgwNy45OTk5OTk5OTk5OTk5OTk5OTk5".into(), // overflow
    ];
    for _ in 0..2000 {
        let raw = g.bytes(40);
        samples.push(String::from_utf8_lossy(&raw).into_owned());
        samples.push(base64_url(&raw));
    }
    for token in samples {
        let _ = log.lookup(&LookupQuery {
            next_token: Some(token),
            ..Default::default()
        });
    }
}

#[test]
fn unwrap_and_blob_ids_reject_garbage() {
    let k = Keyring::ephemeral().unwrap();
    let mut g = Gen(42);
    for _ in 0..5000 {
        let junk = g.bytes(80);
        assert!(k.unwrap(&junk, b"ctx").is_err());
        let text = String::from_utf8_lossy(&junk).into_owned();
        let _ = text.parse::<BlobId>();
        let _ = serde_json::from_str::<BlobId>(&format!("{text:?}"));
    }
}

fn base64_url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}
