//! Signing keys: an Ed25519 key pair per name, the private half under
//! `$FACTORY_HOME/keys/NAME.key` (readable by its owner only), the public
//! half beside it and printed as `ed25519:<base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use factory_store::Home;
use factory_store::home::{PrivateError, create_private, read_private};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key named `{0}` already exists ({1}); keys are never overwritten")]
    Exists(String, PathBuf),
    #[error("no key named `{0}` (make one with `factory key generate {0}`)")]
    Unknown(String),
    #[error("`{0}` is not a key name: use letters, digits, `-`, `_` and `.`")]
    BadName(String),
    #[error("the key file {path} can be read by others (mode {mode:o}); run `chmod 600 {path}`")]
    Exposed { path: PathBuf, mode: u32 },
    #[error("the key file {0} is not a key this factory wrote")]
    Corrupt(PathBuf),
    #[error("`{0}` is not a public key: expected `ed25519:` and 32 bytes in base64")]
    BadPublic(String),
    #[error("cannot get random bytes for a key: {0}")]
    Random(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An Ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey(pub VerifyingKey);

impl PublicKey {
    /// Parse `ed25519:<base64 of 32 bytes>`.
    pub fn parse(s: &str) -> Result<PublicKey, KeyError> {
        let bad = || KeyError::BadPublic(s.to_string());
        let b64 = s.trim().strip_prefix("ed25519:").ok_or_else(bad)?;
        let bytes: [u8; 32] = B64
            .decode(b64)
            .map_err(|_| bad())?
            .try_into()
            .map_err(|_| bad())?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad())
    }

    /// A short name for the key, to tell keys apart in messages:
    /// `sha256:` and the first 16 hex digits of its bytes' hash.
    pub fn fingerprint(&self) -> String {
        let h = Sha256::digest(self.0.as_bytes());
        format!("sha256:{}", &hex::encode(h)[..16])
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ed25519:{}", B64.encode(self.0.as_bytes()))
    }
}

/// Whether `name` may name a key or a signer: letters, digits, `-`, `_`
/// and `.`, not starting with `.`, at most 64 bytes (it becomes a file name).
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn valid(name: &str) -> Result<(), KeyError> {
    match valid_name(name) {
        true => Ok(()),
        false => Err(KeyError::BadName(name.to_string())),
    }
}

fn dir(home: &Home) -> PathBuf {
    home.root().join("keys")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A signing key, loaded.
pub struct KeyPair {
    pub name: String,
    key: SigningKey,
}

impl KeyPair {
    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    /// Sign `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Make key `name`: the private key written once, owner-only.
    pub fn generate(home: &Home, name: &str) -> Result<KeyPair, KeyError> {
        valid(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        let d = dir(home);
        std::fs::create_dir_all(&d).map_err(io(&d))?;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(io(&d))?;
        let private = d.join(format!("{name}.key"));
        let secret = format!("ed25519-private:{}\n", B64.encode(seed));
        match create_private(&private, secret.as_bytes()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(KeyError::Exists(name.to_string(), private));
            }
            Err(e) => return Err(io(&private)(e)),
        }
        let pair = KeyPair {
            name: name.to_string(),
            key,
        };
        let public = d.join(format!("{name}.pub"));
        std::fs::write(&public, format!("{}\n", pair.public())).map_err(io(&public))?;
        Ok(pair)
    }

    /// Load key `name`, refusing a private key others can read.
    pub fn load(home: &Home, name: &str) -> Result<KeyPair, KeyError> {
        valid(name)?;
        let path = dir(home).join(format!("{name}.key"));
        let text = match read_private(&path) {
            Ok(t) => t,
            Err(PrivateError::Exposed(mode)) => return Err(KeyError::Exposed { path, mode }),
            Err(PrivateError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Unknown(name.to_string()));
            }
            Err(PrivateError::Io(e)) => return Err(io(&path)(e)),
        };
        let seed: [u8; 32] = text
            .trim()
            .strip_prefix("ed25519-private:")
            .and_then(|b| B64.decode(b).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError::Corrupt(path.clone()))?;
        Ok(KeyPair {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let d = tempfile::tempdir().unwrap();
        let h = Home::at(d.path().join("home")).unwrap();
        (d, h)
    }

    #[test]
    fn a_key_is_made_once_owner_only_and_loads_back() {
        let (_d, h) = home();
        let k = KeyPair::generate(&h, "release").unwrap();
        let path = h.root().join("keys/release.key");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = KeyPair::load(&h, "release").unwrap();
        assert_eq!(again.public(), k.public());
        assert!(matches!(
            KeyPair::generate(&h, "release"),
            Err(KeyError::Exists(..))
        ));
        let printed = k.public().to_string();
        assert!(printed.starts_with("ed25519:"));
        assert_eq!(PublicKey::parse(&printed).unwrap(), k.public());
        let on_disk = std::fs::read_to_string(h.root().join("keys/release.pub")).unwrap();
        assert_eq!(on_disk.trim(), printed);
    }

    #[test]
    fn an_exposed_or_missing_key_is_refused_by_name() {
        let (_d, h) = home();
        KeyPair::generate(&h, "k").unwrap();
        let path = h.root().join("keys/k.key");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = KeyPair::load(&h, "k").err().unwrap();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert!(matches!(
            KeyPair::load(&h, "nope"),
            Err(KeyError::Unknown(_))
        ));
        assert!(matches!(
            KeyPair::generate(&h, "../x"),
            Err(KeyError::BadName(_))
        ));
    }

    #[test]
    fn public_keys_parse_strictly() {
        for bad in ["", "ed25519:", "ed25519:AAAA", "rsa:AAAA", "ed25519:!!!"] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
    }
}
