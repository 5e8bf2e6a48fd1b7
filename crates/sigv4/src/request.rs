//! The view of an HTTP request that signing and verification need.

/// An HTTP request as received (or as about to be sent): nothing is decoded or normalized.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The path as sent, without the query: `/bucket/a%20key`.
    pub path: &'a str,
    /// The query string as sent, without `?`; empty when there is none.
    pub query: &'a str,
    /// The headers in the order received, names in any letter case; a repeated header appears once
    /// per value.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The whole body, when it has been read. Verification needs it only when the request does not
    /// declare its payload hash (`x-amz-content-sha256`); see [`crate::Authorization::needs_body`].
    pub body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A request for `target`, the request target as sent (`/path?query`), without a body.
    pub fn new(
        method: &'a str,
        target: &'a str,
        headers: &'a [(&'a str, &'a [u8])],
    ) -> Request<'a> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method,
            path,
            query,
            headers,
            body: None,
        }
    }

    /// The same request with its body.
    pub fn with_body(self, body: &'a [u8]) -> Request<'a> {
        Request {
            body: Some(body),
            ..self
        }
    }

    /// The first value of the header `name` (any letter case).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The first value of the header `name` as text, when it is UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of the header `name`, in order.
    pub(crate) fn header_values<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}
