//! Flow logs delivered to Amazon S3, as AWS's log delivery does it: records gather per flow log
//! and are written every [`FLUSH_INTERVAL`] (or once [`MAX_RECORDS`] are waiting) as one
//! gzip object, the format's header line then the records, under
//! `[PREFIX/]AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_YYYYMMDDTHHmmZ_HASH.log.gz`.
//!
//! The write is the delivery service's own request: S3's `PutObject` made as the service
//! principal `delivery.logs.amazonaws.com` through the gateway's one authorization path, with
//! `aws:SourceAccount`, `aws:SourceArn` and `s3:x-amz-acl = bucket-owner-full-control`. The
//! bucket policy must allow it; when it does not, or the bucket is gone, the records of that
//! write are dropped (as AWS drops what it cannot deliver) and the flow log reports
//! `DeliverLogsStatus: FAILED` with `DeliverLogsErrorMessage: Access error` until a delivery
//! succeeds.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use gateway::{Caller, Gateway};

use crate::Ec2;
use crate::flowlog::parse_format;

/// How often waiting records are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Records that make a flow log's buffer written before the interval ends.
pub const MAX_RECORDS: usize = 1000;

/// The service principal that writes the objects.
pub const DELIVERY_PRINCIPAL: &str = "delivery.logs.amazonaws.com";

/// Where S3 deliveries go: the gateway they are authorized through, and S3.
pub(crate) struct S3Sink {
    pub gateway: Gateway,
    pub s3: Arc<s3::S3>,
}

/// The records waiting for one flow log.
pub(crate) struct Waiting {
    pub account: String,
    /// `arn:aws:s3:::bucket[/prefix]`.
    pub destination: String,
    pub format: String,
    pub lines: Vec<String>,
}

/// Records waiting per flow log, and what wakes the writer early.
#[derive(Default)]
pub(crate) struct Buffers {
    pub waiting: Mutex<BTreeMap<String, Waiting>>,
    pub wake: tokio::sync::Notify,
}

/// The bucket and key prefix of an S3 destination ARN (`arn:aws:s3:::bucket/optional/prefix/`).
pub(crate) fn split_destination(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:s3:::")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let prefix = prefix.trim_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    Some((bucket.to_string(), prefix))
}

/// The object key of one delivery made at `at` (UTC).
pub(crate) fn object_key(
    prefix: &str,
    account: &str,
    region: &str,
    flow_log: &str,
    at: SystemTime,
    hash: &str,
) -> String {
    // iso8601 is `YYYY-MM-DDTHH:MM:SSZ`.
    let t = gateway::time::iso8601(gateway::time::epoch_seconds(at), false);
    let (y, m, d) = (&t[0..4], &t[5..7], &t[8..10]);
    let (hh, mm) = (&t[11..13], &t[14..16]);
    format!(
        "{prefix}AWSLogs/{account}/vpcflowlogs/{region}/{y}/{m}/{d}/{account}_vpcflowlogs_{region}_{flow_log}_{y}{m}{d}T{hh}{mm}Z_{hash}.log.gz"
    )
}

/// The gzip body of a delivery: the format's field names, then the records.
pub(crate) fn gzip_body(format: &str, lines: &[String]) -> std::io::Result<Vec<u8>> {
    let header = parse_format(format).unwrap_or_default().join(" ");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(header.as_bytes())?;
    gz.write_all(b"\n")?;
    for l in lines {
        gz.write_all(l.as_bytes())?;
        gz.write_all(b"\n")?;
    }
    gz.finish()
}

fn random_hash() -> String {
    let mut b = [0u8; 4];
    let _ = aws_lc_rs::rand::fill(&mut b);
    hex::encode(b)
}

/// `DeliverLogsErrorMessage` for a failed write, in AWS's words.
fn failure_message(code: &str) -> &'static str {
    match code {
        "AccessDenied" | "NoSuchBucket" | "KMS.DisabledException" | "KMS.NotFoundException" => {
            "Access error"
        }
        _ => "Unknown error",
    }
}

