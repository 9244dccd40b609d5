//! The one authority on network access: which grant matches a target, and
//! which resolved addresses may be reached.

use crate::grants::{NetScheme, NetTarget};
use crate::policy::Policy;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Why an address is special, or None for an ordinary public address.
/// Special addresses are reachable only through a grant naming them.
pub fn restricted(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => restricted_v6(v6),
    }
}

fn restricted_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) => {
            "cloud metadata"
        }
        (0, _) => "unspecified/this-network",
        (10, _) => "private",
        (100, 64..=127) => "shared (carrier-grade NAT)",
        (127, _) => "loopback",
        (169, 254) => "link-local",
        (172, 16..=31) => "private",
        (192, 0) if c == 0 => "IETF protocol assignments",
        (192, 168) => "private",
        (198, 18..=19) => "benchmarking",
        (224..=239, _) => "multicast",
        (240..=255, _) => "reserved/broadcast",
        _ => {
            let _ = d;
            return None;
        }
    })
}

fn restricted_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return restricted_v4(v4).or(Some("IPv4-mapped"));
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return restricted_v4(v4);
    }
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some("cloud metadata");
    }
    Some(match s[0] {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        0xfc00..=0xfdff => "unique-local (private)",
        0xfe80..=0xfebf => "link-local",
        0xff00..=0xffff => "multicast",
        0x0000 => "reserved (IPv4-compatible)",
        _ => return None,
    })
}

/// The grants of `scheme` matching `host:port`.
pub fn matching<'p>(
    policy: &'p Policy,
    scheme: NetScheme,
    host: &str,
    port: u16,
) -> Vec<&'p NetTarget> {
    policy
        .net
        .iter()
        .filter(|t| t.scheme == scheme && t.port_matches(port) && t.host.matches_name(host))
        .collect()
}

/// Why no address of a host may be reached.
#[derive(Debug)]
pub enum VetError {
    /// Every address is special and no grant names it.
    Restricted {
        host: String,
        ip: IpAddr,
        why: &'static str,
    },
    /// The name did not resolve.
    Resolve(String),
}

impl std::fmt::Display for VetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VetError::Restricted { host, ip, why } => write!(
                f,
                "{host} resolves to {ip}, a {why} address, which only a grant naming that address allows"
            ),
            VetError::Resolve(m) => f.write_str(m),
        }
    }
}

/// Resolve `host` and keep the addresses the matching grants allow.
pub async fn vet(
    host: &str,
    port: u16,
    grants: &[&NetTarget],
    timeout: Duration,
) -> Result<Vec<SocketAddr>, VetError> {
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let name = bare.clone();
            let lookup = tokio::task::spawn_blocking(move || {
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<_>>())
            });
            match tokio::time::timeout(timeout, lookup).await {
                Err(_) => return Err(VetError::Resolve(format!("DNS lookup of {bare} timed out"))),
                Ok(Err(e)) => {
                    return Err(VetError::Resolve(format!(
                        "DNS lookup of {bare} failed: {e}"
                    )));
                }
                Ok(Ok(Err(e))) => {
                    return Err(VetError::Resolve(format!(
                        "DNS lookup of {bare} failed: {e}"
                    )));
                }
                Ok(Ok(Ok(a))) => a,
            }
        }
    };
    let mut refused = None;
    let ok: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match restricted(a.ip()) {
            None => true,
            Some(why) => {
                let named = grants.iter().any(|g| g.host.names_address(a.ip()));
                if !named {
                    refused.get_or_insert((a.ip(), why));
                }
                named
            }
        })
        .collect();
    match (ok.is_empty(), refused) {
        (false, _) => Ok(ok),
        (true, Some((ip, why))) => Err(VetError::Restricted {
            host: bare,
            ip,
            why,
        }),
        (true, None) => Err(VetError::Resolve(format!(
            "{bare} did not resolve to any address"
        ))),
    }
}

/// Whether `addr` is one of the addresses a socket grant allows.
pub async fn socket_allowed(
    grants: &[&NetTarget],
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), String> {
    let mut last = format!("{addr} matches no grant");
    for g in grants {
        let host = g.host.to_string();
        let candidates = match &g.host {
            crate::grants::HostPattern::Ip(ip) => vec![SocketAddr::new(*ip, addr.port())],
            crate::grants::HostPattern::Any => vec![addr],
            _ => match vet(&host, addr.port(), &[g], timeout).await {
                Ok(a) => a,
                Err(why) => {
                    last = why.to_string();
                    continue;
                }
            },
        };
        if !candidates.contains(&addr) {
            continue;
        }
        match restricted(addr.ip()) {
            Some(why) if !g.host.names_address(addr.ip()) => {
                last = format!(
                    "{addr} is a {why} address, which only a grant naming that address allows"
                );
            }
            _ => return Ok(()),
        }
    }
    Err(last)
}

/// What a socket use is, in the policy's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketUse {
    Connect,
    Send,
    Receive,
    /// An explicit or implicit bind (`scheme` Tcp or Udp).
    Bind(NetScheme),
    Listen,
}

/// A refusal: what was asked, why not, the grant that would allow it
/// (None: nothing does), and whether it is journaled (a UDP packet that
/// arrives from elsewhere is dropped quietly).
#[derive(Debug, PartialEq)]
pub struct SocketDenial {
    pub target: String,
    pub why: String,
    pub grant: Option<String>,
    pub journal: bool,
}

