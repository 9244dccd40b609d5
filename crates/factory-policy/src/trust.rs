//! The trust ladder: six levels, each a ceiling on what a plugin may be granted.
//!
//! This is the only place where a level turns into concrete limits. Grants are
//! checked against [`TrustLevel::ceiling`] when the operator adds them and again
//! when a policy is compiled (`crate::compiled::compile`), so lowering a plugin's
//! trust cuts the grants above the new level without deleting them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// How far a plugin is trusted. Only the operator's CLI changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustLevel {
    /// 0: pure compute: clocks, random and log only.
    Untrusted = 0,
    /// 1: may read granted directories, granted env vars, its key-value store,
    /// call granted tools and models.
    ReadOnly = 1,
    /// 2: may also write granted directories and reach granted HTTP(S) hosts.
    Draft = 2,
    /// 3: may also run granted programs in the exec sandbox.
    AutoMerge = 3,
    /// 4: may also use granted raw TCP/UDP sockets and DNS lookups.
    Scoped = 4,
    /// 5: everything grantable, with the highest resource ceilings.
    Full = 5,
}

/// A kind of capability a grant gives. Log, clocks and random are always on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapabilityKind {
    Read,
    Write,
    Env,
    Kv,
    Tool,
    Model,
    Http,
    Exec,
    Socket,
    Dns,
}

impl CapabilityKind {
    pub const ALL: [CapabilityKind; 10] = [
        Self::Read,
        Self::Write,
        Self::Env,
        Self::Kv,
        Self::Tool,
        Self::Model,
        Self::Http,
        Self::Exec,
        Self::Socket,
        Self::Dns,
    ];

    /// The lowest level whose ceiling allows this kind.
    pub fn min_level(self) -> TrustLevel {
        match self {
            Self::Read | Self::Env | Self::Kv | Self::Tool | Self::Model => TrustLevel::ReadOnly,
            Self::Write | Self::Http => TrustLevel::Draft,
            Self::Exec => TrustLevel::AutoMerge,
            Self::Socket | Self::Dns => TrustLevel::Scoped,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Env => "env",
            Self::Kv => "kv",
            Self::Tool => "tool",
            Self::Model => "model",
            Self::Http => "http",
            Self::Exec => "exec",
            Self::Socket => "socket",
            Self::Dns => "dns",
        }
    }
}

impl fmt::Display for CapabilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resource limits of one invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Linear memory of the instance, bytes.
    pub memory: u64,
    /// Wall-clock deadline of one call, including time blocked in host calls.
    #[serde(with = "duration_ms")]
    pub deadline: Duration,
    /// Largest result string, bytes.
    pub max_result: u64,
    /// Largest captured stdout, and separately stderr, bytes.
    pub max_output: u64,
}

impl Limits {
    /// What a plugin gets unless the operator sets otherwise.
    pub const DEFAULT: Limits = Limits {
        memory: 512 * MIB,
        deadline: Duration::from_secs(30),
        max_result: MIB,
        max_output: MIB,
    };

