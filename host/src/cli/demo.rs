//! `factory demo`: the whole loop on the example project in `examples/`,
//! offline. The project, the issue and the recorded model session are
//! embedded in this binary; they are written to a fresh git repository and
//! run like any other (`factory run ISSUE --repo DIR`).

use super::{EXIT_INTERNAL, Failure, fail};
use anyhow::{Context, anyhow};
use clap::Args;
use factory_host::orchestrator::config::Reach;
use factory_host::orchestrator::git;
use factory_host::orchestrator::operator::{Limits, Policy};
use std::path::PathBuf;

const FILES: &[(&str, &str)] = &[
    (
        "calc/calc.py",
        include_str!("../../../examples/calc/calc.py"),
    ),
    (
        "calc/test_calc.py",
        include_str!("../../../examples/calc/test_calc.py"),
    ),
    (
        "calc/README.md",
        include_str!("../../../examples/calc/README.md"),
    ),
    (
        "calc/factory.toml",
        include_str!("../../../examples/calc/factory.toml"),
    ),
    (
        "calc/.gitignore",
        include_str!("../../../examples/calc/.gitignore"),
    ),
    (
        "calc-issue.json",
        include_str!("../../../examples/calc-issue.json"),
    ),
    (
        "calc-session.json",
        include_str!("../../../examples/calc-session.json"),
    ),
];

#[derive(Args)]
pub struct DemoArgs {
    /// Where to create the example repository (default: a new directory
    /// under $FACTORY_HOME/demo).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// The one line that installs everything the README names (Debian 12).
pub const APT_LINE: &str = "apt-get install -y git python3 python3-venv bubblewrap build-essential make nodejs npm docker-registry clang lld wasi-libc libclang-rt-14-dev-wasm32";

/// What the demo needs on this machine that is not there, each with how to
/// get it: git (the repository), /usr/bin/python3 (the example's tests)
/// and a working bubblewrap (the sandbox the tests run in).
pub fn missing_prerequisites() -> Vec<String> {
    use factory_host::caps::exec;
    let mut missing = Vec::new();
    if exec::which("git").is_none() {
        missing.push("git is not installed (apt-get install git)".to_string());
    }
    if !std::path::Path::new("/usr/bin/python3").is_file() {
        missing.push(
            "/usr/bin/python3 is missing: the example project's tests run with it (apt-get install python3)"
                .to_string(),
        );
    }
    if let Err(why) = exec::sandbox_available() {
        missing.push(format!("the test sandbox cannot start: {why}"));
    }
    missing
}

pub async fn run(a: DemoArgs) -> Result<(), Failure> {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        return Err(fail(
            super::EXIT_USAGE,
            anyhow!(
                "the demo needs what this machine lacks:\n  - {}\non Debian, everything factory uses is:\n  {APT_LINE}",
                missing.join("\n  - ")
            ),
        ));
    }
    let host = super::open_host()?;
    let dir = match a.dir {
        Some(d) => d,
        None => {
            let base = host.home().root().join("demo");
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            (0..)
                .map(|n| base.join(format!("{secs}-{n}")))
                .find(|d| !d.exists())
                .unwrap_or(base)
        }
    };
    if dir.join("calc").exists() {
        return Err(anyhow!(
            "{} already exists; pass another --dir",
            dir.join("calc").display()
        )
        .into());
    }
    for (path, text) in FILES {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap_or(&dir))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let repo = dir.join("calc");
    let setup = git::init_repo(&repo, "main")
        .and_then(|_| git::git(&repo, &["add", "-A"]))
        .and_then(|_| git::git(&repo, &["commit", "-q", "-m", "calc: divide and mean"]));
    setup.map_err(|e| {
        fail(
            EXIT_INTERNAL,
            anyhow!("cannot set up the example repository: {e}"),
        )
    })?;
    // The example's factory.toml asks for trust `scoped`; a repository gets
    // no more than the operator allows, and `factory demo` is the operator
    // allowing it for the repository it just made.
    Policy::update(host.home().root(), |p| {
        p.repo.insert(
            Policy::key(&repo),
            Limits {
                max_trust: Some(Reach::Scoped),
                ..Default::default()
            },
        );
    })?;
    if !a.json {
        println!("Example project: {} (a git repository)", repo.display());
        println!(
            "Spec: {} (a GitHub issue)",
            dir.join("calc-issue.json").display()
        );
        println!(
            "Model: replies replayed from {} (no network, no API key)",
            dir.join("calc-session.json").display()
        );
        println!(
            "Policy: this repository may merge at trust scoped, set by the demo in {} (factory policy show --repo {})\n",
            host.home().root().join("policy.toml").display(),
            repo.display()
        );
    }
    super::run::run_with(
        &host,
        factory_host::orchestrator::RunOptions {
            repo: repo.clone(),
            spec: dir.join("calc-issue.json"),
            progress: super::run::progress_sink(false, a.json),
            ..Default::default()
        },
        a.json,
    )
    .await?;
    if !a.json {
        println!(
            "\nThe change is on main: git -C {} log --stat -3",
            repo.display()
        );
    }
    Ok(())
}
