//! The signers an operator trusts (`$FACTORY_HOME/signers.toml`), each
//! optionally only for references matching a pattern, and the one check
//! that decides whether a plugin's signature is accepted.

use crate::keys::{KeyError, PublicKey};
use crate::signature::{Envelope, SignatureError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signature;
use factory_store::Home;
use factory_store::home::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SignersError {
    #[error("a signer named `{0}` is already trusted (remove it first to change it)")]
    Exists(String),
    #[error("no signer named `{0}` (see `factory signer list`)")]
    Unknown(String),
    #[error("`{0}` is not a signer name: use letters, digits, `-`, `_` and `.`")]
    BadName(String),
    #[error(
        "the scope `{0}` is not a reference pattern: HOST[:PORT]/PATH, where `*` matches any run of characters (e.g. ghcr.io/acme/*)"
    )]
    BadScope(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0} is not a signers file this factory wrote: {1}")]
    Corrupt(PathBuf, String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why a signature is not accepted, each case named as the operator needs
/// it to act.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error(
        "no signature: {0} is not signed (sign it with `factory plugin push --sign KEY`, or install with --allow-unsigned)"
    )]
    NoSignature(String),
    #[error(
        "signed by an unknown key {fingerprint}: no trusted signer has it (trust it with `factory signer add NAME ed25519:...`)"
    )]
    UnknownKey { fingerprint: String },
    #[error("signer `{signer}` is not allowed for {reference}: it is trusted only for `{scope}`")]
    OutOfScope {
        signer: String,
        scope: String,
        reference: String,
    },
    #[error("digest mismatch: the signature is for {signed}, the manifest is {actual}")]
    DigestMismatch { signed: String, actual: String },
    #[error("the signature is for {signed}, not {actual}")]
    WrongReference { signed: String, actual: String },
    #[error(
        "the signature of key {fingerprint} does not verify: the payload or the signature was altered"
    )]
    Invalid { fingerprint: String },
    #[error(transparent)]
    Malformed(#[from] SignatureError),
}

/// One trusted signer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Signer {
    #[serde(skip)]
    pub name: String,
    /// `ed25519:<base64>`.
    pub key: String,
    /// References it may sign for (`*` any run of characters); none: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Signer {
    pub fn public(&self) -> Result<PublicKey, KeyError> {
        PublicKey::parse(&self.key)
    }
    /// Whether it may sign for `reference` (`host/path`).
    pub fn covers(&self, reference: &str) -> bool {
        self.scope.as_deref().is_none_or(|p| glob(p, reference))
    }
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    signer: BTreeMap<String, Signer>,
}

/// The trusted signers, as stored.
pub struct Signers {
    path: PathBuf,
    file: File,
}

fn valid_name(name: &str) -> Result<(), SignersError> {
    match crate::keys::valid_name(name) {
        true => Ok(()),
        false => Err(SignersError::BadName(name.to_string())),
    }
}

fn valid_scope(p: &str) -> Result<(), SignersError> {
    let ok = !p.is_empty()
        && p.len() <= 256
        && p.contains('/')
        && !p.contains("://")
        && !p.contains(char::is_whitespace)
        && !p.contains(['@', '?']);
    if ok {
        Ok(())
    } else {
        Err(SignersError::BadScope(p.to_string()))
    }
}

/// `*` matches any run of characters; everything else itself. Linear in
/// the pattern times the text (no backtracking blow-up).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // reach[j]: the pattern so far matches t[..j].
    let mut reach = vec![false; t.len() + 1];
    reach[0] = true;
    for &c in &p {
        let mut next = vec![false; t.len() + 1];
        if c == '*' {
            let mut on = false;
            for j in 0..=t.len() {
                on |= reach[j];
                next[j] = on;
            }
        } else {
            for j in 0..t.len() {
                next[j + 1] = reach[j] && t[j] == c;
            }
        }
        reach = next;
    }
    reach[t.len()]
}

