use std::time::Duration;

use rusqlite::{Connection, params};
use storage::audit::{AuditEvent, AuditResource, LookupAttribute, LookupQuery, Tamper};
use storage::{Batch, Store, StoreOptions};

fn event(i: u64) -> AuditEvent {
    AuditEvent {
        event_time: 1_700_000_000_000 + (i as i64) * 1000,
        event_id: format!("id-{i}"),
        event_name: if i.is_multiple_of(2) {
            "GetRole"
        } else {
            "CreateRole"
        }
        .into(),
        event_source: if i.is_multiple_of(3) {
            "sts.amazonaws.com"
        } else {
            "iam.amazonaws.com"
        }
        .into(),
        username: Some(format!("user{}", i % 4)),
        access_key_id: Some(format!("AKIA{}", i % 5)),
        read_only: i.is_multiple_of(2),
        resources: vec![AuditResource {
            resource_type: Some("AWS::IAM::Role".into()),
            resource_name: format!("role{}", i % 7),
        }],
        body: format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::000000000000:user/user{u}","accountId":"000000000000"}},"eventSource":"iam.amazonaws.com","eventName":"GetRole","requestParameters":{{"roleName":"role{r}"}},"eventID":"id-{i}","readOnly":true,"recipientAccountId":"000000000000"}}"#,
            u = i % 4,
            r = i % 7
        )
        .into_bytes(),
    }
}

fn options(every: u64) -> StoreOptions {
    StoreOptions {
        audit_digest_every: every,
        ..Default::default()
    }
}

fn fill(store: &Store, n: u64) {
    for i in 1..=n {
        let mut b = Batch::new();
        b.audit(event(i));
        store.commit_blocking(b).unwrap();
    }
}

#[test]
fn events_are_numbered_in_commit_order_and_exported_by_seq() {
    let store = Store::try_ephemeral(options(10)).unwrap();
    fill(&store, 25);
    let log = store.audit();
    assert_eq!(log.last_seq().unwrap(), 25);
    let all: Vec<_> = log.iter_from(1).map(|e| e.unwrap()).collect();
    assert_eq!(all.len(), 25);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(e.event, event(i as u64 + 1));
    }
    assert_eq!(log.iter_from(20).count(), 6);
    assert_eq!(log.get(7).unwrap().unwrap().event, event(7));
    assert_eq!(log.get(99).unwrap(), None);
    let digests = log.digests().unwrap();
    assert_eq!(
        digests
            .iter()
            .map(|d| (d.first_seq, d.last_seq))
            .collect::<Vec<_>>(),
        [(1, 10), (11, 20)]
    );
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.events, 25);
    assert_eq!(report.signed_through, 20);
    assert_eq!(report.unsigned_tail, 5);
    store.seal_audit_digest().wait().unwrap();
    let report = log.verify().unwrap();
    assert_eq!((report.signed_through, report.unsigned_tail), (25, 0));
}

/// The sequence numbers `q` finds, following every page.
fn all_pages(log: &storage::audit::AuditLog, q: &LookupQuery) -> Vec<u64> {
    let mut q = q.clone();
    let mut out = Vec::new();
    loop {
        let page = log.lookup(&q).unwrap();
        out.extend(page.events.iter().map(|e| e.seq));
        match page.next_token {
            Some(t) => q.next_token = Some(t),
            None => return out,
        }
    }
}

/// Event `i` of a long trail whose times go back and forth (slow requests commit after faster, later
/// ones), with one rare and some common values.
fn shuffled_event(i: u64) -> AuditEvent {
    let mut e = event(i);
    // Times jump back by up to ~40 s against the commit order, and repeat.
    e.event_time = 1_700_000_000_000 + (i as i64) * 100 - ((i * 7919) % 400) as i64 * 100;
    e.username = Some(if i % 997 == 5 {
        "rare".into()
    } else {
        format!("user{}", i % 4)
    });
    e
}