    /// The smaller of each limit.
    pub fn min(self, other: Limits) -> Limits {
        Limits {
            memory: self.memory.min(other.memory),
            deadline: self.deadline.min(other.deadline),
            max_result: self.max_result.min(other.max_result),
            max_output: self.max_output.min(other.max_output),
        }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// What a level allows at most.
#[derive(Debug)]
pub struct Ceiling {
    pub kinds: &'static [CapabilityKind],
    pub limits: Limits,
}

impl Ceiling {
    pub fn allows(&self, kind: CapabilityKind) -> bool {
        self.kinds.contains(&kind)
    }
}

use CapabilityKind as K;
const L1: &[CapabilityKind] = &[K::Read, K::Env, K::Kv, K::Tool, K::Model];
const L2: &[CapabilityKind] = &[K::Read, K::Env, K::Kv, K::Tool, K::Model, K::Write, K::Http];
const L3: &[CapabilityKind] = &[
    K::Read,
    K::Env,
    K::Kv,
    K::Tool,
    K::Model,
    K::Write,
    K::Http,
    K::Exec,
];
const L4: &[CapabilityKind] = &CapabilityKind::ALL;

static CEILINGS: [Ceiling; 6] = [
    Ceiling {
        kinds: &[],
        limits: Limits::DEFAULT,
    },
    Ceiling {
        kinds: L1,
        limits: Limits {
            memory: GIB,
            deadline: Duration::from_secs(120),
            max_result: 4 * MIB,
            max_output: 4 * MIB,
        },
    },
    Ceiling {
        kinds: L2,
        limits: Limits {
            memory: 2 * GIB,
            deadline: Duration::from_secs(300),
            max_result: 16 * MIB,
            max_output: 16 * MIB,
        },
    },
    Ceiling {
        kinds: L3,
        limits: Limits {
            memory: 2 * GIB,
            deadline: Duration::from_secs(600),
            max_result: 16 * MIB,
            max_output: 16 * MIB,
        },
    },
    Ceiling {
        kinds: L4,
        limits: Limits {
            memory: 4 * GIB,
            deadline: Duration::from_secs(1800),
            max_result: 64 * MIB,
            max_output: 64 * MIB,
        },
    },
    Ceiling {
        kinds: L4,
        limits: Limits {
            memory: 4 * GIB,
            deadline: Duration::from_secs(3600),
            max_result: 256 * MIB,
            max_output: 256 * MIB,
        },
    },
];

impl TrustLevel {
    pub const ALL: [TrustLevel; 6] = [
        Self::Untrusted,
        Self::ReadOnly,
        Self::Draft,
        Self::AutoMerge,
        Self::Scoped,
        Self::Full,
    ];

    pub fn ceiling(self) -> &'static Ceiling {
        &CEILINGS[self as usize]
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Untrusted => "untrusted",
            Self::ReadOnly => "read-only",
            Self::Draft => "draft",
            Self::AutoMerge => "auto-merge",
            Self::Scoped => "scoped",
            Self::Full => "full",
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.get(n as usize).copied()
    }
}

impl fmt::Display for TrustLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.number())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown trust level `{0}`: use a number 0-5 or a name: untrusted, read-only, draft, auto-merge, scoped, full"
)]
pub struct BadTrustLevel(pub String);

impl FromStr for TrustLevel {
    type Err = BadTrustLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        if let Ok(n) = t.parse::<u8>() {
            return Self::from_number(n).ok_or_else(|| BadTrustLevel(s.to_string()));
        }
        Self::ALL
            .into_iter()
            .find(|l| {
                l.name() == t
                    || (t == "automerge" && *l == Self::AutoMerge)
                    || (t == "readonly" && *l == Self::ReadOnly)
            })
            .ok_or_else(|| BadTrustLevel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_by_name_and_number() {
        assert_eq!("3".parse::<TrustLevel>().unwrap(), TrustLevel::AutoMerge);
        assert_eq!(
            "read-only".parse::<TrustLevel>().unwrap(),
            TrustLevel::ReadOnly
        );
        assert_eq!("FULL".parse::<TrustLevel>().unwrap(), TrustLevel::Full);
        assert!("6".parse::<TrustLevel>().is_err());
        assert!("root".parse::<TrustLevel>().is_err());
    }

    #[test]
    fn ceilings_only_grow_up_the_ladder() {
        for pair in TrustLevel::ALL.windows(2) {
            let (lo, hi) = (pair[0].ceiling(), pair[1].ceiling());
            assert!(
                lo.kinds.iter().all(|k| hi.allows(*k)),
                "{:?} ⊄ {:?}",
                pair[0],
                pair[1]
            );
            assert_eq!(lo.limits.min(hi.limits), lo.limits);
        }
        for kind in CapabilityKind::ALL {
            let min = kind.min_level();
            assert!(min.ceiling().allows(kind));
            if let Some(below) = TrustLevel::from_number(min.number().wrapping_sub(1)) {
                assert!(!below.ceiling().allows(kind), "{kind} allowed below {min}");
            }
        }
        assert!(TrustLevel::Untrusted.ceiling().kinds.is_empty());
        assert_eq!(TrustLevel::Untrusted.ceiling().limits, Limits::DEFAULT);
    }
}
