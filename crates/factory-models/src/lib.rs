//! Model providers behind `factory:plugin/model`. The host holds each
//! provider's API key (read from the environment variable the config
//! names); guests only ever see the model's name.
//!
//! - `openai`: any OpenAI-compatible chat-completions server;
//! - `anthropic`: the Anthropic Messages API;
//! - `replay`: responses played back from a recording, no network;
//! - any of them wrapped by `record` to write a recording.

// The sandbox's model capability, under the paths this crate's modules use.
pub(crate) use factory_sandbox::{bindings, caps};

pub mod anthropic;
pub mod drift;
pub mod http;
pub mod normalize;
pub mod openai;
pub mod prices;
pub mod replay;
pub mod wire;

use crate::caps::model::ModelProvider;
use prices::Price;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Openai,
    Anthropic,
    Replay,
}

/// The `[model]` table of `factory.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub provider: ProviderKind,
    /// The model's name, as the provider knows it (`gpt-4o-mini`,
    /// `claude-sonnet-4-5`, `llama3.1:8b`); roles are granted this name.
    pub name: String,
    /// Default: https://api.openai.com/v1 or https://api.anthropic.com.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding the API key. Default:
    /// OPENAI_API_KEY or ANTHROPIC_API_KEY. For an OpenAI-compatible
    /// server without authentication, leave the variable unset.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The recording to play back (provider `replay`), relative to the
    /// repository.
    #[serde(default)]
    pub replay: Option<PathBuf>,
    /// Replay only: play the recorded replies even when the live requests
    /// differ from the recorded ones (hand-written sessions). Default:
    /// strict, a difference stops the run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lenient: bool,
    /// Per-request timeout, e.g. "120s".
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// USD per million tokens; default from the built-in price table.
    #[serde(default)]
    pub input_per_mtok: Option<f64>,
    #[serde(default)]
    pub output_per_mtok: Option<f64>,
}

mod opt_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            humantime::parse_duration(&s).map_err(|e| {
                serde::de::Error::custom(format!("bad duration {s:?}: {e} (e.g. \"90s\", \"2m\")"))
            })
        })
        .transpose()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelSetupError {
    #[error(
        "the model provider `{provider}` needs an API key in ${var}; set it (the key stays in the host, guests never see it)"
    )]
    MissingKey { provider: &'static str, var: String },
    #[error("provider `replay` needs `replay = \"FILE\"` in [model] (or `--replay FILE`)")]
    NoRecording,
    #[error(transparent)]
    Recording(#[from] replay::RecordingError),
    #[error("cannot create the recording {0}: {1}")]
    Record(String, std::io::Error),
    #[error(
        "`lenient = true` in [model] applies to the replay provider only (this one is `{0}`); remove it"
    )]
    LenientNotReplay(&'static str),
}

impl ModelConfig {
    fn price(&self) -> Option<Price> {
        match (self.input_per_mtok, self.output_per_mtok) {
            (None, None) => None,
            (i, o) => Some(Price {
                input_per_mtok: i.unwrap_or(0.0),
                output_per_mtok: o.unwrap_or(0.0),
            }),
        }
    }

    fn http(&self) -> http::HttpOptions {
        let d = http::HttpOptions::default();
        http::HttpOptions {
            timeout: self.timeout.unwrap_or(d.timeout),
            max_retries: self.max_retries.unwrap_or(d.max_retries),
            backoff: d.backoff,
        }
    }

    /// Build the provider. `base` resolves a relative `replay` path;
    /// `record` wraps the provider to write a recording; `normalizer`
    /// says what of a request is particular to this run.
    pub fn provider(
        &self,
        base: &Path,
        record: Option<&Path>,
        normalizer: normalize::Normalizer,
    ) -> Result<Arc<dyn ModelProvider>, ModelSetupError> {
        if self.lenient && self.provider != ProviderKind::Replay {
            return Err(ModelSetupError::LenientNotReplay(match self.provider {
                ProviderKind::Openai => "openai",
                _ => "anthropic",
            }));
        }
        let key = |default: &str| {
            let var = self
                .api_key_env
                .clone()
                .unwrap_or_else(|| default.to_string());
            (std::env::var(&var).ok().filter(|k| !k.is_empty()), var)
        };
        let p: Arc<dyn ModelProvider> = match self.provider {
            ProviderKind::Openai => {
                let (api_key, var) = key("OPENAI_API_KEY");
                let base_url = self
                    .base_url
                    .clone()
                    .unwrap_or_else(|| "https://api.openai.com/v1".into());
                if api_key.is_none() && base_url.contains("api.openai.com") {
                    return Err(ModelSetupError::MissingKey {
                        provider: "openai",
                        var,
                    });
                }
                Arc::new(openai::OpenAi {
                    base_url,
                    api_key,
                    http: self.http(),
                    price: self.price(),
                    client: http::client(),
                })
            }
            ProviderKind::Anthropic => {
                let (api_key, var) = key("ANTHROPIC_API_KEY");
                Arc::new(anthropic::Anthropic {
                    base_url: self
                        .base_url
                        .clone()
                        .unwrap_or_else(|| "https://api.anthropic.com".into()),
                    api_key: api_key.ok_or(ModelSetupError::MissingKey {
                        provider: "anthropic",
                        var,
                    })?,
                    http: self.http(),
                    price: self.price(),
                    client: http::client(),
                })
            }
            ProviderKind::Replay => {
                let file = self.replay.as_ref().ok_or(ModelSetupError::NoRecording)?;
                let mut r = replay::Replay::open(&base.join(file), self.price())?;
                r.lenient = self.lenient;
                r.normalizer = normalizer.clone();
                Arc::new(r)
            }
        };
        Ok(match record {
            Some(path) => Arc::new(
                replay::Record::create(p, path, normalizer)
                    .map_err(|e| ModelSetupError::Record(path.display().to_string(), e))?,
            ),
            None => p,
        })
    }
}
