//! Where the gateway may send a request on a merchant's behalf (DESIGN §11). A merchant names
//! the URLs we call (`notify_url`) and send the payer to (`return_url`); left unchecked, that is
//! a server-side request forgery into our own network: the loopback admin port, a database, a
//! cloud metadata service. So an address in a range that does not belong to the public internet
//! is refused unless the operator or the merchant's record allows it (development, a merchant on
//! the same private network).
//!
//! Refused, for IPv4: this network 0.0.0.0/8 (with the unspecified 0.0.0.0), loopback 127/8,
//! private 10/8, 172.16/12 and 192.168/16 (RFC 1918), shared 100.64/10 (RFC 6598: carrier NAT,
//! and where some clouds put their metadata service, e.g. 100.100.100.200), link-local
//! 169.254/16 (with 169.254.169.254), IETF protocol assignments 192.0.0/24, documentation
//! 192.0.2/24, 198.51.100/24 and 203.0.113/24, benchmarking 198.18/15, multicast 224/4,
//! reserved 240/4 and broadcast 255.255.255.255. For IPv6: unspecified `::`, loopback `::1`,
//! unique-local fc00::/7, link-local fe80::/10, the deprecated site-local fec0::/10, multicast
//! ff00::/8, discard-only 100::/64, benchmarking 2001:2::/48 and documentation 2001:db8::/32
//! and 3fff::/20. An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, compatible
//! `::a.b.c.d`, translated `::ffff:0:a.b.c.d`, NAT64 64:ff9b::/96 and 6to4 2002::/16) is judged
//! by the IPv4 address it carries, so `::ffff:127.0.0.1` is loopback.
//! Documentation and benchmarking ranges are never a real merchant's server; refusing them costs
//! nothing and keeps the rule "only what is routable on the internet".

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public internet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenRange {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    Shared,
    LinkLocal,
    UniqueLocal,
    SiteLocal,
    Multicast,
    Broadcast,
    Documentation,
    Benchmarking,
    Reserved,
}

impl ForbiddenRange {
    pub fn describe(self) -> &'static str {
        match self {
            ForbiddenRange::Unspecified => "an unspecified address",
            ForbiddenRange::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            ForbiddenRange::Loopback => "a loopback address",
            ForbiddenRange::Private => "a private address (RFC 1918)",
            ForbiddenRange::Shared => "a shared address (100.64.0.0/10)",
            ForbiddenRange::LinkLocal => "a link-local address",
            ForbiddenRange::UniqueLocal => "a unique-local address (fc00::/7)",
            ForbiddenRange::SiteLocal => "a site-local address (fec0::/10)",
            ForbiddenRange::Multicast => "a multicast address",
            ForbiddenRange::Broadcast => "the broadcast address",
            ForbiddenRange::Documentation => "a documentation address",
            ForbiddenRange::Benchmarking => "a benchmarking address",
            ForbiddenRange::Reserved => "a reserved address",
        }
    }
}

/// An address a request may not go to, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{ip} is {}", range.describe())]
pub struct ForbiddenAddress {
    pub ip: IpAddr,
    pub range: ForbiddenRange,
}

/// Whether a merchant's URLs may point into private ranges: an operator's switch for
/// development, or a merchant's record for one on the gateway's own network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateTargets {
    Refused,
    Allowed,
}

impl PrivateTargets {
    /// `Ok` when a request may be sent to `ip`.
    pub fn check(self, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        match (self, forbidden_range(ip)) {
            (PrivateTargets::Refused, Some(range)) => Err(ForbiddenAddress { ip, range }),
            _ => Ok(()),
        }
    }
}

/// The forbidden range `ip` falls in; `None` for a public internet address.
pub fn forbidden_range(ip: IpAddr) -> Option<ForbiddenRange> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_range(v4),
            None => v6_range(v6),
        },
    }
}

