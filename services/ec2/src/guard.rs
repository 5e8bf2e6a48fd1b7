//! Connection admission for endpoint listeners: the endpoint's security groups and the network
//! ACL of its subnet decide each TCP connection, as they would for traffic reaching the
//! endpoint's network interface, and every connection (admitted or refused) is offered to the
//! flow logs.
//!
//! What is modelled, honestly:
//! - the client is a process on this machine, so its source address is the loopback address
//!   (`127.0.0.1`); an ingress rule must admit it by CIDR (`127.0.0.1/32`, `127.0.0.0/8`,
//!   `0.0.0.0/0`). A VPC CIDR rule does not admit it, because the client is not in the VPC;
//! - a rule that references a security group (self-references included) admits members of
//!   that group: network interfaces placed in it. A client on the host is no such member, so
//!   these rules do not admit it (they do not refuse it either: another rule may admit it);
//! - prefix lists are not expanded, so prefix-list rules admit nothing;
//! - port ranges are matched against 443, the port an AWS endpoint serves, and also against
//!   the listener's own loopback port;
//! - the network ACL checked is that of the endpoint's first subnet (inbound on the service
//!   port, outbound to the client's port: ACLs are stateless);
//! - gateway endpoints have no security groups or network interfaces in AWS: their
//!   listeners admit every connection and produce no flow records.

use std::net::{IpAddr, SocketAddr};
use std::sync::Weak;

use gateway::{ConnectionGuard, Flow};

use crate::cidr::{normalize, text_contains};
use crate::model::{Endpoint, Peer};
use crate::network_acl::admits;
use crate::{Account, Ec2};

/// The port an AWS endpoint serves.
pub(crate) const SERVICE_PORT: u16 = 443;

/// The guard of one endpoint's listener.
pub(crate) struct Guard {
    ec2: Weak<Ec2>,
    account: String,
    endpoint: String,
}

impl Guard {
    pub(crate) fn new(ec2: Weak<Ec2>, account: &str, endpoint: &str) -> Guard {
        Guard {
            ec2,
            account: account.to_string(),
            endpoint: endpoint.to_string(),
        }
    }
}

impl ConnectionGuard for Guard {
    fn admit(&self, peer: SocketAddr) -> bool {
        let Some(ec2) = self.ec2.upgrade() else {
            return false;
        };
        let Ok(st) = ec2.state.read() else {
            return false;
        };
        let a = st.acct(&self.account);
        a.endpoints
            .get(&self.endpoint)
            .is_some_and(|e| decide(a, e, peer))
    }

    fn record(&self, flow: Flow) {
        if let Some(ec2) = self.ec2.upgrade() {
            ec2.record_flow(&self.account, &self.endpoint, &flow);
        }
    }
}

fn peer_matches(peer: &Peer, ip: IpAddr) -> bool {
    match peer {
        Peer::Cidr4(c) | Peer::Cidr6(c) => text_contains(c, ip),
        // Members of a group are network interfaces in it; a host client is none.
        Peer::Group { .. } => false,
        // Prefix lists are not expanded.
        Peer::PrefixList(_) => false,
    }
}

