//! IPv4 and IPv6 CIDR blocks: parsing, containment, overlap and sizes, as VPC, subnet,
//! security group and network ACL rules use them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 CIDR block whose host bits are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr4 {
    /// The network address.
    pub addr: u32,
    /// The prefix length, 0..=32.
    pub len: u8,
}

impl Cidr4 {
    /// Parses `a.b.c.d/n`. Host bits must be zero unless `lenient` (AWS accepts them in
    /// security group and network ACL rules, and normalizes).
    pub fn parse(text: &str, lenient: bool) -> Option<Cidr4> {
        let (ip, len) = text.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let len: u8 = len.parse().ok()?;
        if len > 32 {
            return None;
        }
        let addr = u32::from(ip);
        let masked = addr & mask4(len);
        if masked != addr && !lenient {
            return None;
        }
        Some(Cidr4 { addr: masked, len })
    }

    /// The netmask.
    pub fn mask(&self) -> u32 {
        mask4(self.len)
    }

    /// The last address of the block.
    pub fn last(&self) -> u32 {
        self.addr | !self.mask()
    }

    /// Whether `ip` is in the block.
    pub fn contains_ip(&self, ip: u32) -> bool {
        ip & self.mask() == self.addr
    }

    /// Whether `other` lies entirely inside this block.
    pub fn contains(&self, other: &Cidr4) -> bool {
        other.len >= self.len && self.contains_ip(other.addr)
    }

    /// Whether the blocks share an address.
    pub fn overlaps(&self, other: &Cidr4) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    /// The `n`th address of the block.
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.addr.wrapping_add(n))
    }
}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

impl fmt::Display for Cidr4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.len)
    }
}

/// An IPv6 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr6 {
    /// The network address.
    pub addr: u128,
    /// The prefix length, 0..=128.
    pub len: u8,
}

impl Cidr6 {
    /// Parses `addr/n` (host bits are cleared).
    pub fn parse(text: &str) -> Option<Cidr6> {
        let (ip, len) = text.split_once('/')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        let len: u8 = len.parse().ok()?;
        if len > 128 {
            return None;
        }
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(len))
        };
        Some(Cidr6 {
            addr: u128::from(ip) & mask,
            len,
        })
    }

    /// Whether `ip` is in the block.
    pub fn contains_ip(&self, ip: u128) -> bool {
        let mask = if self.len == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.len))
        };
        ip & mask == self.addr
    }
}

/// An address as rules see it: IPv4-mapped IPv6 addresses count as IPv4.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether the IPv4 or IPv6 CIDR text contains `ip`.
pub fn text_contains(cidr: &str, ip: IpAddr) -> bool {
    match normalize(ip) {
        IpAddr::V4(v4) => Cidr4::parse(cidr, true).is_some_and(|c| c.contains_ip(u32::from(v4))),
        IpAddr::V6(v6) => Cidr6::parse(cidr).is_some_and(|c| c.contains_ip(u128::from(v6))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr4 {
        Cidr4::parse(s, false).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(c("10.0.0.0/16").to_string(), "10.0.0.0/16");
        assert_eq!(c("0.0.0.0/0").size(), 1 << 32);
        assert!(Cidr4::parse("10.0.0.1/16", false).is_none());
        assert_eq!(
            Cidr4::parse("10.0.0.1/16", true)
                .map(|c| c.to_string())
                .as_deref(),
            Some("10.0.0.0/16")
        );
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/16",
            "a.b.c.d/8",
            "10.0.0.0/-1",
            "10.0.0.0/",
        ] {
            assert!(Cidr4::parse(bad, true).is_none(), "{bad}");
        }
    }

    #[test]
    fn containment_and_overlap() {
        let vpc = c("192.168.0.0/16");
        assert!(vpc.contains(&c("192.168.0.0/20")));
        assert!(vpc.contains(&c("192.168.16.0/20")));
        assert!(!vpc.contains(&c("192.169.0.0/20")));
        assert!(!c("192.168.0.0/20").contains(&vpc));
        assert!(c("192.168.0.0/20").overlaps(&c("192.168.8.0/24")));
        assert!(!c("192.168.0.0/20").overlaps(&c("192.168.16.0/20")));
        assert_eq!(c("10.0.1.0/24").size() - 5, 251);
        assert_eq!(
            c("10.0.1.0/24").last(),
            u32::from(Ipv4Addr::new(10, 0, 1, 255))
        );
        assert_eq!(c("10.0.1.0/24").nth(4), Ipv4Addr::new(10, 0, 1, 4));
    }

    #[test]
    fn addresses_in_rules() {
        let lo: IpAddr = "127.0.0.1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(text_contains("127.0.0.1/32", lo));
        assert!(text_contains("0.0.0.0/0", lo));
        assert!(!text_contains("10.0.0.0/8", lo));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap_or(lo);
        assert!(text_contains("127.0.0.0/8", mapped));
        let v6: IpAddr = "::1".parse().unwrap_or(lo);
        assert!(text_contains("::/0", v6));
        assert!(text_contains("::1/128", v6));
        assert!(!text_contains("0.0.0.0/0", v6));
    }
}