/// Whether `ip` lies in `base/prefix_len`.
fn in_v4(ip: Ipv4Addr, base: [u8; 4], prefix_len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix_len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(base)) & mask
}

fn in_v6(ip: Ipv6Addr, base: [u16; 8], prefix_len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix_len).unwrap_or(0);
    let base = Ipv6Addr::new(
        base[0], base[1], base[2], base[3], base[4], base[5], base[6], base[7],
    );
    u128::from(ip) & mask == u128::from(base) & mask
}

/// Ranges in order: the first match names the range (0.0.0.0 before 0/8, broadcast before 240/4).
const V4_RANGES: [([u8; 4], u32, ForbiddenRange); 17] = [
    ([0, 0, 0, 0], 32, ForbiddenRange::Unspecified),
    ([0, 0, 0, 0], 8, ForbiddenRange::ThisNetwork),
    ([127, 0, 0, 0], 8, ForbiddenRange::Loopback),
    ([10, 0, 0, 0], 8, ForbiddenRange::Private),
    ([172, 16, 0, 0], 12, ForbiddenRange::Private),
    ([192, 168, 0, 0], 16, ForbiddenRange::Private),
    ([100, 64, 0, 0], 10, ForbiddenRange::Shared),
    ([169, 254, 0, 0], 16, ForbiddenRange::LinkLocal),
    ([192, 0, 0, 0], 24, ForbiddenRange::Reserved),
    ([192, 0, 2, 0], 24, ForbiddenRange::Documentation),
    ([198, 51, 100, 0], 24, ForbiddenRange::Documentation),
    ([203, 0, 113, 0], 24, ForbiddenRange::Documentation),
    ([198, 18, 0, 0], 15, ForbiddenRange::Benchmarking),
    ([224, 0, 0, 0], 4, ForbiddenRange::Multicast),
    ([255, 255, 255, 255], 32, ForbiddenRange::Broadcast),
    ([240, 0, 0, 0], 4, ForbiddenRange::Reserved),
    // Deprecated 6to4 relay anycast: a relay on someone else's network, never a merchant.
    ([192, 88, 99, 0], 24, ForbiddenRange::Reserved),
];

const V6_RANGES: [([u16; 8], u32, ForbiddenRange); 11] = [
    ([0; 8], 128, ForbiddenRange::Unspecified),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, ForbiddenRange::Loopback),
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        ForbiddenRange::UniqueLocal,
    ),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, ForbiddenRange::LinkLocal),
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, ForbiddenRange::SiteLocal),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, ForbiddenRange::Multicast),
    ([0x0100, 0, 0, 0, 0, 0, 0, 0], 64, ForbiddenRange::Reserved),
    (
        [0x2001, 0x0002, 0, 0, 0, 0, 0, 0],
        48,
        ForbiddenRange::Benchmarking,
    ),
    (
        [0x2001, 0x0db8, 0, 0, 0, 0, 0, 0],
        32,
        ForbiddenRange::Documentation,
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        ForbiddenRange::Documentation,
    ),
    // The rest of ::/8 (what is left after the forms that carry IPv4) is unassigned.
    ([0; 8], 8, ForbiddenRange::Reserved),
];

fn v4_range(ip: Ipv4Addr) -> Option<ForbiddenRange> {
    V4_RANGES
        .iter()
        .find(|(base, len, _)| in_v4(ip, *base, *len))
        .map(|(_, _, range)| *range)
}

fn v6_range(ip: Ipv6Addr) -> Option<ForbiddenRange> {
    V6_RANGES
        .iter()
        .find(|(base, len, _)| in_v6(ip, *base, *len))
        .map(|(_, _, range)| *range)
}

