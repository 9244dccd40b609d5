//! `factory key` and `factory signer`: the keys this operator signs plugins
//! with, and the signers whose plugins this factory accepts.

use super::{Failure, open_host, print_json};
use clap::Subcommand;
use factory_host::journal::EventRecord;
use factory_supply::keys::KeyPair;
use factory_supply::{PublicKey, Signers};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Make an Ed25519 key pair NAME. The private key goes under
    /// $FACTORY_HOME/keys (0600, never overwritten); the public key is
    /// printed as `ed25519:<base64>`, for `factory signer add` on the
    /// machines that install what you sign.
    Generate { name: String },
    /// Print the public key of NAME.
    Show { name: String },
}

#[derive(Subcommand)]
pub enum SignerCommand {
    /// Trust PUBKEY (`ed25519:<base64>`) as NAME: plugins it signed install
    /// from OCI. With --scope, only for references matching PATTERN
    /// (HOST[:PORT]/PATH, `*` matching any run of characters, e.g.
    /// `ghcr.io/acme/*`).
    Add {
        name: String,
        pubkey: String,
        #[arg(long, value_name = "PATTERN")]
        scope: Option<String>,
    },
    /// The trusted signers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting NAME (installed plugins stay; updates need another
    /// trusted signer).
    Remove { name: String },
}

pub fn key(cmd: KeyCommand) -> Result<(), Failure> {
    let home = factory_host::Home::from_env()?;
    match cmd {
        KeyCommand::Generate { name } => {
            let k = KeyPair::generate(&home, &name)?;
            eprintln!(
                "key `{name}`: private key in {} (keep it there; 0600)",
                home.root()
                    .join("keys")
                    .join(format!("{name}.key"))
                    .display()
            );
            println!("{}", k.public());
        }
        KeyCommand::Show { name } => println!("{}", KeyPair::load(&home, &name)?.public()),
    }
    Ok(())
}

pub fn signer(cmd: SignerCommand) -> Result<(), Failure> {
    let host = open_host()?;
    let mut signers = Signers::load(host.home())?;
    let record = |name: &str, message: String| {
        host.journal()
            .event(EventRecord::new(name, "signer", message));
        host.journal().flush();
    };
    match cmd {
        SignerCommand::Add {
            name,
            pubkey,
            scope,
        } => {
            let s = signers.add(&name, &pubkey, scope.as_deref())?;
            let fp = PublicKey::parse(&s.key)?.fingerprint();
            let scope = s.scope.as_deref().unwrap_or("every reference");
            record(&name, format!("signer {name} ({fp}) trusted for {scope}"));
            println!("trusted signer `{name}` ({fp}) for {scope}");
        }
        SignerCommand::List { json } => {
            let list = signers.list();
            if json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "name": s.name,
                            "key": s.key,
                            "fingerprint": s.public().map(|p| p.fingerprint()).unwrap_or_default(),
                            "scope": s.scope,
                        })
                    })
                    .collect();
                return print_json(&rows);
            }
            if list.is_empty() {
                println!("no trusted signers (add one with `factory signer add NAME ed25519:...`)");
            }
            for s in list {
                println!(
                    "{:<16} {}  {}",
                    s.name,
                    s.public().map(|p| p.fingerprint()).unwrap_or_default(),
                    s.scope.as_deref().unwrap_or("(every reference)")
                );
            }
        }
        SignerCommand::Remove { name } => {
            signers.remove(&name)?;
            record(&name, format!("signer {name} no longer trusted"));
            println!("removed signer `{name}`");
        }
    }
    Ok(())
}