impl Ec2 {
    /// Starts delivering flow logs whose destination is an S3 bucket, through `gateway` to `s3`.
    /// Until this runs (or without a runtime), their records are dropped.
    pub fn deliver_to_s3(self: &Arc<Self>, gateway: Gateway, s3: Arc<s3::S3>) {
        if self.s3_sink.set(S3Sink { gateway, s3 }).is_err() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = self.weak();
        let buffers = self.s3_buffers.clone();
        handle.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(FLUSH_INTERVAL) => {}
                    _ = buffers.wake.notified() => {}
                }
                let Some(ec2) = weak.upgrade() else { break };
                ec2.flush_s3().await;
            }
        });
    }

    /// Queues one rendered record for an S3 flow log.
    pub(crate) fn queue_s3(
        &self,
        flow_log: &str,
        account: &str,
        destination: &str,
        format: &str,
        line: String,
    ) {
        if self.s3_sink.get().is_none() {
            return;
        }
        let full = {
            let mut w = self
                .s3_buffers
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let entry = w.entry(flow_log.to_string()).or_insert_with(|| Waiting {
                account: account.to_string(),
                destination: destination.to_string(),
                format: format.to_string(),
                lines: Vec::new(),
            });
            entry.lines.push(line);
            entry.lines.len() >= MAX_RECORDS
        };
        if full {
            self.s3_buffers.wake.notify_one();
        }
    }

    /// Writes every waiting record now.
    pub async fn flush_s3(&self) {
        let Some(sink) = self.s3_sink.get() else {
            return;
        };
        let waiting = std::mem::take(
            &mut *self
                .s3_buffers
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for (id, w) in waiting {
            let outcome = self.deliver_s3(sink, &id, &w).await;
            if let Err((code, message)) = &outcome {
                tracing::warn!(flow_log = %id, destination = %w.destination, code = %code, error = %message, "flow log delivery to S3 failed");
            }
            if let Ok(mut st) = self.state.write()
                && let Some(f) = st.acct_mut(&w.account).flow_logs.get_mut(&id)
            {
                f.deliver_error = outcome
                    .err()
                    .map(|(code, _)| failure_message(&code).to_string());
            }
        }
    }

    async fn deliver_s3(
        &self,
        sink: &S3Sink,
        id: &str,
        w: &Waiting,
    ) -> Result<(), (String, String)> {
        let (bucket, prefix) = split_destination(&w.destination)
            .ok_or_else(|| ("InvalidDestination".to_string(), w.destination.clone()))?;
        let region = self.region().to_string();
        let key = object_key(
            &prefix,
            &w.account,
            &region,
            id,
            SystemTime::now(),
            &random_hash(),
        );
        let body = gzip_body(&w.format, &w.lines)
            .map_err(|e| ("InternalError".to_string(), e.to_string()))?;
        let call = sink.gateway.internal_call(
            Arc::new(Caller::service(DELIVERY_PRINCIPAL, &w.account)),
            "s3",
        );
        let op = s3::DeliverObject {
            bucket,
            key,
            content_type: Some("application/x-gzip".into()),
            source_account: w.account.clone(),
            source_arn: format!("arn:aws:logs:{region}:{}:*", w.account),
            body: bytes::Bytes::from(body),
        };
        call.invoke_as_service(DELIVERY_PRINCIPAL, &sink.s3, op, "s3")
            .await
            .map(|_| ())
            .map_err(|e| (e.code.to_string(), e.message.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::UNIX_EPOCH;

    #[test]
    fn destinations() {
        assert_eq!(
            split_destination("arn:aws:s3:::flow-logs"),
            Some(("flow-logs".into(), String::new()))
        );
        assert_eq!(
            split_destination("arn:aws:s3:::flow-logs/vpc/a/"),
            Some(("flow-logs".into(), "vpc/a/".into()))
        );
        assert_eq!(split_destination("arn:aws:s3:::"), None);
        assert_eq!(
            split_destination("arn:aws:logs:us-east-1:1:log-group:x"),
            None
        );
    }

    #[test]
    fn keys_follow_aws() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000); // 2023-11-14T22:13:20Z
        assert_eq!(
            object_key("", "111122223333", "us-east-1", "fl-0abc", at, "1a2b3c4d"),
            "AWSLogs/111122223333/vpcflowlogs/us-east-1/2023/11/14/111122223333_vpcflowlogs_us-east-1_fl-0abc_20231114T2213Z_1a2b3c4d.log.gz"
        );
        assert!(
            object_key("p/", "1", "r", "fl-1", at, "h").starts_with("p/AWSLogs/1/vpcflowlogs/r/")
        );
    }

    #[test]
    fn bodies_are_gzip_with_a_header() {
        let gz = gzip_body(
            crate::flowlog::DEFAULT_FORMAT,
            &["2 1 eni-1 a b 1 2 6 1 1 1 1 ACCEPT OK".into()],
        )
        .unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text,
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 1 eni-1 a b 1 2 6 1 1 1 1 ACCEPT OK\n"
        );
    }
}
