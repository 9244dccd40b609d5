//! Network grant targets: `https://host:port`, `http://…`, `tcp://host:port`,
//! `udp://host:port`, `dns://name`. Hosts may be `*` or `*.suffix`.

use crate::trust::CapabilityKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::GrantError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetScheme {
    Http,
    Https,
    Tcp,
    Udp,
    Dns,
}

impl NetScheme {
    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Dns => "dns",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostPattern {
    /// `*`: any host (private and special addresses stay refused).
    Any,
    /// `*.example.com`: any subdomain (not the apex).
    Suffix(String),
    /// An exact DNS name, lowercase.
    Name(String),
    /// An IP address: the only way to reach a private or special address,
    /// besides the name `localhost` for loopback.
    Ip(IpAddr),
}

impl HostPattern {
    pub fn matches_name(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self {
            HostPattern::Any => true,
            HostPattern::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
            HostPattern::Name(n) => *n == host,
            HostPattern::Ip(ip) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|h| h == *ip),
        }
    }

    /// Whether this pattern names `ip` explicitly enough to reach it even if
    /// it is a loopback, private, link-local or metadata address.
    pub fn names_address(&self, ip: IpAddr) -> bool {
        match self {
            HostPattern::Ip(g) => *g == ip,
            HostPattern::Name(n) => n == "localhost" && ip.is_loopback(),
            _ => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Suffix(s) => write!(f, "*{s}"),
            HostPattern::Name(n) => f.write_str(n),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostPattern::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// One network grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetTarget {
    pub scheme: NetScheme,
    pub host: HostPattern,
    /// None: any port (written `:*`), or no port for `dns`.
    pub port: Option<u16>,
}

impl NetTarget {
    pub fn kind(&self) -> CapabilityKind {
        match self.scheme {
            NetScheme::Http | NetScheme::Https => CapabilityKind::Http,
            NetScheme::Tcp | NetScheme::Udp => CapabilityKind::Socket,
            NetScheme::Dns => CapabilityKind::Dns,
        }
    }

    pub fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }
}

impl fmt::Display for NetTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        match (self.scheme, self.port) {
            (NetScheme::Dns, _) => Ok(()),
            (_, Some(p)) => write!(f, ":{p}"),
            (_, None) => f.write_str(":*"),
        }
    }
}

impl FromStr for NetTarget {
    type Err = GrantError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| GrantError::BadNet {
            target: s.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("expected SCHEME://HOST[:PORT], e.g. https://api.github.com:443, tcp://db.local:5432, dns://example.com"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => NetScheme::Http,
            "https" => NetScheme::Https,
            "tcp" => NetScheme::Tcp,
            "udp" => NetScheme::Udp,
            "dns" => NetScheme::Dns,
            _ => return Err(bad("scheme must be http, https, tcp, udp or dns")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("give an origin only (no path, query or user info)"));
        }
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("malformed host or port"))?;
        let host = parse_host(host).ok_or_else(|| {
            bad("malformed host: use a DNS name, an IP address, `*` or `*.domain`")
        })?;
        let port = match (scheme, port) {
            (NetScheme::Dns, None) => None,
            (NetScheme::Dns, Some(_)) => return Err(bad("dns grants take no port")),
            (_, Some("*")) => None,
            (_, Some(p)) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("port must be 1-65535 or *"))?,
            ),
            (NetScheme::Http, None) => Some(80),
            (NetScheme::Https, None) => Some(443),
            (_, None) => return Err(bad("tcp and udp grants need a port (or :* for any)")),
        };
        Ok(NetTarget { scheme, host, port })
    }
}

fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        Some((h, _)) if h.contains(':') => Some((s, None)), // bare IPv6
        Some((h, p)) => Some((h, Some(p))),
        None => Some((s, None)),
    }
}

fn parse_host(h: &str) -> Option<HostPattern> {
    if h == "*" {
        return Some(HostPattern::Any);
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(HostPattern::Ip(ip));
    }
    let (suffix, name) = match h.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, h),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return None;
    }
    Some(if suffix {
        HostPattern::Suffix(format!(".{name}"))
    } else {
        HostPattern::Name(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for (input, shown) in [
            ("https://api.github.com", "https://api.github.com:443"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("tcp://[::1]:5432", "tcp://[::1]:5432"),
            ("udp://*.example.org:*", "udp://*.example.org:*"),
            ("dns://Example.COM", "dns://example.com"),
        ] {
            let t: NetTarget = input.parse().unwrap();
            assert_eq!(t.to_string(), shown);
            assert_eq!(t.to_string().parse::<NetTarget>().unwrap(), t);
        }
    }

    #[test]
    fn rejects_malformed_targets() {
        for bad in [
            "api.github.com",
            "ftp://x:21",
            "https://x/path",
            "tcp://x",
            "https://x:0",
            "https://x:99999",
            "https://user@x",
            "dns://x:53",
            "https://bad host",
        ] {
            assert!(bad.parse::<NetTarget>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn host_patterns_match_as_documented() {
        let suffix = parse_host("*.example.com").unwrap();
        assert!(suffix.matches_name("api.example.com"));
        assert!(!suffix.matches_name("example.com"));
        assert!(!suffix.matches_name("evilexample.com"));
        let ip = parse_host("10.0.0.1").unwrap();
        assert!(ip.names_address("10.0.0.1".parse().unwrap()));
        assert!(!HostPattern::Any.names_address("10.0.0.1".parse().unwrap()));
        assert!(HostPattern::Name("localhost".into()).names_address("127.0.0.1".parse().unwrap()));
    }
}
