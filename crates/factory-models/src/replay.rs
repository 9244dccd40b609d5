//! Recorded model sessions: `replay` plays responses back from a file with
//! no network and no key; `record` wraps a real provider and appends each
//! exchange to such a file.
//!
//! A recording is JSON Lines (or one JSON array) of exchanges:
//! `{"stream": "t1/coder/1", "seq": 0, "request": {...}, "response": {...}}`.
//! `stream` names one role step's conversation (task, role, attempt; or
//! the plugin's name outside a run) and `seq` the call within it, so
//! parallel steps replay deterministically.
//!
//! Replay is strict by default: `request` is the request the model
//! received (normalised: see `normalize.rs`), tool results included, and
//! the live request must match it. A mismatch stops the run with the
//! difference. Lenient replay (`--replay-lenient`, `lenient = true`)
//! plays the recorded reply whatever the live request says, for sessions
//! written by hand.

use super::normalize::Normalizer;
use super::prices::{Price, price_of};
use super::wire::{self, JsonRequest, JsonResponse};
use crate::bindings::ErrorCode;
use crate::bindings::imports::factory::plugin::model::{Request, Response};
use crate::caps::model::{ModelCtx, ModelProvider};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exchange {
    pub stream: String,
    pub seq: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<JsonRequest>,
    pub response: JsonResponse,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("cannot read the recording {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{file}:{line}: not a recorded exchange: {error}")]
    Parse {
        file: String,
        line: usize,
        error: String,
    },
    #[error("{file}: stream {stream:?} call #{seq} is recorded twice")]
    Duplicate {
        file: String,
        stream: String,
        seq: u32,
    },
}

/// Read a recording: JSON Lines, or a JSON array of exchanges.
pub fn load(path: &Path) -> Result<Vec<Exchange>, RecordingError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RecordingError::Read(shown.clone(), e))?;
    let parse_err = |line: usize, e: serde_json::Error| RecordingError::Parse {
        file: shown.clone(),
        line,
        error: e.to_string(),
    };
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text).map_err(|e| parse_err(e.line(), e));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| parse_err(i + 1, e)))
        .collect()
}

pub struct Replay {
    file: PathBuf,
    exchanges: HashMap<(String, u32), Exchange>,
    price: Option<Price>,
    /// Play the recorded reply even when the live request differs.
    pub lenient: bool,
    pub normalizer: Normalizer,
    /// The first mismatch, which stops the run.
    mismatch: Mutex<Option<String>>,
}

impl Replay {
    pub fn open(path: &Path, price: Option<Price>) -> Result<Replay, RecordingError> {
        let mut exchanges = HashMap::new();
        for x in load(path)? {
            let key = (x.stream.clone(), x.seq);
            if exchanges.contains_key(&key) {
                return Err(RecordingError::Duplicate {
                    file: path.display().to_string(),
                    stream: x.stream,
                    seq: x.seq,
                });
            }
            exchanges.insert(key, x);
        }
        Ok(Replay {
            file: path.to_path_buf(),
            exchanges,
            price,
            lenient: false,
            normalizer: Normalizer::default(),
            mismatch: Mutex::new(None),
        })
    }

    /// Err(why) unless the live request matches the recorded one (strict).
    fn check(&self, x: &Exchange, req: &Request, ctx: &ModelCtx) -> Result<(), String> {
        let live = self.normalizer.request(&wire::request_to_json(req));
        let place = format!(
            "replay mismatch in {}, stream {:?} call #{}",
            self.file.display(),
            ctx.stream,
            ctx.seq
        );
        let Some(recorded) = &x.request else {
            return Err(format!(
                "{place}: the recording holds no request to compare with. Strict replay checks every \
                 request the model receives, tool results included; record the session with \
                 `factory run --record FILE`, or replay a hand-written one with --replay-lenient \
                 (or `lenient = true` in [model])"
            ));
        };
        match super::drift::diff(&self.normalizer.request(recorded), &live) {
            None => Ok(()),
            Some(d) => Err(format!(
                "{place}: the live request is not the recorded one, so the recorded reply does not \
                 answer it.\n{d}\n(after normalising paths, run ids, timestamps and durations; \
                 --replay-lenient plays the recording anyway)"
            )),
        }
    }
}

impl ModelProvider for Replay {
    fn name(&self) -> &str {
        "replay"
    }

    fn halted(&self) -> Option<String> {
        self.mismatch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn complete<'a>(
        &'a self,
        req: Request,
        ctx: &'a ModelCtx,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + 'a>> {
        Box::pin(async move {
            let Some(x) = self.exchanges.get(&(ctx.stream.clone(), ctx.seq)) else {
                return Err(ErrorCode::NotFound(format!(
                    "the recording {} has no reply for stream {:?} call #{} (record one with `factory run --record FILE` against a real model)",
                    self.file.display(),
                    ctx.stream,
                    ctx.seq
                )));
            };
            if let Err(why) = self.check(x, &req, ctx) {
                if !self.lenient {
                    let mut m = self.mismatch.lock().unwrap_or_else(|p| p.into_inner());
                    m.get_or_insert_with(|| why.clone());
                    return Err(ErrorCode::Failed(why));
                }
                tracing::info!(stream = %ctx.stream, seq = ctx.seq, "lenient replay: {why}");
            }
            let cost = price_of(&x.response.model, self.price).cost_micro_usd(
                x.response.usage.input_tokens.into(),
                x.response.usage.output_tokens.into(),
            );
            wire::response_from_json(&x.response, cost).map_err(|e| {
                ErrorCode::Failed(format!(
                    "{}: stream {:?} call #{}: {e}",
                    self.file.display(),
                    ctx.stream,
                    ctx.seq
                ))
            })
        })
    }
}

/// Wraps a provider and appends every successful exchange to a file.
/// The requests are written normalised, so a recording replays anywhere.
pub struct Record {
    pub inner: Arc<dyn ModelProvider>,
    pub file: Mutex<std::fs::File>,
    pub normalizer: Normalizer,
}

impl Record {
    pub fn create(
        inner: Arc<dyn ModelProvider>,
        path: &Path,
        normalizer: Normalizer,
    ) -> std::io::Result<Record> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Record {
            inner,
            file: Mutex::new(file),
            normalizer,
        })
    }
}

impl ModelProvider for Record {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn halted(&self) -> Option<String> {
        self.inner.halted()
    }

    fn complete<'a>(
        &'a self,
        req: Request,
        ctx: &'a ModelCtx,
    ) -> Pin<Box<dyn Future<Output = Result<Response, ErrorCode>> + Send + 'a>> {
        Box::pin(async move {
            let request = self.normalizer.request(&wire::request_to_json(&req));
            let resp = self.inner.complete(req, ctx).await?;
            let x = Exchange {
                stream: ctx.stream.clone(),
                seq: ctx.seq,
                request: Some(request),
                response: wire::response_to_json(&resp),
            };
            if let Ok(line) = serde_json::to_string(&x) {
                let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = writeln!(f, "{line}") {
                    tracing::error!("cannot append to the recording: {e}");
                }
            }
            Ok(resp)
        })
    }
}
