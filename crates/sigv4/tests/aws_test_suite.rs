//! The AWS SigV4 test suite (aws-sig-v4-test-suite): each request, the canonical request AWS
//! builds for it and the signature, for the credentials `AKIDEXAMPLE` /
//! `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, region `us-east-1`, service `service`, at
//! 20150830T123600Z. The request paths and queries are as the suite writes them: raw.

use std::time::{Duration, UNIX_EPOCH};

use sigv4::{Dialect, PayloadSigning, Request, SigningKeyCache, SigningParams, Timestamp};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";
const HOST: &str = "example.amazonaws.com";
const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

struct Case {
    name: &'static str,
    method: &'static str,
    target: &'static str,
    /// Headers other than `Host` and `X-Amz-Date`, which every case has.
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    /// The canonical URI and query string lines.
    uri: &'static str,
    query: &'static str,
    /// The canonical header lines other than host and x-amz-date, in order, with where they go.
    canonical_headers: &'static str,
    signed_headers: &'static str,
    payload: &'static str,
    signature: &'static str,
}

const VANILLA: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
const POST_VANILLA: &str = "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b";
const FORM: &str = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";

const fn get(
    name: &'static str,
    target: &'static str,
    uri: &'static str,
    query: &'static str,
    signature: &'static str,
) -> Case {
    Case {
        name,
        method: "GET",
        target,
        headers: &[],
        body: "",
        uri,
        query,
        canonical_headers: "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;x-amz-date",
        payload: EMPTY,
        signature,
    }
}

const CASES: &[Case] = &[
    get("get-vanilla", "/", "/", "", VANILLA),
    get("get-vanilla-query", "/", "/", "", VANILLA),
    get(
        "get-vanilla-empty-query-key",
        "/?Param1=value1",
        "/",
        "Param1=value1",
        "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
    ),
    get(
        "get-vanilla-query-order-key",
        "/?Param1=value2&Param1=Value1",
        "/",
        "Param1=Value1&Param1=value2",
        "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
    ),
    get(
        "get-vanilla-query-order-key-case",
        "/?Param2=value2&Param1=value1",
        "/",
        "Param1=value1&Param2=value2",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    get(
        "get-vanilla-query-order-value",
        "/?Param1=value2&Param1=value1",
        "/",
        "Param1=value1&Param1=value2",
        "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
    ),
    get(
        "get-vanilla-query-order-encoded",
        "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        "/",
        "%E1%88%B4=Value1&Param=Value2&Param-3=Value3",
        "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    ),
    get(
        "get-vanilla-query-unreserved",
        "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "/",
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    ),
    get(
        "get-vanilla-utf8-query",
        "/?\u{1234}=bar",
        "/",
        "%E1%88%B4=bar",
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    ),
    get(
        "get-unreserved",
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "",
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    ),
    get(
        "get-utf8",
        "/\u{1234}",
        "/%E1%88%B4",
        "",
        "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
    ),
    // normalize-path
    get("get-relative", "/example/..", "/", "", VANILLA),
    get(
        "get-relative-relative",
        "/example1/example2/../..",
        "/",
        "",
        VANILLA,
    ),
    get("get-slash", "//", "/", "", VANILLA),
    get("get-slash-dot-slash", "/./", "/", "", VANILLA),
    get(
        "get-slash-pointless-dot",
        "/./example",
        "/example",
        "",
        "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
    ),
    get(
        "get-slashes",
        "//example//",
        "/example/",
        "",
        "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
    ),
    get(
        "get-space",
        "/example space/",
        "/example%20space/",
        "",
        "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
    ),
    get(
        "get-special-character",
        "/example/$delete",
        "/example/%24delete",
        "",
        "a853c9b21b528b19643d00910d35b83a10c366a10833ceefb45edd6c80e40f27",
    ),
    Case {
        name: "get-header-key-duplicate",
        headers: &[
            ("My-Header1", "value2"),
            ("My-Header1", "value2"),
            ("My-Header1", "value1"),
        ],
        canonical_headers: "host:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;my-header1;x-amz-date",
        ..get(
            "",
            "/",
            "/",
            "",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        )
    },
    Case {
        name: "get-header-value-multiline",
        headers: &[("My-Header1", "value1\r\n  value2\r\n     value3")],
        canonical_headers: "host:example.amazonaws.com\nmy-header1:value1 value2 value3\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;my-header1;x-amz-date",
        ..get(
            "",
            "/",
            "/",
            "",
            "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
        )
    },
    Case {
        name: "get-header-value-order",
        headers: &[
            ("My-Header1", "value4"),
            ("My-Header1", "value1"),
            ("My-Header1", "value3"),
            ("My-Header1", "value2"),
        ],
        canonical_headers: "host:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;my-header1;x-amz-date",
        ..get(
            "",
            "/",
            "/",
            "",
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        )
    },
    Case {
        name: "get-header-value-trim",
        headers: &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
        canonical_headers: "host:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;my-header1;my-header2;x-amz-date",
        ..get(
            "",
            "/",
            "/",
            "",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        )
    },
    Case {
        name: "get-vanilla-with-session-token",
        headers: &[(
            "X-Amz-Security-Token",
            "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
        )],
        canonical_headers: "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n",
        signed_headers: "host;x-amz-date;x-amz-security-token",
        ..get(
            "",
            "/",
            "/",
            "",
            "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        )
    },
    Case {
        name: "post-vanilla",
        method: "POST",
        ..get("", "/", "/", "", POST_VANILLA)
    },
    Case {
        name: "post-header-key-case",
        method: "POST",
        ..get("", "/", "/", "", POST_VANILLA)
    },
    Case {
        name: "post-sts-header-after",
        method: "POST",
        ..get("", "/", "/", "", POST_VANILLA)
    },
    Case {
        name: "post-vanilla-query",
        method: "POST",
        ..get(
            "",
            "/?Param1=value1",
            "/",
            "Param1=value1",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        )
    },
    Case {
        name: "post-vanilla-empty-query-value",
        method: "POST",
        ..get(
            "",
            "/?Param1=value1",
            "/",
            "Param1=value1",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        )
    },
    Case {
        name: "post-header-key-sort",
        method: "POST",
        headers: &[("My-Header1", "value1")],
        canonical_headers: "host:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;my-header1;x-amz-date",
        ..get(
            "",
            "/",
            "/",
            "",
            "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        )
    },
    Case {
        name: "post-header-value-case",
        method: "POST",
        headers: &[("My-Header1", "VALUE1")],
        canonical_headers: "host:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n",
        signed_headers: "host;my-header1;x-amz-date",
        ..get(
            "",
            "/",
            "/",
            "",
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        )
    },
    Case {
        name: "post-sts-header-before",
        method: "POST",
        headers: &[("X-Amz-Security-Token", TOKEN)],
        canonical_headers: concat!(
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:",
            "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
            "\n"
        ),
        signed_headers: "host;x-amz-date;x-amz-security-token",
        ..get(
            "",
            "/",
            "/",
            "",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        )
    },
    Case {
        name: "post-x-www-form-urlencoded",
        method: "POST",
        headers: &[("Content-Type", "application/x-www-form-urlencoded")],
        body: "Param1=value1",
        canonical_headers: "content-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n",
        signed_headers: "content-type;host;x-amz-date",
        payload: FORM,
        ..get(
            "",
            "/",
            "/",
            "",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        )
    },
    Case {
        name: "post-x-www-form-urlencoded-parameters",
        method: "POST",
        headers: &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf8",
        )],
        body: "Param1=value1",
        canonical_headers: "content-type:application/x-www-form-urlencoded; charset=utf8\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n",
        signed_headers: "content-type;host;x-amz-date",
        payload: FORM,
        ..get(
            "",
            "/",
            "/",
            "",
            "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
        )
    },
];

fn now() -> std::time::SystemTime {
    let t = Timestamp::parse_basic(DATE).unwrap();
    UNIX_EPOCH + Duration::from_secs(t.unix() as u64)
}

fn headers_of(case: &Case) -> Vec<(&'static str, &'static [u8])> {
    let mut headers: Vec<(&str, &[u8])> =
        vec![("Host", HOST.as_bytes()), ("X-Amz-Date", DATE.as_bytes())];
    headers.extend(case.headers.iter().map(|(n, v)| (*n, v.as_bytes())));
    headers
}

fn canonical_of(case: &Case) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        case.method,
        case.uri,
        case.query,
        case.canonical_headers,
        case.signed_headers,
        case.payload
    )
}

