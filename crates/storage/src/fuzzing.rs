//! Entry points for the fuzz targets in `fuzz/`: storage's parsers of bytes it reads back from disk,
//! where an intruder may have written anything.

/// Any bytes as a stored audit event body: unpacking never panics nor expands past its bound, and
/// what packing produces unpacks to the original.
pub fn audit_body(data: &[u8]) {
    if let Some(body) = crate::packed::unpack(data) {
        assert!(body.len() <= 16 << 20);
    }
    let stored = crate::packed::pack(data);
    assert_eq!(crate::packed::unpack(&stored).as_deref(), Some(data));
}
