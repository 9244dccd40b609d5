//! The pipeline a run follows, resolved once from its configuration
//! (factory.toml, the CLI's overrides, the operator's policy) and the
//! installed roles: checked before a run starts and again before it
//! resumes, and described for `runs show` and the report, so a reader sees
//! the roles, the feedback edges and the gates the run was held to.

use super::RunError;
use super::config::{Config, FeedbackEdge, Reach};
use crate::runtime::Host;
use factory_policy::RoleKind;

/// The role plugins a run with `cfg` uses, each installed, a role, and of
/// its kind; Err names the first that is not.
pub fn check_roles(host: &Host, cfg: &Config) -> Result<(), RunError> {
    for (kind, name) in roles(cfg) {
        let found = host
            .registry()
            .get(name)
            .map_err(|e| RunError::Setup(e.to_string()))?;
        let why = match found {
            None => format!("no plugin named `{name}` is installed (see `factory plugin list`)"),
            Some(p) if p.world != crate::registry::World::Role => {
                format!("`{name}` is a {}, not a role", p.world.noun())
            }
            Some(p) if p.kind != kind.name() => {
                format!("`{name}` is a {} role, not a {}", p.kind, kind.name())
            }
            Some(_) => continue,
        };
        return Err(RunError::Setup(format!(
            "factory.toml [roles] {} = \"{name}\": {why}",
            kind.name()
        )));
    }
    Ok(())
}

/// The roles a run with `cfg` calls: the deployer only when it deploys.
fn roles(cfg: &Config) -> Vec<(RoleKind, &str)> {
    RoleKind::ALL
        .into_iter()
        .filter(|k| match k {
            RoleKind::Reviewer => cfg.pipeline.review,
            RoleKind::Documenter => cfg.pipeline.docs,
            RoleKind::Deployer => cfg.trust == Reach::Full,
            _ => true,
        })
        .map(|k| (k, cfg.roles.plugin(k)))
        .collect()
}

fn edge(e: FeedbackEdge) -> &'static str {
    match e {
        FeedbackEdge::Coder => "back to the coder",
        FeedbackEdge::Stop => "stop (blocked)",
    }
}

/// The pipeline in words, one line per stage.
pub fn describe(cfg: &Config) -> Vec<String> {
    let p = &cfg.pipeline;
    let r = &cfg.roles;
    let b = &cfg.budget;
    let g = &cfg.gates;
    let tests = if cfg.test.command.trim().is_empty() {
        "no [test] command".to_string()
    } else {
        format!("`{}`", cfg.test.command)
    };
    let mut v = vec![
        format!("plan: architect `{}`", r.architect),
        format!(
            "each subtask ({} at once): coder `{}`, then tester `{}` runs {tests}; failing tests: {}; at most {} attempts",
            p.parallel,
            r.coder,
            r.tester,
            edge(p.on_test_failure),
            b.max_attempts
        ),
        format!(
            "integration: tester `{}` on the merged change; failing tests: {}",
            r.tester,
            edge(p.on_test_failure)
        ),
    ];
    v.push(if p.review {
        format!(
            "review: reviewer `{}`; changes requested: {}",
            r.reviewer,
            edge(p.on_changes_requested)
        )
    } else {
        "review: off (the review-approved gate cannot pass)".into()
    });
    v.push(if p.docs {
        format!(
            "docs: documenter `{}`, documentation paths only",
            r.documenter
        )
    } else {
        "docs: off".into()
    });
    let mut gates = Vec::new();
    if g.tests_pass {
        gates.push("tests-pass".to_string());
    }
    if g.tests_not_weakened {
        gates.push("tests-not-weakened (when it may merge)".into());
    }
    if g.review_approved {
        gates.push("review-approved".into());
    }
    gates.push(format!(
        "diff-size (≤ {} lines, {} bytes, {} files)",
        g.max_diff_lines, g.max_diff_bytes, g.max_changed_files
    ));
    gates.push(format!(
        "forbidden-paths ({} globs)",
        g.forbidden_paths.len()
    ));
    v.push(format!("gates: {}", gates.join(", ")));
    v.push(format!(
        "delivery: trust {}: {}",
        cfg.trust.name(),
        match cfg.trust {
            Reach::ReadOnly => "a suggested patch".to_string(),
            Reach::Draft => "a branch and a pull-request record".into(),
            Reach::AutoMerge => "merged if the gates pass and every path is low-risk".into(),
            Reach::Scoped => "merged if the gates pass and every path is in scope".into(),
            Reach::Full => format!(
                "merged as scoped, then deployed by deployer `{}`",
                r.deployer
            ),
        }
    ));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_reads_as_configured() {
        let cfg = Config::parse(
            "trust = \"auto-merge\"\n[pipeline]\non_test_failure = \"stop\"\ndocs = false\n",
            "factory.toml",
        )
        .unwrap();
        let d = describe(&cfg);
        assert!(d[1].contains("failing tests: stop (blocked)"), "{d:#?}");
        assert!(d[2].contains("failing tests: stop (blocked)"), "{d:#?}");
        assert!(
            d[3].contains("changes requested: back to the coder"),
            "{d:#?}"
        );
        assert_eq!(d[4], "docs: off");
        assert!(d[6].starts_with("delivery: trust auto-merge"), "{d:#?}");
        assert!(
            !roles(&cfg).iter().any(|(k, _)| *k == RoleKind::Documenter),
            "a run without docs does not need a documenter"
        );
    }
}
