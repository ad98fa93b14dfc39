//! Where a webhook may go: public addresses only, unless the operator allows private ones
//! (`POPIA_WEBHOOK_ALLOW_PRIVATE`). A dealer names the URL; without this rule it could make the
//! service call its own loopback, the cloud's metadata service or the private network behind it.
//! The same rule runs at registration and at every delivery, where it sits inside the DNS
//! resolver the HTTP client connects through: the connection goes to exactly the addresses that
//! were checked, so a name re-bound between the check and the connect cannot slip through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;

use ipnet::IpNet;
use url::{Host, Url};

/// Ranges no webhook may reach.
static FORBIDDEN: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",      // "this network", with the unspecified address
        "10.0.0.0/8",     // RFC 1918
        "172.16.0.0/12",  // RFC 1918
        "192.168.0.0/16", // RFC 1918
        "100.64.0.0/10",  // carrier-grade NAT
        "127.0.0.0/8",    // loopback
        "169.254.0.0/16", // link-local, with the cloud metadata service 169.254.169.254
        "224.0.0.0/4",    // multicast
        "240.0.0.0/4",    // reserved, with the broadcast address
        "::/128",         // unspecified
        "::1/128",        // loopback
        "fc00::/7",       // unique local
        "fe80::/10",      // link-local
        "ff00::/8",       // multicast
    ]
    .iter()
    .map(|net| net.parse().expect("a valid range"))
    .collect()
});

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{}", private(host, addr))]
    Private { host: String, addr: IpAddr },
    #[error("{host} cannot be resolved: {reason}")]
    Unresolved { host: String, reason: String },
    #[error("the URL has no host")]
    NoHost,
}

fn private(host: &str, addr: &IpAddr) -> String {
    let what = "a private, loopback or link-local address";
    if host == addr.to_string() {
        format!("{addr} is {what}")
    } else {
        format!("{host} is {addr}, {what}")
    }
}

/// Whether `ip` is in a forbidden range, IPv4 inside IPv6 included.
pub fn is_forbidden(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    FORBIDDEN.iter().any(|net| net.contains(&ip))
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or
/// NAT64 (`64:ff9b::a.b.c.d`) address: each reaches that IPv4 address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let low = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1); // not `::` or `::1`
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (compatible || nat64).then(low)
}

fn check(host: &str, addr: IpAddr, allow_private: bool) -> Result<(), Refused> {
    if allow_private || !is_forbidden(addr) {
        return Ok(());
    }
    Err(Refused::Private {
        host: host.to_owned(),
        addr,
    })
}

/// The addresses of a host name, refused whole if any of them is forbidden.
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Refused> {
    let unresolved = |reason: String| Refused::Unresolved {
        host: host.to_owned(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| unresolved(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(unresolved("no addresses".into()));
    }
    for addr in &addrs {
        check(host, addr.ip(), allow_private)?;
    }
    Ok(addrs)
}

/// A URL whose host is an IP address: checked as it stands (no resolver is asked for one).
/// A host name passes here; the resolver checks it.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), Refused> {
    match url.host() {
        Some(Host::Ipv4(ip)) => check(&ip.to_string(), IpAddr::V4(ip), allow_private),
        Some(Host::Ipv6(ip)) => check(&ip.to_string(), IpAddr::V6(ip), allow_private),
        Some(Host::Domain(_)) => Ok(()),
        None => Err(Refused::NoHost),
    }
}

/// Checks a URL's host whatever it is: a registration's check. With private addresses allowed
/// there is nothing to check, so a name is not looked up.
pub async fn check_url(url: &Url, allow_private: bool) -> Result<(), Refused> {
    check_literal(url, allow_private)?;
    if allow_private {
        return Ok(());
    }
    if let Some(Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        resolve(name, port, allow_private).await?;
    }
    Ok(())
}

/// The resolver of the webhook client: answers only with allowed addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (host, allow_private) = (name.as_str().to_owned(), self.allow_private);
        Box::pin(async move {
            let addrs = resolve(&host, 0, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(ip: &str) -> bool {
        is_forbidden(ip.parse().unwrap())
    }

    #[test]
    fn private_loopback_and_link_local_ranges_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(forbidden(ip), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.2.10",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!forbidden(ip), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_by_their_literal_or_resolved_addresses() {
        let url = |u: &str| Url::parse(u).unwrap();
        for refused in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://[::ffff:7f00:1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://0x7f.1/hook",
            "http://localhost:9/hook",
        ] {
            assert!(
                matches!(
                    check_url(&url(refused), false).await,
                    Err(Refused::Private { .. })
                ),
                "{refused}"
            );
            assert_eq!(check_url(&url(refused), true).await, Ok(()), "{refused}");
        }
        assert_eq!(
            check_url(&url("https://93.184.216.34/hook"), false).await,
            Ok(())
        );
        assert!(check_literal(&url("https://hooks.example/x"), false).is_ok());
    }
}