#[test]
fn lookup_by_attribute_across_many_blocks_matches_a_full_scan() {
    const N: u64 = 3000;
    let store = Store::ephemeral();
    for chunk in (1..=N).collect::<Vec<_>>().chunks(97) {
        let mut b = Batch::new();
        for &i in chunk {
            b.audit(shuffled_event(i));
        }
        store.commit_blocking(b).unwrap();
    }
    let log = store.audit();
    let expected = |pred: &dyn Fn(&AuditEvent) -> bool, start: Option<i64>, end: Option<i64>| {
        let mut all: Vec<(i64, u64)> = (1..=N)
            .map(|i| (i, shuffled_event(i)))
            .filter(|(_, e)| pred(e))
            .filter(|(_, e)| start.is_none_or(|s| e.event_time >= s))
            .filter(|(_, e)| end.is_none_or(|t| e.event_time <= t))
            .map(|(i, e)| (e.event_time, i))
            .collect();
        all.sort_by(|a, b| b.cmp(a));
        all.into_iter().map(|(_, i)| i).collect::<Vec<u64>>()
    };
    let paged = |q: LookupQuery| all_pages(&log, &q);
    let t = |i: u64| 1_700_000_000_000 + (i as i64) * 100;
    for (attr, pred) in [
        (
            LookupAttribute::Username("rare".into()),
            Box::new(|e: &AuditEvent| e.username.as_deref() == Some("rare"))
                as Box<dyn Fn(&AuditEvent) -> bool>,
        ),
        (
            LookupAttribute::Username("user2".into()),
            Box::new(|e: &AuditEvent| e.username.as_deref() == Some("user2")),
        ),
        (
            LookupAttribute::ResourceName("role3".into()),
            Box::new(|e: &AuditEvent| e.resources[0].resource_name == "role3"),
        ),
        (
            LookupAttribute::EventName("GetRole".into()),
            Box::new(|e: &AuditEvent| e.event_name == "GetRole"),
        ),
        (
            LookupAttribute::EventName("Nothing".into()),
            Box::new(|_: &AuditEvent| false),
        ),
        // Not kept per block: every block is read, by its time range.
        (
            LookupAttribute::ReadOnly(false),
            Box::new(|e: &AuditEvent| !e.read_only),
        ),
    ] {
        for (page, start, end) in [
            (50, None, None),
            (7, None, None),
            (1000, None, None),
            (13, Some(t(900)), Some(t(1700))),
            (5, None, Some(t(40))),
        ] {
            let got = paged(LookupQuery {
                attributes: vec![attr.clone()],
                start_time: start,
                end_time: end,
                max_results: page,
                ..Default::default()
            });
            assert_eq!(
                got,
                expected(&*pred, start, end),
                "{attr:?} page {page} {start:?}..{end:?}"
            );
        }
    }
    for (page, start, end) in [
        (50, None, None),
        (13, Some(t(900)), Some(t(1700))),
        (5, None, Some(t(40))),
        (9, Some(t(2990)), None),
    ] {
        let got = paged(LookupQuery {
            start_time: start,
            end_time: end,
            max_results: page,
            ..Default::default()
        });
        assert_eq!(
            got,
            expected(&|_| true, start, end),
            "page {page} {start:?}..{end:?}"
        );
    }
}

#[test]
fn lookup_filters_orders_newest_first_and_paginates() {
    let store = Store::ephemeral();
    fill(&store, 100);
    let log = store.audit();
    let seqs = |q: &LookupQuery| all_pages(&log, q);
    let all = seqs(&LookupQuery {
        max_results: 7,
        ..Default::default()
    });
    assert_eq!(all, (1..=100).rev().collect::<Vec<_>>());
    let check = |attr: LookupAttribute, pred: &dyn Fn(u64) -> bool| {
        let got = seqs(&LookupQuery {
            attributes: vec![attr.clone()],
            max_results: 3,
            ..Default::default()
        });
        let want: Vec<u64> = (1..=100).rev().filter(|&i| pred(i)).collect();
        assert_eq!(got, want, "{attr:?}");
    };
    check(LookupAttribute::EventName("GetRole".into()), &|i| {
        i % 2 == 0
    });
    check(LookupAttribute::Username("user1".into()), &|i| i % 4 == 1);
    check(LookupAttribute::ResourceName("role3".into()), &|i| {
        i % 7 == 3
    });
    check(
        LookupAttribute::ResourceType("AWS::IAM::Role".into()),
        &|_| true,
    );
    check(
        LookupAttribute::ResourceType("AWS::S3::Bucket".into()),
        &|_| false,
    );
    check(
        LookupAttribute::EventSource("sts.amazonaws.com".into()),
        &|i| i % 3 == 0,
    );
    check(LookupAttribute::ReadOnly(false), &|i| i % 2 == 1);
    check(LookupAttribute::AccessKeyId("AKIA2".into()), &|i| {
        i % 5 == 2
    });
    check(LookupAttribute::EventId("id-42".into()), &|i| i == 42);
    // Time range, inclusive at both ends, combined with an attribute.
    let got = seqs(&LookupQuery {
        start_time: Some(event(10).event_time),
        end_time: Some(event(20).event_time),
        attributes: vec![LookupAttribute::ResourceName("role3".into())],
        max_results: 1,
        ..Default::default()
    });
    assert_eq!(got, [17, 10]);
    let got = seqs(&LookupQuery {
        start_time: Some(event(95).event_time),
        ..Default::default()
    });
    assert_eq!(got, [100, 99, 98, 97, 96, 95]);
    assert!(matches!(
        log.lookup(&LookupQuery {
            next_token: Some("bogus".into()),
            ..Default::default()
        }),
        Err(storage::Error::InvalidToken)
    ));
}

