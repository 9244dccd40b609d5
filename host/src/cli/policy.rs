//! `factory policy`: the operator's limits on what a repository's
//! `factory.toml` may ask for (`$FACTORY_HOME/policy.toml`).

use super::{EXIT_USAGE, Failure, fail, print_json};
use anyhow::{Context, anyhow};
use clap::Subcommand;
use factory_host::orchestrator::config::Reach;
use factory_host::orchestrator::operator::{Caps, Limits, Policy};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// What is in force: for one repository (`--repo`), or the whole file.
    Show {
        /// A repository (its top directory or a path inside it).
        #[arg(long)]
        repo: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Set limits for one repository (`--repo`) or for every repository not
    /// named (the default). What is not given is left as it is.
    ///
    /// Without a policy, a repository's factory.toml may ask for trust
    /// `draft` at most, use $OPENAI_API_KEY or $ANTHROPIC_API_KEY as its
    /// model key, and send that key to the provider's own URL or to a
    /// loopback server only. `factory run --trust LEVEL` always stands.
    Set {
        #[arg(long)]
        repo: Option<PathBuf>,
        /// The highest trust the repository's factory.toml may choose:
        /// read-only, draft, auto-merge, scoped, full.
        #[arg(long, value_parser = super::run::parse_trust)]
        max_trust: Option<Reach>,
        /// An environment variable the repository may name as its model
        /// key (`[model] api_key_env`); repeat for more. Replaces the list.
        #[arg(long, value_name = "VAR")]
        allow_key_env: Vec<String>,
        /// A model base URL the repository may send requests (and the key)
        /// to, besides the providers' own and loopback; repeat for more.
        /// Replaces the list.
        #[arg(long, value_name = "URL")]
        allow_base_url: Vec<String>,
        /// A ceiling on a budget or size cap: the repository's factory.toml
        /// may set it lower, never higher, and cannot turn it off. Repeat
        /// for more. NAME is one of max_attempts, max_tokens, max_cost_usd,
        /// max_wall (e.g. 2h), max_step_write_bytes, max_step_files,
        /// max_file_bytes, max_diff_lines, max_diff_bytes,
        /// max_changed_files. Unset: the built-in defaults.
        #[arg(long, value_name = "NAME=VALUE", value_parser = Caps::parse_one)]
        cap: Vec<Caps>,
    },
}

pub fn run(cmd: PolicyCommand) -> Result<(), Failure> {
    let home = factory_host::Home::from_env().context("cannot use the factory home")?;
    let root = home.root().to_path_buf();
    let policy = Policy::load(&root).map_err(|e| fail(EXIT_USAGE, e.into()))?;
    match cmd {
        PolicyCommand::Show { repo, json } => {
            let Some(repo) = repo else {
                if json {
                    return print_json(&policy);
                }
                print!(
                    "{}",
                    toml::to_string_pretty(&policy).context("cannot show the policy")?
                );
                return Ok(());
            };
            let top = repo_top(&repo)?;
            let eff = policy.effective(&top);
            if json {
                return print_json(&eff);
            }
            println!("repository: {}", top.display());
            println!("from:       {}", eff.source);
            println!("max trust:  {}", eff.max_trust.name());
            println!("key vars:   {}", eff.key_envs.join(", "));
            println!(
                "base URLs:  the providers' own, loopback{}",
                eff.base_urls
                    .iter()
                    .map(|u| format!(", {u}"))
                    .collect::<String>()
            );
            let c = &eff.caps;
            println!(
                "caps:       attempts {}, tokens {}, cost ${}, wall {}",
                c.max_attempts,
                c.max_tokens,
                c.max_cost_usd,
                humantime::format_duration(c.max_wall)
            );
            println!(
                "            per step: {} bytes written, {} files created, {} bytes a file",
                c.max_step_write_bytes, c.max_step_files, c.max_file_bytes
            );
            println!(
                "            per change: {} lines, {} bytes, {} files",
                c.max_diff_lines, c.max_diff_bytes, c.max_changed_files
            );
            Ok(())
        }
        PolicyCommand::Set {
            repo,
            max_trust,
            allow_key_env,
            allow_base_url,
            cap,
        } => {
            if max_trust.is_none()
                && allow_key_env.is_empty()
                && allow_base_url.is_empty()
                && cap.is_empty()
            {
                return Err(fail(
                    EXIT_USAGE,
                    anyhow!(
                        "nothing to set: give --max-trust, --allow-key-env, --allow-base-url or --cap"
                    ),
                ));
            }
            for u in &allow_base_url {
                url::Url::parse(u)
                    .map_err(|e| fail(EXIT_USAGE, anyhow!("--allow-base-url {u}: {e}")))?;
            }
            let (key, name) = match &repo {
                Some(r) => {
                    let key = Policy::key(&repo_top(r)?);
                    (Some(key.clone()), format!("repository {key}"))
                }
                None => (None, "the default".to_string()),
            };
            Policy::update(&root, |policy| {
                let limits: &mut Limits = match key {
                    Some(k) => policy.repo.entry(k).or_default(),
                    None => &mut policy.default,
                };
                if let Some(t) = max_trust {
                    limits.max_trust = Some(t);
                }
                if !allow_key_env.is_empty() {
                    limits.key_envs = Some(allow_key_env);
                }
                if !allow_base_url.is_empty() {
                    limits.base_urls = Some(allow_base_url);
                }
                for c in cap {
                    limits.caps.merge(c);
                }
            })
            .map_err(|e| fail(super::EXIT_INTERNAL, e.into()))?;
            println!(
                "policy for {name} saved in {}",
                root.join("policy.toml").display()
            );
            Ok(())
        }
    }
}

/// The repository's top directory, or a usage error saying it is not one.
fn repo_top(path: &std::path::Path) -> Result<PathBuf, Failure> {
    factory_host::orchestrator::git::open_repo(path).map_err(|e| {
        fail(
            EXIT_USAGE,
            anyhow!("{} is not a git repository: {}", path.display(), e.message),
        )
    })
}
