//! The run's states, typed: what a run and each of its tasks can be, and
//! the fixed phases around the subtasks. Stored as the same words they
//! print as (`runs show --json` and the database read alike).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};

macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($(#[$vdoc])* $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| format!("`{s}` is not a {}", stringify!($name)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                v.as_str()?
                    .parse()
                    .map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}

words!(
    /// Where a run is.
    RunStatus {
        Running = "running",
        /// Delivered (patch, draft, merged or deployed).
        Done = "done",
        /// Stopped for a human: a loop that repeats, a budget, a stop edge.
        Blocked = "blocked",
        /// Stopped by an error.
        Failed = "failed",
    }
);

words!(
    /// Where one task (a subtask or a phase) is.
    TaskStatus {
        Pending = "pending",
        /// Running now; found so after a crash, its attempt is redone.
        InFlight = "in-flight",
        /// A subtask whose tests passed, waiting to merge.
        Passed = "passed",
        Done = "done",
        Blocked = "blocked",
        Failed = "failed",
    }
);

/// The fixed phases of a run, around the plan's subtasks: their task ids
/// and their order among the tasks (subtasks sit between plan and
/// integration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Plan,
    Integrate,
    Review,
    Docs,
}

impl Phase {
    pub fn id(self) -> &'static str {
        match self {
            Phase::Plan => "@plan",
            Phase::Integrate => "@integrate",
            Phase::Review => "@review",
            Phase::Docs => "@docs",
        }
    }

    pub fn seq(self) -> i64 {
        match self {
            Phase::Plan => 0,
            Phase::Integrate => 90,
            Phase::Review => 91,
            Phase::Docs => 92,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Phase::Plan => "plan",
            Phase::Integrate => "integration tests",
            Phase::Review => "review",
            Phase::Docs => "documentation",
        }
    }
}

/// Timeline ids that are not tasks: the run itself, the gates, delivery
/// and deployment.
pub const RUN: &str = "@run";
pub const GATES: &str = "@gates";
pub const DELIVER: &str = "@deliver";
pub const DEPLOY: &str = "@deploy";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_they_print() {
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("inflight".parse::<TaskStatus>().is_err());
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let back: TaskStatus = c
            .query_row("SELECT ?1", [TaskStatus::InFlight], |r| r.get(0))
            .unwrap();
        assert_eq!(back, TaskStatus::InFlight);
        let bad: rusqlite::Result<RunStatus> = c.query_row("SELECT 'odd'", [], |r| r.get(0));
        assert!(bad.is_err());
    }
}
