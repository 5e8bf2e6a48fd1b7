//! Object bodies out: a response body that decrypts a version's chunks segment by segment
//! as the client reads, so memory stays at one segment whatever the object size.

use std::collections::VecDeque;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use gateway::body::{Body, BoxError};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use storage::{BlobRange, BlobReader};

/// A plaintext range of one chunk.
pub struct Piece {
    pub reader: BlobReader,
    pub range: Range<u64>,
}

/// Maps `range` of an object made of chunks of `lens` to (chunk index, range within it).
pub fn pieces(lens: &[u64], range: Range<u64>) -> Vec<(usize, Range<u64>)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for (i, &len) in lens.iter().enumerate() {
        let end = start + len;
        if range.end <= start {
            break;
        }
        if range.start < end && range.end > start {
            let from = range.start.max(start) - start;
            let to = range.end.min(end) - start;
            if to > from {
                out.push((i, from..to));
            }
        }
        start = end;
    }
    out
}

/// The streaming body.
pub struct ObjectBody {
    pending: VecDeque<Piece>,
    current: Option<BlobRange>,
    remaining: u64,
}

impl ObjectBody {
    /// A body over pieces, in order.
    pub fn new(pieces: Vec<Piece>) -> ObjectBody {
        let remaining = pieces.iter().map(|p| p.range.end - p.range.start).sum();
        ObjectBody {
            pending: pieces.into(),
            current: None,
            remaining,
        }
    }

    /// Boxed as a response body.
    pub fn boxed(self) -> Body {
        BodyExt::boxed(self)
    }
}

impl http_body::Body for ObjectBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if let Some(r) = &mut self.current {
                match r.next_chunk() {
                    Ok(Some(chunk)) => {
                        self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))));
                    }
                    Ok(None) => self.current = None,
                    Err(e) => {
                        tracing::error!(error = %e, "object body read failed");
                        return Poll::Ready(Some(Err(Box::new(e))));
                    }
                }
            }
            let Some(piece) = self.pending.pop_front() else {
                return Poll::Ready(None);
            };
            match piece.reader.read_range(piece.range) {
                Ok(r) => self.current = Some(r),
                Err(e) => return Poll::Ready(Some(Err(Box::new(e)))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 && self.current.is_none() && self.pending.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn ranges_map_onto_chunks() {
        let lens = [10, 5, 10];
        assert_eq!(
            pieces(&lens, 0..25),
            vec![(0, 0..10), (1, 0..5), (2, 0..10)]
        );
        assert_eq!(pieces(&lens, 8..12), vec![(0, 8..10), (1, 0..2)]);
        assert_eq!(pieces(&lens, 10..15), vec![(1, 0..5)]);
        assert_eq!(pieces(&lens, 24..25), vec![(2, 9..10)]);
        assert_eq!(pieces(&lens, 3..3), vec![]);
    }
}
