//! Where factory keeps its state: `$FACTORY_HOME`, or the XDG data dir.
//!
//! Layout:
//! - `factory.db`: the registry (plugins, grants, trust), the journal and the
//!   key-value store, one SQLite file in WAL mode.
//! - `plugins/<sha256>.wasm`: installed components, named by digest.
//! - `cache/<sha256>-<engine>.cwasm`: precompiled components.
//! - `empty-root/`: what plugins see at `/` outside their grants (empty).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("no home directory: set FACTORY_HOME to the directory factory should use")]
    NoHome,
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The resolved state directory.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `$FACTORY_HOME` if set, else `$XDG_DATA_HOME/factory` (`~/.local/share/factory`).
    pub fn from_env() -> Result<Self, HomeError> {
        match std::env::var_os("FACTORY_HOME") {
            Some(dir) if !dir.is_empty() => Self::at(PathBuf::from(dir)),
            _ => Self::at(dirs::data_dir().ok_or(HomeError::NoHome)?.join("factory")),
        }
    }

    /// Use `root`, creating it and its subdirectories if needed.
    pub fn at(root: impl Into<PathBuf>) -> Result<Self, HomeError> {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map_err(|source| HomeError::Create {
                    path: root.clone(),
                    source,
                })?
                .join(root)
        };
        for dir in [
            root.clone(),
            root.join("plugins"),
            root.join("cache"),
            root.join("empty-root"),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|source| HomeError::Create { path: dir, source })?;
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The empty directory plugins see at `/` outside their grants.
    pub fn empty_root(&self) -> PathBuf {
        self.root.join("empty-root")
    }
    pub fn db_path(&self) -> PathBuf {
        self.root.join("factory.db")
    }
    pub fn component_path(&self, digest: &str) -> PathBuf {
        self.root.join("plugins").join(format!("{digest}.wasm"))
    }
    pub fn cwasm_path(&self, digest: &str, engine_key: &str) -> PathBuf {
        self.root
            .join("cache")
            .join(format!("{digest}-{engine_key}.cwasm"))
    }
}

/// Write `bytes` to `path` atomically: into a sibling temporary file of
/// this process and call (two threads writing the same file at once must
/// not share one), then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let r = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Create `path` holding `bytes`, readable and writable by its owner only
/// (0600). An existing file is never replaced: that is `AlreadyExists`.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// Read the secret in `path` (a key, a token): `Err(Exposed(mode))` when
/// group or others may read or write the file, so a secret anyone on the
/// machine could have seen is never used.
pub fn read_private(path: &Path) -> Result<String, PrivateError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateError::Exposed(mode));
    }
    Ok(std::fs::read_to_string(path)?)
}

#[derive(Debug, thiserror::Error)]
pub enum PrivateError {
    #[error("group or others may read it (mode {0:o})")]
    Exposed(u32),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    #[test]
    fn private_files_are_owner_only_made_once_and_refused_when_exposed() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("secret");
        super::create_private(&path, b"s3cret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = super::create_private(&path, b"other").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(super::read_private(&path).unwrap(), "s3cret");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            super::read_private(&path),
            Err(super::PrivateError::Exposed(0o640))
        ));
    }

    /// Parallel subtasks load (and precompile) the same built-in at once.
    #[test]
    fn threads_writing_one_file_at_once_all_succeed() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.cwasm");
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        super::write_atomic(&path, &[i; 4096]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() == 4096 && bytes.iter().all(|b| *b == bytes[0]));
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }
}
