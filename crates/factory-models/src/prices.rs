//! Token prices, for the cost of each model call. The built-in table holds
//! list prices (USD per million tokens) of common hosted models; a model it
//! does not know (a local Ollama or vLLM model) costs 0 unless the config
//! gives its price.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// USD per million input tokens.
    pub input_per_mtok: f64,
    /// USD per million output tokens.
    pub output_per_mtok: f64,
}

impl Price {
    /// Cost in millionths of a dollar (rounded up).
    pub fn cost_micro_usd(&self, input: u64, output: u64) -> u64 {
        (input as f64 * self.input_per_mtok + output as f64 * self.output_per_mtok).ceil() as u64
    }
}

/// Longest prefix wins.
const TABLE: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-5-mini", 0.25, 2.00),
    ("gpt-5-nano", 0.05, 0.40),
    ("gpt-5", 1.25, 10.00),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("o3", 2.00, 8.00),
    ("claude-3-5-haiku", 0.80, 4.00),
    ("claude-haiku-4", 1.00, 5.00),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-7-sonnet", 3.00, 15.00),
    ("claude-sonnet-4", 3.00, 15.00),
    ("claude-opus-4", 15.00, 75.00),
];

/// The price of `model`: the override if given, else the table's.
pub fn price_of(model: &str, overridden: Option<Price>) -> Price {
    if let Some(p) = overridden {
        return p;
    }
    TABLE
        .iter()
        .filter(|(prefix, _, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|&(_, i, o)| Price {
            input_per_mtok: i,
            output_per_mtok: o,
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        let p = price_of("gpt-4o-mini-2024-07-18", None);
        assert_eq!(p.input_per_mtok, 0.15);
        assert_eq!(p.cost_micro_usd(1_000_000, 0), 150_000);
        assert_eq!(price_of("gpt-4o", None).output_per_mtok, 10.0);
        assert_eq!(price_of("llama3.1:8b", None).cost_micro_usd(1000, 1000), 0);
        let o = Price {
            input_per_mtok: 1.0,
            output_per_mtok: 2.0,
        };
        assert_eq!(price_of("gpt-4o", Some(o)).cost_micro_usd(1000, 1000), 3000);
    }
}
