//! Secrets in files: bearer tokens (`factory mcp --http`, `factory serve`)
//! and webhook secrets. A file others may read is refused; a token file
//! that does not exist yet is created once (0600) and reused.

use crate::cli::{EXIT_USAGE, Failure, fail};
use anyhow::{Context, anyhow};
use factory_host::home::{PrivateError, create_private};
use std::path::Path;

/// The file under the home that holds `factory mcp`'s created token.
pub const FILE: &str = "mcp-token";

/// Shortest token accepted from a file (a created one is 64 hex digits).
const MIN_LEN: usize = 16;

/// The token, from `file` or the home's (created if missing).
pub fn load(file: Option<&Path>, home: &Path) -> Result<String, Failure> {
    match file {
        Some(f) => token(f),
        None => read_or_create(&home.join(FILE), "factory mcp"),
    }
}

/// The token in `path`, created there first if the file does not exist.
pub fn read_or_create(path: &Path, who: &str) -> Result<String, Failure> {
    if !path.exists() {
        create(path)?;
        eprintln!(
            "{who}: created a token in {} (send it as `Authorization: Bearer <token>`)",
            path.display()
        );
    } else {
        eprintln!("{who}: the token is in {}", path.display());
    }
    token(path)
}

/// A bearer token from `path`: owner-only, long enough, no spaces.
pub fn token(path: &Path) -> Result<String, Failure> {
    let token = read(path, "token")?;
    if token.len() < MIN_LEN || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(fail(
            EXIT_USAGE,
            anyhow!(
                "the token in {} must be at least {MIN_LEN} characters with no spaces",
                path.display()
            ),
        ));
    }
    Ok(token)
}

/// The secret in `path` (`what` names it in errors), trimmed; the file
/// must be readable by its owner only, and not empty.
pub fn read(path: &Path, what: &str) -> Result<String, Failure> {
    let secret = match factory_host::home::read_private(path) {
        Ok(t) => t.trim().to_string(),
        Err(PrivateError::Exposed(mode)) => {
            return Err(fail(
                EXIT_USAGE,
                anyhow!(
                    "the {what} file {} can be read by others (mode {mode:o}); run `chmod 600 {}`",
                    path.display(),
                    path.display()
                ),
            ));
        }
        Err(e) => {
            return Err(fail(
                EXIT_USAGE,
                anyhow!("cannot read the {what} file {}: {e}", path.display()),
            ));
        }
    };
    if secret.is_empty() {
        return Err(fail(
            EXIT_USAGE,
            anyhow!("the {what} file {} is empty", path.display()),
        ));
    }
    Ok(secret)
}

/// Create `path` holding a new random token, readable by its owner only.
fn create(path: &Path) -> Result<(), Failure> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow!("cannot get random bytes for the token: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    create_private(path, format!("{}\n", hex::encode(bytes)).as_bytes())
        .with_context(|| format!("cannot create the token file {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_token_is_created_once_owner_only_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let first = load(None, d.path()).unwrap();
        assert_eq!(first.len(), 64);
        let mode = std::fs::metadata(d.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load(None, d.path()).unwrap(), first);
    }

    #[test]
    fn a_token_file_others_can_read_or_too_short_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("t");
        std::fs::write(&f, "0123456789abcdef0123\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(Some(&f), d.path()).unwrap_err();
        assert!(
            format!("{:#}", e.error).contains("chmod 600"),
            "{:#}",
            e.error
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(Some(&f), d.path()).unwrap(), "0123456789abcdef0123");
        std::fs::write(&f, "short\n").unwrap();
        assert!(load(Some(&f), d.path()).is_err());
    }
}