/// Whether a connection from `peer` reaches endpoint `e`.
pub(crate) fn decide(a: &Account, e: &Endpoint, peer: SocketAddr) -> bool {
    if e.kind != "Interface" {
        return true;
    }
    let ip = normalize(peer.ip());
    let ports = [SERVICE_PORT, e.port];
    let admitted = e
        .group_ids
        .iter()
        .filter_map(|g| a.groups.get(g))
        .flat_map(|g| g.rules.iter())
        .any(|r| !r.egress && ports.iter().any(|p| r.covers_tcp(*p)) && peer_matches(&r.peer, ip));
    if !admitted {
        return false;
    }
    let Some(eni) = e.enis.first() else {
        return true;
    };
    match a
        .acls
        .values()
        .find(|n| n.associations.iter().any(|x| x.subnet_id == eni.subnet_id))
    {
        Some(acl) => {
            ports.iter().any(|p| admits(acl, false, ip, *p)) && admits(acl, true, ip, peer.port())
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AclAssociation, Eni, NetworkAcl, SecurityGroup, SgRule};

    fn rule(peer: Peer, protocol: &str, from: i64, to: i64) -> SgRule {
        SgRule {
            id: "sgr-1".into(),
            egress: false,
            protocol: protocol.into(),
            from,
            to,
            peer,
            description: None,
            tags: Vec::new(),
        }
    }

    fn setup(rules: Vec<SgRule>) -> (Account, Endpoint) {
        let mut a = Account::default();
        a.groups.insert(
            "sg-1".into(),
            SecurityGroup {
                account: "1".into(),
                id: "sg-1".into(),
                name: "endpoints".into(),
                description: "d".into(),
                vpc_id: "vpc-1".into(),
                rules,
                tags: Vec::new(),
            },
        );
        a.acls.insert(
            "acl-1".into(),
            NetworkAcl {
                account: "1".into(),
                id: "acl-1".into(),
                vpc_id: "vpc-1".into(),
                default: true,
                entries: NetworkAcl::initial_entries(true),
                associations: vec![AclAssociation {
                    id: "aclassoc-1".into(),
                    subnet_id: "subnet-1".into(),
                }],
                tags: Vec::new(),
            },
        );
        let e = Endpoint {
            account: "1".into(),
            id: "vpce-1".into(),
            vpc_id: "vpc-1".into(),
            service_name: "com.amazonaws.us-east-1.sts".into(),
            kind: "Interface".into(),
            policy: None,
            subnet_ids: vec!["subnet-1".into()],
            group_ids: vec!["sg-1".into()],
            route_table_ids: Vec::new(),
            private_dns: false,
            enis: vec![Eni {
                id: "eni-1".into(),
                subnet_id: "subnet-1".into(),
                ip: "10.0.0.4".into(),
            }],
            port: 40123,
            created: 0.0,
            tags: Vec::new(),
        };
        (a, e)
    }

    fn client() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 51000))
    }

    #[test]
    fn cidr_rules_admit_the_loopback_client() {
        let (a, e) = setup(vec![rule(
            Peer::Cidr4("127.0.0.1/32".into()),
            "tcp",
            443,
            443,
        )]);
        assert!(decide(&a, &e, client()));
        let (a, e) = setup(vec![rule(Peer::Cidr4("0.0.0.0/0".into()), "-1", -1, -1)]);
        assert!(decide(&a, &e, client()));
        // The listener's own port also counts.
        let (a, e) = setup(vec![rule(
            Peer::Cidr4("127.0.0.0/8".into()),
            "tcp",
            40123,
            40123,
        )]);
        assert!(decide(&a, &e, client()));
    }

    #[test]
    fn vpc_cidr_group_references_and_wrong_ports_refuse() {
        let (a, e) = setup(vec![rule(
            Peer::Cidr4("10.0.0.0/16".into()),
            "tcp",
            443,
            443,
        )]);
        assert!(!decide(&a, &e, client()));
        let (a, e) = setup(vec![rule(
            Peer::Group {
                group_id: "sg-1".into(),
                user_id: "1".into(),
            },
            "-1",
            -1,
            -1,
        )]);
        assert!(!decide(&a, &e, client()));
        let (a, e) = setup(vec![rule(
            Peer::Cidr4("127.0.0.1/32".into()),
            "tcp",
            22,
            22,
        )]);
        assert!(!decide(&a, &e, client()));
        let (a, e) = setup(vec![rule(
            Peer::Cidr4("127.0.0.1/32".into()),
            "udp",
            443,
            443,
        )]);
        assert!(!decide(&a, &e, client()));
        let (a, e) = setup(Vec::new());
        assert!(!decide(&a, &e, client()));
    }

    #[test]
    fn network_acl_applies_after_security_groups() {
        let (mut a, e) = setup(vec![rule(Peer::Cidr4("0.0.0.0/0".into()), "-1", -1, -1)]);
        if let Some(acl) = a.acls.get_mut("acl-1") {
            acl.entries = NetworkAcl::initial_entries(false);
        }
        assert!(!decide(&a, &e, client()));
    }

    #[test]
    fn gateway_endpoints_admit_everything() {
        let (a, mut e) = setup(Vec::new());
        e.kind = "Gateway".into();
        assert!(decide(&a, &e, client()));
    }
}