/// The IPv4 address an IPv6 one carries, for the forms a stack or a gateway would turn into an
/// IPv4 connection. `::` and `::1` are IPv6's own and carry nothing.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let zero_head = s[..5].iter().all(|x| *x == 0);
    if zero_head && s[5] == 0xffff {
        return Some(low); // ::ffff:a.b.c.d, mapped
    }
    if zero_head && s[5] == 0 && u128::from(ip) > 1 {
        return Some(low); // ::a.b.c.d, compatible (deprecated, still parsed)
    }
    if s[..4].iter().all(|x| *x == 0) && s[4] == 0xffff && s[5] == 0 {
        return Some(low); // ::ffff:0:a.b.c.d, translated (SIIT)
    }
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return Some(low); // NAT64 well-known prefix
    }
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return Some(Ipv4Addr::new(a, b, c, d)); // 6to4
    }
    None
}

#[cfg(test)]
mod tests {
    use super::ForbiddenRange::*;
    use super::*;

    const FORBIDDEN: [(&str, ForbiddenRange); 48] = [
        ("0.0.0.0", Unspecified),
        ("0.1.2.3", ThisNetwork),
        ("127.0.0.1", Loopback),
        ("127.255.255.254", Loopback),
        ("10.0.0.1", Private),
        ("10.255.255.255", Private),
        ("172.16.0.1", Private),
        ("172.31.255.255", Private),
        ("192.168.1.1", Private),
        ("100.64.0.1", Shared),
        ("100.100.100.200", Shared),
        ("100.127.255.255", Shared),
        ("169.254.169.254", LinkLocal),
        ("169.254.0.1", LinkLocal),
        ("192.0.0.8", Reserved),
        ("192.0.2.1", Documentation),
        ("198.51.100.7", Documentation),
        ("203.0.113.9", Documentation),
        ("198.18.0.1", Benchmarking),
        ("198.19.255.255", Benchmarking),
        ("224.0.0.1", Multicast),
        ("239.255.255.250", Multicast),
        ("240.0.0.1", Reserved),
        ("255.255.255.255", Broadcast),
        ("192.88.99.1", Reserved),
        ("::", Unspecified),
        ("::1", Loopback),
        ("fc00::1", UniqueLocal),
        ("fd12:3456:789a::1", UniqueLocal),
        ("fe80::1", LinkLocal),
        ("febf:ffff::1", LinkLocal),
        ("fec0::1", SiteLocal),
        ("ff02::1", Multicast),
        ("100::1", Reserved),
        ("2001:2::1", Benchmarking),
        ("2001:db8::1", Documentation),
        ("3fff::1", Documentation),
        ("::2:0:0:1", Reserved),
        // IPv6 forms that carry an IPv4 address are judged by it.
        ("::ffff:127.0.0.1", Loopback),
        ("::ffff:7f00:1", Loopback),
        ("::ffff:10.1.2.3", Private),
        ("::ffff:169.254.169.254", LinkLocal),
        ("::127.0.0.1", Loopback),
        ("::192.168.0.1", Private),
        ("::ffff:0:127.0.0.1", Loopback),
        ("64:ff9b::a9fe:a9fe", LinkLocal),
        ("2002:7f00:1::", Loopback),
        ("2002:c0a8:101::1", Private),
    ];

    const PUBLIC: [&str; 16] = [
        "8.8.8.8",
        "1.1.1.1",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.167.255.255",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2400:3200::1",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
    ];

    #[test]
    fn every_non_public_range_is_named() {
        for (text, range) in FORBIDDEN {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(forbidden_range(ip), Some(range), "{text}");
        }
    }

    #[test]
    fn public_addresses_pass_including_range_neighbours() {
        for text in PUBLIC {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(forbidden_range(ip), None, "{text}");
        }
    }

    #[test]
    fn the_switch_allows_private_targets_and_the_refusal_says_why() {
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let refused = PrivateTargets::Refused.check(metadata).unwrap_err();
        assert_eq!(refused.range, LinkLocal);
        assert_eq!(
            refused.to_string(),
            "169.254.169.254 is a link-local address"
        );
        assert_eq!(PrivateTargets::Allowed.check(metadata), Ok(()));
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(PrivateTargets::Refused.check(public), Ok(()));
    }
}
