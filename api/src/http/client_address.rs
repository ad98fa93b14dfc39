//! The client's address, for the per-client send limits and the anonymous Idempotency-Key
//! scope. Behind a reverse proxy (how dealers run the service) the TCP peer is the proxy, and
//! every visitor would share its budget; so when the peer is a trusted proxy
//! (`POPIA_TRUSTED_PROXIES`), the address is the right-most one in `Forwarded` (or else
//! `X-Forwarded-For`) that is not itself a trusted proxy. From any other peer those headers are
//! ignored: a client cannot choose its own address.

use std::net::IpAddr;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::{web, HttpRequest};
use ipnet::IpNet;

const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address given the TCP peer and the request's headers.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        // Nearest hop last: walk back from the proxy that reached us.
        for hop in forwarded_chain(headers).iter().rev() {
            match hop {
                Some(address) if self.trusts(*address) => continue,
                Some(address) => return Some(*address),
                // A value our own proxy would not write: believe nothing further out.
                None => return Some(peer),
            }
        }
        Some(peer)
    }
}

/// The client's address of a request, as a string (empty when unknown).
pub fn client_address(req: &HttpRequest) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    let address = match req.app_data::<web::Data<TrustedProxies>>() {
        Some(trusted) => trusted.client(peer, req.headers()),
        None => peer,
    };
    address.map(|a| a.to_string()).unwrap_or_default()
}

/// The addresses a request passed through, farthest first: `Forwarded`'s `for=` values when
/// that header is present (RFC 7239), else `X-Forwarded-For`. `None` marks a value that is not
/// an address (`unknown`, an obfuscated identifier, garbage).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let forwarded = values(&FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(value.trim().trim_matches('"')))
                })
            })
            .collect();
    }
    values(&X_FORWARDED_FOR)
        .iter()
        .map(|v| parse_node(v))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(value: &str) -> Option<IpAddr> {
    if let Ok(address) = value.parse() {
        return Some(address);
    }
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = value.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            trusted.client(ip("198.51.100.7"), &spoofed),
            ip("198.51.100.7")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &spoofed),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        // The client prepended a lie; the proxies appended what they saw.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &chain), ip("203.0.113.9"));
        let forwarded = headers(&[
            ("forwarded", "for=1.2.3.4"),
            (
                "forwarded",
                "for=\"[2001:db8::7]:4711\";proto=https, for=10.1.1.1",
            ),
        ]);
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &forwarded),
            ip("2001:db8::7")
        );
        // Only proxies in the chain: the peer.
        let inner = headers(&[("x-forwarded-for", "10.9.9.9")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &inner), ip("10.0.0.1"));
        // Garbage where our proxy writes: the peer, nothing further out.
        let garbage = headers(&[("x-forwarded-for", "203.0.113.9, nonsense")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
        // No header at all: the proxy itself.
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }
}
