//! What a delivered run produced, typed: how far the change went, the gates
//! and their evidence, where the patch, branch and pull-request record
//! are. Stored with the run and printed by `run --json` as it reads here.

use factory_types::roles::DeployerOutput;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How far a change went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// A suggested patch; nothing stays in the repository.
    Patch,
    /// The run's branch and a pull-request record, for a human.
    Draft,
    /// Merged into the target branch.
    Merged,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Patch => "patch",
            Delivery::Draft => "draft",
            Delivery::Merged => "merged",
        }
    }
}

/// One gate's verdict and the host's evidence for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub name: String,
    pub passed: bool,
    pub evidence: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's delivery trust level.
    pub trust: String,
    pub gates: Vec<GateResult>,
    pub gates_pass: bool,
    pub changed: Vec<String>,
    /// The whole change as a patch file.
    pub patch: PathBuf,
    pub branch: String,
    /// The commit the gates saw.
    pub tip: String,
    pub delivery: Delivery,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PathBuf>,
    /// Why a change that could have merged did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_merged: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployerOutput>,
    /// A human's decision on a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// A human's decision on a draft (`approved` or `rejected`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Decision {
    pub action: String,
    /// Who decided, as the interface they used names them.
    pub by: String,
    /// When (ms since the epoch).
    pub at: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}