/// The policy's answer on a socket use, before any name is resolved.
#[derive(Debug)]
pub enum SocketVerdict<'p> {
    Allow,
    Deny(SocketDenial),
    /// Allowed if `socket_allowed` admits the address for these grants;
    /// otherwise the denial, with its reason filled in.
    Resolve(Vec<&'p NetTarget>, SocketDenial),
}

/// Decide a socket use: the only place bind, listen, connect and send are
/// decided.
pub fn socket_use(net: &[NetTarget], addr: SocketAddr, use_: SocketUse) -> SocketVerdict<'_> {
    let name = |s: NetScheme| if s == NetScheme::Tcp { "tcp" } else { "udp" };
    let (scheme, verb) = match use_ {
        SocketUse::Connect => (NetScheme::Tcp, "connect"),
        SocketUse::Send => (NetScheme::Udp, "send"),
        SocketUse::Receive => (NetScheme::Udp, "receive"),
        SocketUse::Bind(scheme) => {
            // Implicit binds before connect/send use the wildcard address
            // and port 0: allowed to plugins holding a grant of that kind.
            if addr.ip().is_unspecified() && addr.port() == 0 {
                if net.iter().any(|t| t.scheme == scheme) {
                    return SocketVerdict::Allow;
                }
                return SocketVerdict::Deny(SocketDenial {
                    target: format!("{} socket", name(scheme)),
                    why: format!("no {} grant", name(scheme)),
                    grant: Some(format!("--net {}://HOST:PORT", name(scheme))),
                    journal: true,
                });
            }
            return SocketVerdict::Deny(SocketDenial {
                target: format!("bind {addr}"),
                why: "binding a socket to a chosen address or port is not allowed".into(),
                grant: None,
                journal: true,
            });
        }
        SocketUse::Listen => {
            return SocketVerdict::Deny(SocketDenial {
                target: format!("listen {addr}"),
                why: "plugins may not accept connections".into(),
                grant: None,
                journal: true,
            });
        }
    };
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let denial = SocketDenial {
        target: format!("{} {verb} {addr}", name(scheme)),
        why: "no matching grant".into(),
        grant: Some(format!("--net {}://{host}:{}", name(scheme), addr.port())),
        journal: use_ != SocketUse::Receive,
    };
    let grants: Vec<&NetTarget> = net
        .iter()
        .filter(|t| t.scheme == scheme && t.port_matches(addr.port()))
        .collect();
    if grants.is_empty() {
        return SocketVerdict::Deny(denial);
    }
    SocketVerdict::Resolve(grants, denial)
}

/// Whether a plugin may look up `name`: a `dns://` grant matching it, or a
/// TCP/UDP grant for that very name.
pub fn dns_allowed(net: &[NetTarget], name: &str) -> bool {
    net.iter().any(|t| match t.scheme {
        NetScheme::Dns => t.host.matches_name(name),
        NetScheme::Tcp | NetScheme::Udp => {
            matches!(t.host, crate::grants::HostPattern::Name(_)) && t.host.matches_name(name)
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_and_listens_are_decided_here() {
        let tcp: Vec<NetTarget> = vec!["tcp://example.com:443".parse().unwrap()];
        let any = "0.0.0.0:0".parse().unwrap();
        assert!(matches!(
            socket_use(&tcp, any, SocketUse::Bind(NetScheme::Tcp)),
            SocketVerdict::Allow
        ));
        let SocketVerdict::Deny(d) = socket_use(&tcp, any, SocketUse::Bind(NetScheme::Udp)) else {
            panic!("an implicit UDP bind without a UDP grant")
        };
        assert_eq!(d.grant.as_deref(), Some("--net udp://HOST:PORT"));
        let chosen = "0.0.0.0:8080".parse().unwrap();
        assert!(matches!(
            socket_use(&tcp, chosen, SocketUse::Bind(NetScheme::Tcp)),
            SocketVerdict::Deny(SocketDenial { grant: None, .. })
        ));
        assert!(matches!(
            socket_use(&tcp, chosen, SocketUse::Listen),
            SocketVerdict::Deny(_)
        ));
        let SocketVerdict::Deny(d) =
            socket_use(&tcp, "1.2.3.4:22".parse().unwrap(), SocketUse::Connect)
        else {
            panic!("a port no grant names")
        };
        assert_eq!(d.grant.as_deref(), Some("--net tcp://1.2.3.4:22"));
        let SocketVerdict::Deny(d) =
            socket_use(&[], "1.2.3.4:53".parse().unwrap(), SocketUse::Receive)
        else {
            panic!("a datagram from anywhere")
        };
        assert!(!d.journal, "received datagrams are dropped quietly");
        assert!(matches!(
            socket_use(&tcp, "1.2.3.4:443".parse().unwrap(), SocketUse::Connect),
            SocketVerdict::Resolve(g, _) if g.len() == 1
        ));
        assert!(dns_allowed(&tcp, "example.com") && !dns_allowed(&tcp, "other.com"));
    }

    #[test]
    fn special_ranges_are_restricted() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(
                restricted(ip.parse().unwrap()).is_some(),
                "{ip} not restricted"
            );
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert_eq!(restricted(ip.parse().unwrap()), None, "{ip} restricted");
        }
        assert_eq!(
            restricted("169.254.169.254".parse().unwrap()),
            Some("cloud metadata")
        );
    }
}
