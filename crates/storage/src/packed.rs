//! How an audit event's JSON body is kept on disk: LZ4-compressed against a built-in dictionary of
//! CloudTrail JSON behind a marker when that is smaller, as written otherwise. The audit trail is most
//! of what the store writes; one event's JSON has little repetition of its own, but shares most of
//! its keys and many values with every other event, so the dictionary takes a typical event from
//! ~870 to ~270 bytes (plain LZ4: ~620).
//!
//! A packed body is `MARKER || lz4-block(size-prepended, DICTIONARY)`. JSON never starts with a NUL
//! byte, so rows written before packing existed (or stored as written) read back unchanged.

use std::borrow::Cow;

const MARKER: &[u8] = b"\0lz1";

/// Dictionary 1. Stored bodies depend on its exact bytes: it never changes; a better one would come
/// with a new marker, and this one would stay for reading.
const DICTIONARY: &[u8] = include_bytes!("audit-dictionary-v1.txt");

static COMPRESSOR: crate::lz4::Dictionary = crate::lz4::Dictionary::new(DICTIONARY);

/// The largest body [`unpack`] expands: far above any event the gateway records, and a bound on what
/// a tampered length can make it allocate.
const MAX_BODY: usize = 16 << 20;

/// The stored form of `body`.
pub(crate) fn pack(body: &[u8]) -> Vec<u8> {
    let packed = COMPRESSOR.compress_after(MARKER, body);
    // A body that itself starts with the marker is always packed, so it cannot be misread.
    if packed.len() >= body.len() && !body.starts_with(MARKER) {
        return body.to_vec();
    }
    packed
}

/// The body `stored` holds; `None` when it is packed and does not decompress (a damaged or altered
/// row).
pub(crate) fn unpack(stored: &[u8]) -> Option<Cow<'_, [u8]>> {
    let Some(packed) = stored.strip_prefix(MARKER) else {
        return Some(Cow::Borrowed(stored));
    };
    let size = u32::from_le_bytes(packed.get(..4)?.try_into().ok()?) as usize;
    if size > MAX_BODY {
        return None;
    }
    lz4_flex::block::decompress_size_prepended_with_dict(packed, DICTIONARY)
        .ok()
        .map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_packs_smaller_and_round_trips() {
        let body = br#"{"eventVersion":"1.09","userIdentity":{"type":"Root","arn":"arn:aws:iam::000000000000:root","accountId":"000000000000"},"eventSource":"iam.amazonaws.com","eventName":"GetRole","recipientAccountId":"000000000000","resources":[{"ARN":"arn:aws:iam::000000000000:role/R","accountId":"000000000000"}]}"#;
        let stored = pack(body);
        assert!(stored.starts_with(MARKER));
        assert!(stored.len() < body.len() / 2, "{} bytes", stored.len());
        assert_eq!(unpack(&stored).unwrap().as_ref(), body.as_slice());
    }

    #[test]
    fn small_or_random_bodies_are_stored_as_written() {
        for body in [&b""[..], &[0x9e, 0x01, 0xff, 0x42, 0x17][..]] {
            let stored = pack(body);
            assert_eq!(stored, body);
            assert_eq!(unpack(&stored).unwrap().as_ref(), body);
        }
        // Except one that looks packed.
        let stored = pack(b"\0lz1\x07");
        assert!(stored.len() > 5);
        assert_eq!(unpack(&stored).unwrap().as_ref(), b"\0lz1\x07");
    }

    #[test]
    fn damaged_packed_bodies_are_refused_not_expanded() {
        let stored =
            pack(&b"{\"a\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}".repeat(8));
        assert!(unpack(&stored[..stored.len() - 3]).is_none());
        let mut huge = MARKER.to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0x10, b'a']);
        assert!(unpack(&huge).is_none());
        assert!(unpack(b"\0lz1\x01").is_none());
    }
}
