//! An LZ4 block compressor against a fixed dictionary, for audit event bodies.
//!
//! The general-purpose compressor allocates and zeroes a hash table and re-hashes the whole
//! dictionary on every call, which costs more than compressing a ~1 KB event. Here the dictionary's
//! table is built once and each call starts from a copy of it. The output is a standard LZ4 block
//! (decoded by `lz4_flex` with the same dictionary), so stored bodies do not depend on which
//! compressor wrote them.

use std::sync::OnceLock;

const HASH_BITS: u32 = 12;
const MIN_MATCH: usize = 4;
/// The last match starts at least this many bytes before the end of the block (format rule).
const MF_LIMIT: usize = 12;
/// The last this many bytes of a block are always literals (format rule).
const LAST_LITERALS: usize = 5;

/// Positions are `u16`: a dictionary and input longer than this go to the general compressor.
const MAX_WINDOW: usize = u16::MAX as usize;

type Table = [u16; 1 << HASH_BITS];

thread_local! {
    /// The dictionary (identified by its address) followed by the input being compressed.
    static WINDOW: std::cell::RefCell<(usize, Vec<u8>)> = const { std::cell::RefCell::new((0, Vec::new())) };
}

fn hash(sequence: u32) -> usize {
    (sequence.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn read_u64(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// How far `buf[a..]` and `buf[b..]` agree, stopping at `limit` (`a > b`, so `a` reaches it first).
fn common_length(buf: &[u8], mut a: usize, mut b: usize, limit: usize) -> usize {
    let start = a;
    // Eight bytes at a time, then the tail.
    while a + 8 <= limit {
        let diff = read_u64(buf, a) ^ read_u64(buf, b);
        if diff != 0 {
            return a - start + (diff.trailing_zeros() / 8) as usize;
        }
        a += 8;
        b += 8;
    }
    while a < limit && buf[a] == buf[b] {
        a += 1;
        b += 1;
    }
    a - start
}

/// A dictionary with its hash table, built once.
pub(crate) struct Dictionary {
    bytes: &'static [u8],
    table: OnceLock<Box<Table>>,
}

impl Dictionary {
    pub(crate) const fn new(bytes: &'static [u8]) -> Dictionary {
        Dictionary {
            bytes,
            table: OnceLock::new(),
        }
    }

    fn table(&self) -> &Table {
        self.table.get_or_init(|| {
            let mut table = Box::new([0u16; 1 << HASH_BITS]);
            // Later positions overwrite earlier ones: matches prefer the nearest occurrence.
            for at in 0..self.bytes.len().saturating_sub(MIN_MATCH - 1) {
                table[hash(read_u32(self.bytes, at))] = at as u16;
            }
            table
        })
    }

    /// `input` as an LZ4 block preceded by its length (u32, little endian), compressed against the
    /// dictionary.
    #[cfg(test)]
    pub(crate) fn compress_prepend_size(&self, input: &[u8]) -> Vec<u8> {
        self.compress_after(&[], input)
    }

    /// `prefix`, then what [`Dictionary::compress_prepend_size`] makes of `input`, in one buffer.
    pub(crate) fn compress_after(&self, prefix: &[u8], input: &[u8]) -> Vec<u8> {
        let dict = self.bytes;
        if dict.len() + input.len() >= MAX_WINDOW {
            let block = lz4_flex::block::compress_prepend_size_with_dict(input, dict);
            return [prefix, &block].concat();
        }
        let mut out = Vec::with_capacity(prefix.len() + 4 + input.len() + input.len() / 255 + 16);
        out.extend_from_slice(prefix);
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
        // One buffer, dictionary then input: a match may start in the dictionary and run into the
        // input, as the decoder allows. Each thread keeps its buffer with the dictionary in place.
        WINDOW.with_borrow_mut(|(owner, buf)| {
            if *owner != dict.as_ptr() as usize {
                buf.clear();
                buf.extend_from_slice(dict);
                *owner = dict.as_ptr() as usize;
            }
            buf.truncate(dict.len());
            buf.extend_from_slice(input);
            let mut table = *self.table();
            // Under MAX_WINDOW bytes: the buffer stays small.
            compress(buf, dict.len(), &mut table, &mut out);
        });
        out
    }
}

/// Compresses `buf[start..]`, with `buf[..start]` as the dictionary already in `table`.
fn compress(buf: &[u8], start: usize, table: &mut Table, out: &mut Vec<u8>) {
    let end = buf.len();
    let mut anchor = start;
    if end - start > MF_LIMIT {
        let match_limit = end - MF_LIMIT;
        let extend_limit = end - LAST_LITERALS;
        let mut at = start;
        let mut misses = 0usize;
        while at <= match_limit {
            let sequence = read_u32(buf, at);
            let h = hash(sequence);
            let candidate = usize::from(table[h]);
            table[h] = at as u16;
            if candidate >= at || read_u32(buf, candidate) != sequence {
                // Skip faster through data that does not compress.
                misses += 1;
                at += 1 + (misses >> 5);
                continue;
            }
            misses = 0;
            let (mut from, mut source) = (at, candidate);
            while from > anchor && source > 0 && buf[from - 1] == buf[source - 1] {
                from -= 1;
                source -= 1;
            }
            let stop = at
                + MIN_MATCH
                + common_length(buf, at + MIN_MATCH, candidate + MIN_MATCH, extend_limit);
            sequence_out(
                out,
                &buf[anchor..from],
                from - source,
                stop - from - MIN_MATCH,
            );
            anchor = stop;
            at = stop;
            // Index a position inside the match, so a repeat of its tail is found.
            if stop - 2 > start && stop - 2 + MIN_MATCH <= end {
                table[hash(read_u32(buf, stop - 2))] = (stop - 2) as u16;
            }
        }
    }
    literals_out(out, &buf[anchor..]);
}

fn length_out(out: &mut Vec<u8>, mut rest: usize) {
    while rest >= 255 {
        out.push(255);
        rest -= 255;
    }
    out.push(rest as u8);
}

/// One sequence: literals, then a match of `MIN_MATCH + extra` bytes `offset` back.
fn sequence_out(out: &mut Vec<u8>, literals: &[u8], offset: usize, extra: usize) {
    let token = ((literals.len().min(15) as u8) << 4) | extra.min(15) as u8;
    out.push(token);
    if literals.len() >= 15 {
        length_out(out, literals.len() - 15);
    }
    out.extend_from_slice(literals);
    out.extend_from_slice(&(offset as u16).to_le_bytes());
    if extra >= 15 {
        length_out(out, extra - 15);
    }
}

/// The last sequence: literals only.
fn literals_out(out: &mut Vec<u8>, literals: &[u8]) {
    out.push((literals.len().min(15) as u8) << 4);
    if literals.len() >= 15 {
        length_out(out, literals.len() - 15);
    }
    out.extend_from_slice(literals);
}

#[cfg(test)]
mod tests {
    use super::*;

    static DICT: Dictionary = Dictionary::new(include_bytes!("audit-dictionary-v1.txt"));

    fn round_trip(input: &[u8]) -> usize {
        let packed = DICT.compress_prepend_size(input);
        let back = lz4_flex::block::decompress_size_prepended_with_dict(&packed, DICT.bytes)
            .unwrap_or_else(|e| panic!("{} bytes: {e}", input.len()));
        assert_eq!(back, input, "{} bytes", input.len());
        packed.len()
    }

    #[test]
    fn every_short_length_round_trips() {
        let text = br#"{"eventVersion":"1.09","userIdentity":{"type":"Root"},"eventName":"GetRole","eventName":"GetRole"}"#;
        for n in 0..text.len() {
            round_trip(&text[..n]);
            round_trip(&vec![b'a'; n]);
        }
    }

    #[test]
    fn events_compress_about_as_well_as_the_general_compressor() {
        let event = br#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice","arn":"arn:aws:sts::000000000000:assumed-role/DataScience/alice","accountId":"000000000000","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::000000000000:role/DataScience","accountId":"000000000000","userName":"DataScience"},"attributes":{"creationDate":"2026-12-07T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-12-07T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"127.0.0.1","userAgent":"aws-cli/1.45.11","requestParameters":{"bucketName":"data","key":"a/b.csv"},"responseElements":null,"requestID":"0123456789ABCDEF","eventID":"e5c4f0b2-3d1e-4a8e-9d5b-2f1c0e7a6b9d","readOnly":true,"resources":[{"ARN":"arn:aws:s3:::data/a/b.csv","accountId":"000000000000"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"000000000000","decisions":[{"action":"s3:GetObject","resource":"arn:aws:s3:::data/a/b.csv","decision":"allow","blockedBy":[]}],"eventCategory":"Data"}"#;
        let ours = round_trip(event);
        let general = lz4_flex::block::compress_prepend_size_with_dict(event, DICT.bytes).len();
        assert!(ours <= general + general / 10, "{ours} vs {general}");
        assert!(ours < event.len() / 2, "{ours} of {}", event.len());
    }

    #[test]
    fn random_repetitive_and_large_inputs_round_trip() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [13, 100, 1000, 4096, 20_000, 63_000, 64_000, 100_000] {
            let random: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            round_trip(&random);
            // Few symbols: long and overlapping matches.
            let runs: Vec<u8> = (0..n).map(|_| b"ab"[(next() % 2) as usize]).collect();
            round_trip(&runs);
            round_trip(&b"0123456789".repeat(n / 10 + 1));
        }
    }

    #[test]
    fn dictionaries_sharing_a_thread_each_compress_against_their_own() {
        static OTHER: Dictionary =
            Dictionary::new(b"a different dictionary with other words in it");
        let text = b"a different dictionary, or the audit one: eventVersion userIdentity";
        for _ in 0..3 {
            for dict in [&DICT, &OTHER] {
                let packed = dict.compress_after(b"\0p", text);
                assert_eq!(&packed[..2], b"\0p");
                let back =
                    lz4_flex::block::decompress_size_prepended_with_dict(&packed[2..], dict.bytes)
                        .expect("decodes");
                assert_eq!(back, text);
            }
        }
    }
}
