//! The entry point shared by the fuzz target `ec2_filters` (under `fuzz/`) and the test that
//! replays its saved corpus. Input never panics; only a broken invariant does.

use crate::cidr::{Cidr4, Cidr6};
use crate::filter::wildcard;

/// Line 1 is a filter value (with `*`, `?`, `\`), line 2 a text, line 3 a CIDR block: wildcard
/// matching never panics and a pattern without special characters matches only itself; a CIDR
/// that parses prints back to a form that parses to the same block and contains its network.
pub fn filters(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let pattern = lines.next().unwrap_or("");
    let subject = lines.next().unwrap_or("");
    let cidr = lines.next().unwrap_or("");
    let hit = wildcard(pattern, subject);
    if !pattern.contains(['*', '?', '\\']) {
        assert_eq!(
            hit,
            pattern == subject,
            "plain pattern {pattern:?} vs {subject:?}"
        );
    }
    assert!(wildcard("*", subject));
    for lenient in [false, true] {
        if let Some(c) = Cidr4::parse(cidr, lenient) {
            let again = Cidr4::parse(&c.to_string(), false);
            assert_eq!(again, Some(c), "{cidr:?} does not round-trip");
            assert!(c.contains_ip(c.addr) && c.contains_ip(c.last()) && c.contains(&c));
        }
    }
    if let Some(c) = Cidr6::parse(cidr) {
        assert!(c.contains_ip(c.addr));
    }
}

/// EC2 over `store` with the CloudWatch Logs it delivers flow logs to, and the service
/// definitions of both: for other crates' fuzzing environments that need EC2 (VPCs, subnets,
/// endpoints) without depending on Logs themselves.
pub fn open(
    store: &storage::Store,
    config: &gateway::Config,
) -> Result<(std::sync::Arc<crate::Ec2>, Vec<gateway::ServiceDef>), storage::Error> {
    let logs = logs::Logs::open(store, config)?;
    let ec2 = crate::Ec2::open(store, config, logs.clone())?;
    let defs = vec![ec2.service_def(), logs.service_def()];
    Ok((ec2, defs))
}