#[test]
fn an_audit_event_commits_atomically_with_the_change_it_records() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Role {
        name: String,
    }
    impl storage::Record for Role {
        const TABLE: &'static str = "iam.role";
        fn key(&self) -> String {
            self.name.clone()
        }
    }
    let store = Store::ephemeral();
    let mut b = Batch::new();
    b.put(&Role { name: "r".into() }).audit(event(1));
    store.commit_blocking(b).unwrap();
    assert!(store.table::<Role>().get("r").unwrap().is_some());
    assert_eq!(store.audit().last_seq().unwrap(), 1);
}

#[test]
fn digests_are_sealed_after_an_idle_interval() {
    let store = Store::try_ephemeral(StoreOptions {
        audit_digest_every: 1000,
        audit_digest_interval: Duration::from_millis(50),
        ..Default::default()
    })
    .unwrap();
    fill(&store, 3);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.audit().digests().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no digest sealed");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(store.audit().verify().unwrap().signed_through, 3);
}

/// Builds a trail of 50 events in a data dir (digests every 10), closes it, lets `tamper` edit the
/// SQLite file directly, reopens and verifies.
fn tampered(tamper: impl FnOnce(&Connection)) -> Option<Tamper> {
    let dir = tempfile::tempdir().unwrap();
    let key = storage::Keyring::from_root_key(&[9; 32]).unwrap();
    let opts = StoreOptions {
        audit_digest_every: 10,
        keyring: Some(key),
        ..Default::default()
    };
    {
        let store = Store::open_with(dir.path(), opts.clone()).unwrap();
        fill(&store, 50);
        assert!(store.audit().verify().unwrap().is_ok());
    }
    {
        let conn = Connection::open(dir.path().join("perimeter.db")).unwrap();
        tamper(&conn);
    }
    let store = Store::open_read_only_with(dir.path(), opts).unwrap();
    store.audit().verify().unwrap().problem
}

#[test]
fn verify_passes_on_an_untouched_trail() {
    assert_eq!(tampered(|_| {}), None);
}

#[test]
fn verify_reports_an_altered_event() {
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_events SET body = ?1 WHERE seq = 23",
            params![b"{\"eventID\":\"forged\"}".to_vec()],
        )
        .unwrap();
    });
    assert_eq!(p, Some(Tamper::Altered { seq: 23 }));
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_events SET username = 'root' WHERE seq = 7",
            [],
        )
        .unwrap();
    });
    assert_eq!(p, Some(Tamper::Altered { seq: 7 }));
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_events SET resources = 'nonsense' WHERE seq = 31",
            [],
        )
        .unwrap();
    });
    assert_eq!(p, Some(Tamper::Altered { seq: 31 }));
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_events SET event_name = x'ff00' WHERE seq = 2",
            [],
        )
        .unwrap();
    });
    assert_eq!(p, Some(Tamper::Altered { seq: 2 }));
    // One flipped byte inside a packed body: it no longer unpacks, or unpacks to other JSON.
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_events SET body = substr(body, 1, 40) || x'7e' || substr(body, 42) WHERE seq = 17",
            [],
        )
        .unwrap();
    });
    assert_eq!(p, Some(Tamper::Altered { seq: 17 }));
}

#[test]
fn bodies_are_stored_packed_and_read_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), options(1000)).unwrap();
    fill(&store, 20);
    let conn = Connection::open(dir.path().join("perimeter.db")).unwrap();
    let (stored, written): (Vec<u8>, Vec<u8>) = (
        conn.query_row("SELECT body FROM audit_events WHERE seq = 5", [], |r| {
            r.get(0)
        })
        .unwrap(),
        event(5).body,
    );
    assert!(stored.starts_with(b"\0lz1"));
    assert!(
        stored.len() * 2 < written.len(),
        "{} of {}",
        stored.len(),
        written.len()
    );
    for (i, e) in store.audit().iter_from(1).enumerate() {
        assert_eq!(e.unwrap().event, event(i as u64 + 1));
    }
}

