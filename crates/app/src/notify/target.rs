//! Where a notification may go (DESIGN §11). The rule itself is `domain::address`; this is how
//! the notifier keeps to it on the address it actually connects to. A host name is resolved by
//! `PublicOnlyResolver`, which hands the HTTP client only the public addresses it found, and the
//! client connects to exactly those: a DNS answer that changes between a check and the
//! connection (rebinding) has no gap to slip through. A literal address never reaches a
//! resolver, so the notifier checks it before sending (`literal_ip`).

use paygate_domain::address::{ForbiddenAddress, PrivateTargets};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::error::Error;
use std::net::{IpAddr, SocketAddr};

/// The address a URL names literally, in any spelling the URL standard reads as one (`127.1`,
/// `0x7f.0.0.1`, `2130706433`, `[::ffff:127.0.0.1]`); `None` for a host name. The HTTP client
/// parses URLs with the same crate, so it sees the same host.
pub(crate) fn literal_ip(url: &str) -> Option<IpAddr> {
    match url::Url::parse(url).ok()?.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Resolves through the system resolver and drops every address outside the public internet.
/// When nothing is left, resolution fails with the first refusal, so the attempt records why.
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(public_addresses(name.as_str().to_owned()))
    }
}

async fn public_addresses(host: String) -> Result<Addrs, Box<dyn Error + Send + Sync>> {
    let mut refused = None;
    let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
        .await?
        .filter(|addr| match PrivateTargets::Refused.check(addr.ip()) {
            Ok(()) => true,
            Err(refusal) => {
                refused.get_or_insert(refusal);
                false
            }
        })
        .collect();
    match refused {
        Some(refusal) if public.is_empty() => Err(refusal.into()),
        _ => Ok(Box::new(public.into_iter())),
    }
}

/// The refusal among a failed request's causes, when that is why it failed.
pub(crate) fn refusal_in(error: &(dyn Error + 'static)) -> Option<ForbiddenAddress> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(refusal) = error.downcast_ref::<ForbiddenAddress>() {
            return Some(*refusal);
        }
        cause = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_addresses_are_read_in_every_spelling_the_client_accepts() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        for url in [
            "http://127.0.0.1/x",
            "http://127.1/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://2130706433/",
            "http://127.0.0.1./",
            "http://shop.example@127.0.0.1:8080/",
        ] {
            assert_eq!(literal_ip(url), Some(loopback), "{url}");
        }
        assert_eq!(
            literal_ip("http://[::ffff:127.0.0.1]/"),
            Some("::ffff:127.0.0.1".parse().unwrap())
        );
        assert_eq!(literal_ip("http://[::1]:9/n"), Some("::1".parse().unwrap()));
        assert_eq!(literal_ip("https://shop.example/notify"), None);
        assert_eq!(literal_ip("http://127.0.0.1@shop.example/"), None);
        assert_eq!(literal_ip("http://localhost/"), None);
    }

    #[tokio::test]
    async fn a_name_resolving_only_to_loopback_is_refused() {
        let name: Name = "localhost".parse().unwrap();
        let error = match PublicOnlyResolver.resolve(name).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(error) => error,
        };
        let refusal = refusal_in(error.as_ref()).expect("the refusal is the cause");
        assert_eq!(
            refusal.range,
            paygate_domain::address::ForbiddenRange::Loopback
        );
    }
}
