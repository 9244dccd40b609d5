//! `factory plugin ...`: the only way to change what a plugin may do.

use super::{Failure, open_host};
use anyhow::bail;
use clap::{Args, Subcommand};
use factory_host::TrustLevel;
use factory_host::grants::Grant;
use factory_host::policy::LimitOverrides;
use std::path::PathBuf;

const INSTALL_HELP: &str = "\
A plugin may declare what it needs in a permission manifest (plugin.toml,
embedded in the component by `factory plugin push --manifest`, or given to a
local install with --manifest):

  [permissions]
  trust = \"draft\"              # optional: at least what the requests need
  read = [\"{workdir}\"]          # {workdir}: --workdir, default the current dir
  write = [\"{workdir}/out\"]     # {home}: your home directory
  net = [\"https://api.github.com\"]
  exec = [\"git\"]
  env = [\"GITHUB_TOKEN\"]
  tools = [\"fetch-url\"]
  models = [\"*\"]

Install prints it. Nothing is granted without --accept; with it, every request
is granted within --trust's ceiling, and a request above it refuses the
install, naming the level that would allow it.

Examples:
  factory plugin install ./tool.wasm --trust draft --manifest plugin.toml --accept
  factory plugin install oci://ghcr.io/acme/fetch:1.2 --trust draft --accept
  factory plugin export-lock > plugins.lock
  factory plugin install --lock plugins.lock";

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Install a component (a tool or a role): validate, digest, precompile,
    /// store. Shows what it asks for (its permission manifest); grants it
    /// only with --accept.
    #[command(after_help = INSTALL_HELP)]
    Install {
        /// The component file (.wasm), or `oci://HOST[:PORT]/REPOSITORY:TAG`
        /// (or `@sha256:...`) to install from a registry: resolved to a
        /// digest once, and installed only if a trusted signer whose scope
        /// covers the reference signed that digest (`factory signer add`).
        #[arg(required_unless_present = "lock")]
        file: Option<PathBuf>,
        /// Reproduce the set in a lock file (`factory plugin export-lock`):
        /// every plugin by digest, with its trust, grants and limits.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["file", "name", "trust", "force", "accept", "manifest"])]
        lock: Option<PathBuf>,
        /// Name to install under (default: the name the tool describes).
        #[arg(long)]
        name: Option<String>,
        /// Trust level, by name or number 0-5 (default: untrusted).
        #[arg(long)]
        trust: Option<TrustLevel>,
        /// Replace a different component installed under the same name.
        #[arg(long)]
        force: bool,
        /// Grant what the plugin asks for, within --trust's ceiling (a
        /// request above it refuses the install, naming the level).
        #[arg(long)]
        accept: bool,
        /// A local file's permission manifest (plugin.toml); default: the
        /// one embedded in the component, if any.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// What `{workdir}` in the requests stands for (default: the
        /// current directory).
        #[arg(long, value_name = "DIR")]
        workdir: Option<PathBuf>,
        /// Install from OCI without a valid signature: printed, journaled,
        /// never the default.
        #[arg(long)]
        allow_unsigned: bool,
        /// Registry credentials, in Docker's config.json format (default:
        /// $DOCKER_CONFIG/config.json or ~/.docker/config.json).
        #[arg(long, value_name = "FILE")]
        registry_auth_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Push a component to an OCI registry (REF: HOST[:PORT]/REPOSITORY:TAG)
    /// in the CNCF wasm layout, signed with --sign KEY; prints the
    /// manifest digest.
    Push {
        file: PathBuf,
        reference: String,
        /// The key to sign with (`factory key generate NAME`).
        #[arg(long, value_name = "KEY")]
        sign: Option<String>,
        /// A permission manifest (plugin.toml) to embed in the component
        /// before pushing, so the digest and the signature cover it.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// Registry credentials, in Docker's config.json format.
        #[arg(long, value_name = "FILE")]
        registry_auth_file: Option<PathBuf>,
    },
    /// Re-resolve the tag a plugin was installed from; show what changed
    /// (digest, signer, requested permissions) and install it after the
    /// same checks as an install. A new request needs --accept.
    Update {
        name: String,
        /// Grant what the new version asks for (within the plugin's trust).
        #[arg(long)]
        accept: bool,
        /// Show what changed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Accept a new version without a valid signature (journaled).
        #[arg(long)]
        allow_unsigned: bool,
        /// What `{workdir}` in the requests stands for.
        #[arg(long, value_name = "DIR")]
        workdir: Option<PathBuf>,
        /// Registry credentials, in Docker's config.json format.
        #[arg(long, value_name = "FILE")]
        registry_auth_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Print a lock of the installed plugins (by digest, with trust, grants
    /// and limits) for `factory plugin install --lock`.
    ExportLock,
    /// Grant capabilities. Each is refused if the plugin's trust level is too low.
    Grant(GrantArgs),
    /// Revoke capabilities (the same flags as grant, or --all).
    Revoke {
        #[command(flatten)]
        grants: GrantArgs,
        /// Revoke every grant.
        #[arg(long)]
        all: bool,
    },
    /// Set a plugin's trust level (by name or number 0-5).
    Trust { name: String, level: TrustLevel },
    /// Set a plugin's resource limits (within its trust level's ceiling).
    Limits {
        name: String,
        /// Linear memory, MiB.
        #[arg(long, value_name = "MIB")]
        memory: Option<u64>,
        /// Deadline per call, seconds.
        #[arg(long, value_name = "SECONDS")]
        deadline: Option<u64>,
        /// Largest result, bytes.
        #[arg(long, value_name = "BYTES")]
        max_result: Option<u64>,
        /// Largest captured stdout/stderr, bytes.
        #[arg(long, value_name = "BYTES")]
        max_output: Option<u64>,
        /// Back to the defaults.
        #[arg(long)]
        reset: bool,
    },
    /// List plugins.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Digest, world, imports, trust, effective grants and what was cut and why.
    Inspect {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a plugin, its grants and its key-value data.
    Remove { name: String },
}

#[derive(Args)]
pub struct GrantArgs {
    name: String,
    /// A directory, read-only, visible at the same path in the guest.
    #[arg(long, value_name = "DIR")]
    read: Vec<String>,
    /// A directory, read-write.
    #[arg(long, value_name = "DIR")]
    write: Vec<String>,
    /// https://host[:port], http://host[:port], tcp://host:port, udp://host:port or dns://name.
    #[arg(long, value_name = "URL")]
    net: Vec<String>,
    /// A program for the exec sandbox (bare name on PATH, or absolute path).
    #[arg(long, value_name = "PROGRAM")]
    exec: Vec<String>,
    /// A host environment variable the guest may read.
    #[arg(long, value_name = "NAME")]
    env: Vec<String>,
    /// Another tool this plugin may call.
    #[arg(long, value_name = "NAME")]
    tool: Vec<String>,
    /// A model this plugin may call ('*' for any).
    #[arg(long, value_name = "NAME")]
    model: Vec<String>,
}

impl GrantArgs {
    /// Parse every flag; `strict` also checks that directories/programs exist.
    fn parse(&self, strict: bool) -> anyhow::Result<Vec<Grant>> {
        let mut out = Vec::new();
        for d in &self.read {
            out.push(if strict {
                Grant::dir(d, false)?
            } else {
                Grant::Read(std::fs::canonicalize(d).unwrap_or(d.into()))
            });
        }
        for d in &self.write {
            out.push(if strict {
                Grant::dir(d, true)?
            } else {
                Grant::Write(std::fs::canonicalize(d).unwrap_or(d.into()))
            });
        }
        for n in &self.net {
            out.push(Grant::Net(n.parse()?));
        }
        for p in &self.exec {
            out.push(if strict {
                Grant::program(p)?
            } else {
                Grant::Exec(p.clone())
            });
        }
        for e in &self.env {
            out.push(Grant::env(e)?);
        }
        for t in &self.tool {
            out.push(Grant::tool(t)?);
        }
        for m in &self.model {
            out.push(Grant::model(m)?);
        }
        Ok(out)
    }
}

pub async fn run(cmd: PluginCommand) -> Result<(), Failure> {
    let host = open_host()?;
    let reg = host.registry();
    let result: anyhow::Result<()> = async { match cmd {
        PluginCommand::Install { file, lock, name, trust, force, accept, manifest, workdir, allow_unsigned, registry_auth_file, json } => {
            if let Some(lock) = lock {
                let a = super::supply::LockInstall { allow_unsigned, registry_auth_file: registry_auth_file.as_deref(), json };
                return super::supply::install_lock(&host, &lock, a).await.map_err(|f| f.error);
            }
            let Some(file) = file else { bail!("give the component to install (FILE or oci://REF), or --lock FILE") };
            let trust = trust.unwrap_or(TrustLevel::Untrusted);
            let a = super::supply::Install { name, trust, force, accept, allow_unsigned, manifest, workdir, registry_auth_file, json };
            super::supply::install(&host, &file, a).await.map_err(|f| f.error)
        }
        PluginCommand::Push { file, reference, sign, manifest, registry_auth_file } => {
            let p = super::supply::Push {
                file: &file,
                reference: &reference,
                sign: sign.as_deref(),
                manifest: manifest.as_deref(),
                registry_auth_file: registry_auth_file.as_deref(),
            };
            super::supply::push(&host, p).await.map_err(|f| f.error)
        }
        PluginCommand::Update { name, accept, dry_run, allow_unsigned, workdir, registry_auth_file, json } => {
            let a = super::supply::Update { accept, allow_unsigned, dry_run, workdir, registry_auth_file, json };
            super::supply::update(&host, &name, a).await.map_err(|f| f.error)
        }
        PluginCommand::ExportLock => {
            print!("{}", super::supply::export_lock(&host)?);
            Ok(())
        }
        PluginCommand::Grant(args) => {
            let grants = args.parse(true)?;
            if grants.is_empty() {
                bail!("nothing to grant: give at least one of --read, --write, --net, --exec, --env, --tool, --model");
            }
            reg.grant(&args.name, &grants)?;
            for g in &grants {
                println!("granted {} {}", args.name, g.flag());
            }
            Ok(())
        }
        PluginCommand::Revoke { grants: args, all } => {
            if all {
                let n = reg.revoke_all(&args.name)?;
                println!("revoked {n} grants of {}", args.name);
            } else {
                let grants = args.parse(false)?;
                if grants.is_empty() {
                    bail!("nothing to revoke: give the grants to remove, or --all");
                }
                let n = reg.revoke(&args.name, &grants)?;
                if n < grants.len() {
                    eprintln!("note: {} of the given grants were not held", grants.len() - n);
                }
                println!("revoked {n} grants of {}", args.name);
            }
            Ok(())
        }
        PluginCommand::Trust { name, level } => {
            let old = reg.set_trust(&name, level)?;
            println!("{name}: trust {old} -> {level}");
            let p = reg.policy(&reg.require(&name)?)?;
            for c in &p.cut {
                println!("  cut: {}", c.describe());
            }
            Ok(())
        }
        PluginCommand::Limits { name, memory, deadline, max_result, max_output, reset } => {
            let mut l = if reset { LimitOverrides::default() } else { reg.require(&name)?.limits };
            if let Some(m) = memory {
                l.memory = Some(m << 20);
            }
            if let Some(d) = deadline {
                l.deadline_ms = Some(d * 1000);
            }
            if max_result.is_some() {
                l.max_result = max_result;
            }
            if max_output.is_some() {
                l.max_output = max_output;
            }
            let want = l.requested();
            reg.set_limits(&name, &l)?;
            println!(
                "{name}: memory {} MiB, deadline {} s, result {} B, output {} B",
                want.memory >> 20,
                want.deadline.as_secs_f64(),
                want.max_result,
                want.max_output
            );
            Ok(())
        }
        PluginCommand::List { json } => {
            let list = reg.list()?;
            if json {
                return emit(&list);
            }
            let w = list.iter().map(|p| p.name.len()).max().unwrap_or(4).max(4);
            let k = list.iter().map(|p| p.kind.len()).max().unwrap_or(4).max(4);
            println!("{:<w$}  {:<13}  {:<k$}  {:<14}  {:<16}  SOURCE", "NAME", "WORLD", "KIND", "TRUST", "DIGEST");
            for p in list {
                println!(
                    "{:<w$}  {:<13}  {:<k$}  {:<14}  {:<16}  {}",
                    p.name,
                    p.world.as_str(),
                    if p.kind.is_empty() { "-" } else { &p.kind },
                    p.trust.to_string(),
                    &p.digest[..16],
                    if p.builtin { "built-in" } else { &p.source }
                );
            }
            Ok(())
        }
        PluginCommand::Inspect { name, json } => {
            let r = reg.require(&name)?;
            let grants = reg.grants(&name)?;
            let policy = reg.policy(&r)?;
            let effective = factory_host::runtime::effective_flags(&policy);
            // A role's step in a run: what the per-role table gives it
            // (cut further by this plugin's own trust).
            let role = factory_policy::RoleKind::from_name(&r.kind);
            if json {
                return emit(&serde_json::json!({
                    "plugin": r,
                    "grants": grants.iter().map(|g| g.flag()).collect::<Vec<_>>(),
                    "effective": effective,
                    "kv": policy.kv,
                    "limits": policy.limits,
                    "cut": policy.cut,
                    "run_step": role.map(|k| serde_json::json!({
                        "kind": k.name(),
                        "writes_worktree": k.writes(),
                        "tools": k.tools(),
                        "summary": k.describe(),
                    })),
                }));
            }
            println!("name:        {}", r.name);
            println!("world:       {}", r.world.as_str());
            if !r.kind.is_empty() {
                println!("kind:        {}", r.kind);
            }
            println!("digest:      sha256:{}", r.digest);
            println!("source:      {} ({} bytes)", r.source, r.size);
            if let Some(pinned) = r.source.strip_prefix("oci://")
                && let Some((reference, manifest)) = pinned.split_once('@')
            {
                println!("reference:   oci://{reference}");
                println!("manifest:    {manifest}");
            }
            if !r.signer.is_empty() {
                println!("signer:      {}", r.signer);
            }
            match factory_supply::permissions::Manifest::parse(&r.requested, "the recorded requests") {
                Ok(m) if !m.is_empty() => {
                    println!("asks for:    {} (needs trust {})", m.requests().iter().map(|q| q.to_string()).collect::<Vec<_>>().join(", "), m.min_trust());
                }
                _ => {}
            }
            println!("trust:       {}", r.trust);
            println!("description: {}", r.description);
            println!("imports:     {}", if r.imports.is_empty() { "(none recorded)".into() } else { r.imports.join(", ") });
            println!(
                "limits:      memory {} MiB, deadline {} s, result {} B, output {} B",
                policy.limits.memory >> 20,
                policy.limits.deadline.as_secs_f64(),
                policy.limits.max_result,
                policy.limits.max_output
            );
            println!("kv store:    {}", if policy.kv { "yes" } else { "no (needs read-only)" });
            println!("grants in force:");
            if effective.is_empty() {
                println!("  (none)");
            }
            for f in effective {
                println!("  {f}");
            }
            if let Some(k) = role {
                println!("in a run:    as {}: {}", k.name(), k.describe());
                println!("             (each within this plugin's trust, {})", r.trust);
            }
            if !policy.cut.is_empty() {
                println!("cut:");
                for c in &policy.cut {
                    println!("  {}", c.describe());
                }
            }
            Ok(())
        }
        PluginCommand::Remove { name } => {
            let r = reg.remove(&name, host.home())?;
            println!("removed {} (sha256 {})", r.name, r.digest);
            Ok(())
        }
    } }.await;
    host.journal().flush();
    result.map_err(Failure::from)
}

pub fn emit(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