#[test]
fn every_vector_verifies() {
    let cache = SigningKeyCache::new(16);
    for case in CASES {
        let mut headers = headers_of(case);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={}, Signature={}",
            case.signed_headers, case.signature
        );
        headers.push(("Authorization", authorization.as_bytes()));
        let req = Request::new(case.method, case.target, &headers).with_body(case.body.as_bytes());
        let auth = sigv4::parse(&req, None)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
            .unwrap();
        assert_eq!(auth.dialect(), Dialect::Query, "{}", case.name);
        assert_eq!(
            auth.canonical_request(&req).unwrap(),
            canonical_of(case),
            "{}",
            case.name
        );
        auth.precheck(now(), Some("us-east-1"), Some("service"))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let verified = auth
            .verify(&req, SECRET, now(), &cache)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.signature(), case.signature);
        // The same request with another secret, or one more header value, fails.
        let err = auth.verify(&req, "wrong", now(), &cache).unwrap_err();
        assert_eq!(err.code(), "SignatureDoesNotMatch", "{}", case.name);
    }
}

#[test]
fn the_signer_reproduces_every_vector() {
    for case in CASES {
        // The suite's session-token cases add the token as a header; the signer does that itself.
        let headers: Vec<(&str, &[u8])> = headers_of(case)
            .into_iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("x-amz-security-token"))
            .collect();
        let token = case
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-security-token"))
            .map(|(_, v)| *v);
        let req = Request::new(case.method, case.target, &headers);
        let params = SigningParams {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            session_token: token,
            region: "us-east-1",
            service: "service",
            time: now(),
        };
        let signature = sigv4::sign(&req, &params, PayloadSigning::Body(case.body.as_bytes()));
        assert_eq!(
            signature.canonical_request,
            canonical_of(case),
            "{}",
            case.name
        );
        assert_eq!(signature.signature, case.signature, "{}", case.name);
        assert_eq!(
            signature.authorization(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={}, Signature={}",
                case.signed_headers, case.signature
            )
        );
    }
}

#[test]
fn the_string_to_sign_of_get_vanilla() {
    let case = &CASES[0];
    let req_headers = headers_of(case);
    let req = Request::new("GET", "/", &req_headers);
    let params = SigningParams {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "service",
        time: now(),
    };
    let signature = sigv4::sign(&req, &params, PayloadSigning::Body(b""));
    assert_eq!(
        signature.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
}

#[test]
fn the_suite_has_every_case() {
    assert_eq!(CASES.len(), 34);
}
