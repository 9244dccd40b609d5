//! Per-step write quotas: what one role step (its own instance and every
//! tool acting for it) may write through the filesystem capability: bytes
//! in all, files and directories created, and the size of any one file.
//! Enforced as the writes happen (positional writes, write and append
//! streams, `set-size`, creations), not after the step, so a role cannot
//! fill the disk first; each refusal is journaled once per step.

use bytes::Bytes;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime_wasi::async_trait;
use wasmtime_wasi::p2::{DynOutputStream, OutputStream, Pollable, StreamError, StreamResult};

/// The limits of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaLimits {
    pub bytes: u64,
    pub files: u64,
    pub file_size: u64,
}

impl QuotaLimits {
    pub const DEFAULT: QuotaLimits = QuotaLimits {
        bytes: 256 << 20,
        files: 10_000,
        file_size: 64 << 20,
    };
}

/// A step's counters, shared by its instance and the tools acting for it.
#[derive(Debug)]
pub struct Quota {
    pub limits: QuotaLimits,
    written: AtomicU64,
    created: AtomicU64,
    /// The kinds of refusal already journaled in this step.
    reported: Mutex<Vec<std::mem::Discriminant<OverQuota>>>,
}

/// Why a write, a create or a resize was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverQuota {
    #[error("a file may not grow past {limit} bytes in one step (the write would end at {end})")]
    FileGrowth { limit: u64, end: u64 },
    #[error("the step may write {limit} bytes in all; this write would make {total}")]
    StepBytes { limit: u64, total: u64 },
    #[error("the step may create {limit} files and directories")]
    StepFiles { limit: u64 },
    #[error("a file may not be set to {size} bytes (at most {limit} in one step)")]
    FileSize { limit: u64, size: u64 },
}

impl Quota {
    pub fn new(limits: QuotaLimits) -> Arc<Quota> {
        Arc::new(Quota {
            limits,
            written: AtomicU64::new(0),
            created: AtomicU64::new(0),
            reported: Mutex::new(Vec::new()),
        })
    }

    /// Err(why) unless `n` more bytes may be written, ending at `end`
    /// (the offset after the write, when known).
    pub fn write(&self, n: u64, end: Option<u64>) -> Result<(), OverQuota> {
        if let Some(end) = end
            && end > self.limits.file_size
        {
            return Err(OverQuota::FileGrowth {
                limit: self.limits.file_size,
                end,
            });
        }
        let total = self.written.fetch_add(n, Ordering::AcqRel) + n;
        if total > self.limits.bytes {
            self.written.fetch_sub(n, Ordering::AcqRel);
            return Err(OverQuota::StepBytes {
                limit: self.limits.bytes,
                total,
            });
        }
        Ok(())
    }

    /// Err(why) unless one more file or directory may be created.
    pub fn create(&self) -> Result<(), OverQuota> {
        let n = self.created.fetch_add(1, Ordering::AcqRel) + 1;
        if n > self.limits.files {
            self.created.fetch_sub(1, Ordering::AcqRel);
            return Err(OverQuota::StepFiles {
                limit: self.limits.files,
            });
        }
        Ok(())
    }

    /// Err(why) unless a file may be set to `size` bytes.
    pub fn set_size(&self, size: u64) -> Result<(), OverQuota> {
        if size > self.limits.file_size {
            return Err(OverQuota::FileSize {
                limit: self.limits.file_size,
                size,
            });
        }
        Ok(())
    }

    /// Whether this is the step's first refusal of this kind: each kind is
    /// journaled once.
    pub fn first_refusal(&self, why: &OverQuota) -> bool {
        let kind = std::mem::discriminant(why);
        let mut seen = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(&kind) {
            return false;
        }
        seen.push(kind);
        true
    }
}

/// Linux's "disk quota exceeded" (the host runs where bubblewrap does).
const EDQUOT: i32 = 122;

/// A file output stream that counts what goes through it.
pub struct Counted {
    pub inner: DynOutputStream,
    pub quota: Arc<Quota>,
    /// Where the next byte lands (None for an append stream).
    pub at: Option<u64>,
    /// Called with the reason when the quota refuses a write.
    pub on_refusal: Box<dyn Fn(&OverQuota) + Send + Sync>,
}

#[async_trait]
impl Pollable for Counted {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[async_trait]
impl OutputStream for Counted {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let n = bytes.len() as u64;
        if let Err(why) = self.quota.write(n, self.at.map(|a| a + n)) {
            (self.on_refusal)(&why);
            // An OS quota error, so `filesystem-error-code` tells the guest
            // `quota` (its libc: EDQUOT) rather than a bare I/O error.
            return Err(StreamError::LastOperationFailed(wasmtime::Error::from(
                std::io::Error::from_raw_os_error(EDQUOT),
            )));
        }
        if let Some(a) = &mut self.at {
            *a += n;
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota() -> Arc<Quota> {
        Quota::new(QuotaLimits {
            bytes: 1000,
            files: 2,
            file_size: 600,
        })
    }

    #[test]
    fn bytes_files_and_one_files_size_are_each_capped() {
        let q = quota();
        q.write(500, Some(500)).unwrap();
        assert!(
            q.write(200, Some(700))
                .unwrap_err()
                .to_string()
                .contains("may not grow past 600")
        );
        q.write(400, Some(400)).unwrap();
        let e = q.write(200, Some(200)).unwrap_err().to_string();
        assert!(e.contains("1000 bytes in all"), "{e}");
        // A refused write is not counted: a smaller one still fits.
        q.write(100, Some(100)).unwrap();
        q.create().unwrap();
        q.create().unwrap();
        assert!(q.create().unwrap_err().to_string().contains("2 files"));
        assert!(q.set_size(601).is_err() && q.set_size(600).is_ok());
        // Appends (no known end) count toward the total only.
        assert!(q.write(1, None).is_err());
    }

    #[test]
    fn each_kind_of_refusal_is_reported_once() {
        let q = quota();
        let grow = |end| OverQuota::FileGrowth { limit: 600, end };
        assert!(q.first_refusal(&grow(700)));
        assert!(!q.first_refusal(&grow(9000)));
        assert!(q.first_refusal(&OverQuota::StepBytes {
            limit: 1000,
            total: 1200
        }));
        assert!(!q.first_refusal(&OverQuota::StepBytes {
            limit: 1000,
            total: 5000
        }));
    }
}