#[test]
fn verify_reports_a_removed_event() {
    let p = tampered(|c| {
        c.execute("DELETE FROM audit_events WHERE seq = 12", [])
            .unwrap();
    });
    assert_eq!(p, Some(Tamper::Removed { seq: 12 }));
    let p = tampered(|c| {
        c.execute("DELETE FROM audit_events WHERE seq <= 3", [])
            .unwrap();
    });
    assert_eq!(p, Some(Tamper::Removed { seq: 1 }));
    // The tail, covered by a digest.
    let p = tampered(|c| {
        c.execute("DELETE FROM audit_events WHERE seq > 35", [])
            .unwrap();
    });
    assert_eq!(p, Some(Tamper::Removed { seq: 36 }));
}

#[test]
fn verify_reports_reordered_events() {
    let p = tampered(|c| {
        c.execute_batch(
            "UPDATE audit_events SET seq = -1 WHERE seq = 15;
             UPDATE audit_events SET seq = 15 WHERE seq = 16;
             UPDATE audit_events SET seq = 16 WHERE seq = -1;",
        )
        .unwrap();
    });
    assert_eq!(
        p,
        Some(Tamper::Reordered {
            seq: 15,
            original: 16
        })
    );
}

#[test]
fn verify_reports_a_rewritten_chain_through_the_signed_digest() {
    // Alter event 23 and recompute every later hash: the chain is consistent again but no longer
    // matches the digest signed over events 21..=30. (The forger writes bodies plain, which reads
    // back as written, so the hashes are over what verification sees.)
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_events SET body = ?1 WHERE seq = 23",
            params![b"{}".to_vec()],
        )
        .unwrap();
        let mut prev: Vec<u8> = c
            .query_row("SELECT hash FROM audit_events WHERE seq = 22", [], |r| {
                r.get(0)
            })
            .unwrap();
        let log_rows: Vec<i64> = c
            .prepare("SELECT seq FROM audit_events WHERE seq >= 23 ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for seq in log_rows {
            if seq > 23 {
                c.execute(
                    "UPDATE audit_events SET body = ?1 WHERE seq = ?2",
                    params![event(seq as u64).body, seq],
                )
                .unwrap();
            }
            let e: AuditEvent = c
                .query_row(
                    "SELECT event_time, event_id, event_name, event_source, username, access_key_id, \
                     read_only, resources, body FROM audit_events WHERE seq = ?1",
                    [seq],
                    |r| {
                        Ok(AuditEvent {
                            event_time: r.get(0)?,
                            event_id: r.get(1)?,
                            event_name: r.get(2)?,
                            event_source: r.get(3)?,
                            username: r.get(4)?,
                            access_key_id: r.get(5)?,
                            read_only: r.get::<_, i64>(6)? == 1,
                            resources: serde_json::from_str(&r.get::<_, String>(7)?).unwrap(),
                            body: r.get(8)?,
                        })
                    },
                )
                .unwrap();
            let mut p = [0u8; 32];
            p.copy_from_slice(&prev);
            let h = storage::audit::chain_hash(&p, seq as u64, &e);
            c.execute(
                "UPDATE audit_events SET hash = ?1 WHERE seq = ?2",
                params![h.to_vec(), seq],
            )
            .unwrap();
            prev = h.to_vec();
        }
    });
    assert_eq!(
        p,
        Some(Tamper::DigestMismatch {
            digest: 3,
            first_seq: 21,
            last_seq: 30
        })
    );
}

#[test]
fn verify_reports_forged_or_removed_digests() {
    let p = tampered(|c| {
        c.execute(
            "UPDATE audit_digests SET created_at = created_at + 1 WHERE id = 2",
            [],
        )
        .unwrap();
    });
    assert_eq!(
        p,
        Some(Tamper::DigestSignature {
            digest: 2,
            first_seq: 11,
            last_seq: 20
        })
    );
    let p = tampered(|c| {
        c.execute("DELETE FROM audit_digests WHERE id = 3", [])
            .unwrap();
    });
    assert_eq!(
        p,
        Some(Tamper::DigestRemoved {
            digest: 3,
            first_seq: 21
        })
    );
}

#[test]
fn the_chain_continues_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let store = Store::open_with(dir.path(), options(4)).unwrap();
        fill(&store, 5);
        assert_eq!(store.audit().last_seq().unwrap(), 5 * (round + 1));
        let report = store.audit().verify().unwrap();
        assert!(report.is_ok(), "{report:?}");
    }
    // A clean shutdown seals the tail.
    let store = Store::open_read_only(dir.path()).unwrap();
    let report = store.audit().verify().unwrap();
    assert!(report.is_ok());
    assert_eq!((report.events, report.unsigned_tail), (15, 0));
}
