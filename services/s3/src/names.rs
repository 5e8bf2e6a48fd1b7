//! Bucket names, ARNs, canonical ids and version ids.

use gateway::AwsError;

/// Checks a bucket name against S3's general purpose bucket naming rules.
pub fn check_bucket_name(name: &str) -> Result<(), AwsError> {
    let invalid = || {
        AwsError::bad_request("InvalidBucketName", "The specified bucket is not valid.")
            .with("BucketName", name)
    };
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return Err(invalid());
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
    {
        return Err(invalid());
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err(invalid());
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err(invalid());
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(invalid());
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Err(invalid());
        }
    }
    Ok(())
}

/// `arn:aws:s3:::bucket`.
pub fn bucket_arn(bucket: &str) -> String {
    ["arn:aws:s3:::", bucket].concat()
}

/// `arn:aws:s3:::bucket/key`.
pub fn object_arn(bucket: &str, key: &str) -> String {
    ["arn:aws:s3:::", bucket, "/", key].concat()
}

/// The canonical user id S3 shows for an account (64 hex digits, stable per account).
pub fn canonical_id(account: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("perimeter/s3/canonical-user/{account}").as_bytes(),
    );
    hex::encode(d.as_ref())
}

/// A fresh version id: 32 URL-safe characters, as S3's look.
pub fn new_version_id() -> String {
    random_token(24)
}

/// A fresh multipart upload id.
pub fn new_upload_id() -> String {
    random_token(48)
}

fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut b = vec![0u8; bytes];
    let _ = aws_lc_rs::rand::fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&b)
        .replace('-', ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket.data", "a1b2c3", &"a".repeat(63)] {
            assert!(check_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            "under_score",
        ] {
            let e = check_bucket_name(bad).unwrap_err();
            assert_eq!(e.code, "InvalidBucketName", "{bad}");
        }
    }

    #[test]
    fn ids_are_unique_and_url_safe() {
        let a = new_version_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_version_id());
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
        );
    }
}