impl Signers {
    pub fn load(home: &Home) -> Result<Signers, SignersError> {
        let path = home.root().join("signers.toml");
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<File>(&text)
                .map_err(|e| SignersError::Corrupt(path.clone(), e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(source) => return Err(SignersError::Io { path, source }),
        };
        let mut s = Signers { path, file };
        for (name, signer) in s.file.signer.iter_mut() {
            signer.name = name.clone();
        }
        Ok(s)
    }

    fn save(&self) -> Result<(), SignersError> {
        let text = toml::to_string(&self.file)
            .map_err(|e| SignersError::Corrupt(self.path.clone(), e.to_string()))?;
        let text =
            format!("# The signers this factory trusts (factory signer add/remove/list).\n{text}");
        write_atomic(&self.path, text.as_bytes()).map_err(|source| SignersError::Io {
            path: self.path.clone(),
            source,
        })
    }

    pub fn list(&self) -> Vec<Signer> {
        self.file.signer.values().cloned().collect()
    }

    /// Trust `key` as `name`, for references matching `scope` if given.
    pub fn add(
        &mut self,
        name: &str,
        key: &str,
        scope: Option<&str>,
    ) -> Result<Signer, SignersError> {
        valid_name(name)?;
        let public = PublicKey::parse(key)?;
        if let Some(s) = scope {
            valid_scope(s)?;
        }
        if self.file.signer.contains_key(name) {
            return Err(SignersError::Exists(name.to_string()));
        }
        let signer = Signer {
            name: name.to_string(),
            key: public.to_string(),
            scope: scope.map(str::to_string),
        };
        self.file.signer.insert(name.to_string(), signer.clone());
        self.save()?;
        Ok(signer)
    }

    pub fn remove(&mut self, name: &str) -> Result<Signer, SignersError> {
        let s = self
            .file
            .signer
            .remove(name)
            .ok_or_else(|| SignersError::Unknown(name.to_string()))?;
        self.save()?;
        Ok(s)
    }

    /// Accept `envelope` for the manifest `digest` of `reference`
    /// (`host/path`, no tag) only if a trusted signer whose scope covers
    /// the reference signed that exact digest for it. Returns the signer.
    pub fn verify(
        &self,
        reference: &str,
        digest: &str,
        envelope: Option<&Envelope>,
    ) -> Result<Signer, VerifyError> {
        let env = envelope.ok_or_else(|| VerifyError::NoSignature(reference.to_string()))?;
        let (bytes, payload) = env.payload()?;
        let mut first_problem = None;
        for sig in &env.signatures {
            let problem = match self.check_one(reference, &bytes, sig) {
                Ok(signer) => {
                    // The key is trusted here and the signature genuine:
                    // now what it says must be this reference and digest.
                    if payload.critical.identity.reference != reference {
                        VerifyError::WrongReference {
                            signed: payload.critical.identity.reference.clone(),
                            actual: reference.to_string(),
                        }
                    } else if payload.critical.image.digest != digest {
                        VerifyError::DigestMismatch {
                            signed: payload.critical.image.digest.clone(),
                            actual: digest.to_string(),
                        }
                    } else {
                        return Ok(signer);
                    }
                }
                Err(e) => e,
            };
            first_problem.get_or_insert(problem);
        }
        Err(first_problem.unwrap_or_else(|| VerifyError::NoSignature(reference.to_string())))
    }

    /// [`Signers::verify`] over each envelope found for the digest: the
    /// first that passes wins; else the first envelope's problem.
    pub fn verify_any(
        &self,
        reference: &str,
        digest: &str,
        envelopes: &[Envelope],
    ) -> Result<Signer, VerifyError> {
        let mut first_problem = None;
        for env in envelopes {
            match self.verify(reference, digest, Some(env)) {
                Ok(s) => return Ok(s),
                Err(e) => {
                    first_problem.get_or_insert(e);
                }
            }
        }
        Err(first_problem.unwrap_or_else(|| VerifyError::NoSignature(reference.to_string())))
    }

    /// The trusted, in-scope signer whose key made `sig` over `bytes`.
    fn check_one(
        &self,
        reference: &str,
        bytes: &[u8],
        sig: &crate::signature::Sig,
    ) -> Result<Signer, VerifyError> {
        let raw: [u8; 64] = B64
            .decode(&sig.sig)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| VerifyError::Invalid {
                fingerprint: sig.keyid.clone(),
            })?;
        let signature = Signature::from_bytes(&raw);
        // The key id only says which key to try; the key is the signer's.
        let mut out_of_scope = None;
        for signer in self.file.signer.values() {
            let Ok(public) = signer.public() else {
                continue;
            };
            if public.fingerprint() != sig.keyid {
                continue;
            }
            if public.0.verify_strict(bytes, &signature).is_err() {
                return Err(VerifyError::Invalid {
                    fingerprint: sig.keyid.clone(),
                });
            }
            if signer.covers(reference) {
                return Ok(signer.clone());
            }
            out_of_scope.get_or_insert(VerifyError::OutOfScope {
                signer: signer.name.clone(),
                scope: signer.scope.clone().unwrap_or_default(),
                reference: reference.to_string(),
            });
        }
        Err(out_of_scope.unwrap_or(VerifyError::UnknownKey {
            fingerprint: sig.keyid.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    const REF: &str = "registry.example:5000/acme/tool";
    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn home() -> (tempfile::TempDir, Home) {
        let d = tempfile::tempdir().unwrap();
        let h = Home::at(d.path().join("home")).unwrap();
        (d, h)
    }

    #[test]
    fn a_trusted_signer_in_scope_that_signed_this_digest_is_accepted() {
        let (_d, h) = home();
        let key = KeyPair::generate(&h, "acme").unwrap();
        let mut s = Signers::load(&h).unwrap();
        s.add(
            "acme",
            &key.public().to_string(),
            Some("registry.example:5000/acme/*"),
        )
        .unwrap();
        let env = Envelope::sign(&key, REF, DIGEST);
        // Through the stored form, and a fresh load of the file.
        let env = Envelope::from_json(&env.to_json()).unwrap();
        let s = Signers::load(&h).unwrap();
        assert_eq!(s.verify(REF, DIGEST, Some(&env)).unwrap().name, "acme");
    }

    #[test]
    fn each_refusal_names_which_check_failed() {
        let (_d, h) = home();
        let trusted = KeyPair::generate(&h, "trusted").unwrap();
        let stranger = KeyPair::generate(&h, "stranger").unwrap();
        let mut s = Signers::load(&h).unwrap();
        s.add(
            "acme",
            &trusted.public().to_string(),
            Some("registry.example:5000/acme/*"),
        )
        .unwrap();
        assert_eq!(
            s.verify(REF, DIGEST, None),
            Err(VerifyError::NoSignature(REF.into()))
        );
        let e = s
            .verify(REF, DIGEST, Some(&Envelope::sign(&stranger, REF, DIGEST)))
            .unwrap_err();
        assert_eq!(
            e,
            VerifyError::UnknownKey {
                fingerprint: stranger.public().fingerprint()
            }
        );
        assert!(e.to_string().contains(&stranger.public().fingerprint()));
        let other = "registry.example:5000/evil/tool";
        let e = s
            .verify(
                other,
                DIGEST,
                Some(&Envelope::sign(&trusted, other, DIGEST)),
            )
            .unwrap_err();
        assert!(matches!(e, VerifyError::OutOfScope { .. }), "{e}");
        let e = s
            .verify(
                REF,
                "sha256:2222",
                Some(&Envelope::sign(&trusted, REF, DIGEST)),
            )
            .unwrap_err();
        assert!(matches!(e, VerifyError::DigestMismatch { .. }), "{e}");
        let e = s
            .verify(
                REF,
                DIGEST,
                Some(&Envelope::sign(
                    &trusted,
                    "registry.example:5000/acme/other",
                    DIGEST,
                )),
            )
            .unwrap_err();
        assert!(matches!(e, VerifyError::WrongReference { .. }), "{e}");
        // A payload altered after signing.
        let mut env = Envelope::sign(&trusted, REF, "sha256:0000");
        env.payload = Envelope::sign(&stranger, REF, DIGEST).payload;
        let e = s.verify(REF, DIGEST, Some(&env)).unwrap_err();
        assert!(matches!(e, VerifyError::Invalid { .. }), "{e}");
    }

    #[test]
    fn signers_are_added_once_removed_by_name_and_checked() {
        let (_d, h) = home();
        let key = KeyPair::generate(&h, "k").unwrap().public().to_string();
        let mut s = Signers::load(&h).unwrap();
        s.add("a", &key, None).unwrap();
        assert!(matches!(
            s.add("a", &key, None),
            Err(SignersError::Exists(_))
        ));
        assert!(matches!(
            s.add("b", "ed25519:nope", None),
            Err(SignersError::Key(_))
        ));
        assert!(matches!(
            s.add("c", &key, Some("https://x/*")),
            Err(SignersError::BadScope(_))
        ));
        assert!(matches!(
            s.add("../d", &key, None),
            Err(SignersError::BadName(_))
        ));
        assert_eq!(Signers::load(&h).unwrap().list().len(), 1);
        s.remove("a").unwrap();
        assert!(matches!(s.remove("a"), Err(SignersError::Unknown(_))));
        assert!(Signers::load(&h).unwrap().list().is_empty());
    }

    #[test]
    fn scopes_match_as_globs_in_linear_time() {
        assert!(glob("ghcr.io/acme/*", "ghcr.io/acme/tool"));
        assert!(glob("ghcr.io/acme/*", "ghcr.io/acme/a/b"));
        assert!(!glob("ghcr.io/acme/*", "ghcr.io/acmex/tool"));
        assert!(!glob("ghcr.io/acme/*", "evil.io/ghcr.io/acme/x"));
        assert!(glob("*", "anything"));
        assert!(glob("a*b*c", "aXXbYYc"));
        let long = "a".repeat(2000);
        assert!(!glob(&"*a".repeat(200), &format!("{long}b")));
    }
}
