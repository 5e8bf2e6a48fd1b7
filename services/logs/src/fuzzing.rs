//! The entry point shared by the fuzz target `logs_filter_pattern` (under `fuzz/`) and the test
//! that replays its saved corpus. Input never panics; only a broken invariant does.

use crate::pattern;

/// The first line of `data` is a filter pattern, the other lines are events: parsing never
/// panics, and a pattern that parses matches every event without panicking; the empty pattern
/// matches everything.
pub fn filter_pattern(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let source = lines.next().unwrap_or("");
    let events: Vec<&str> = lines.collect();
    match pattern::parse(source) {
        Ok(p) => {
            for e in &events {
                let hit = p.matches(e);
                if source.trim().is_empty() {
                    assert!(hit, "the empty pattern must match {e:?}");
                }
            }
        }
        Err(message) => assert!(!message.is_empty(), "an error needs a message"),
    }
}
