//! What strict replay compares: a model request with the parts that differ
//! between two runs of the same session replaced by placeholders. Both the
//! request a recording holds and the live one are normalised the same way.
//!
//! The rules, in order (docs/factory-toml.md repeats them):
//! 1. the spec's path (as given, and absolute) becomes `<spec>`, the run's
//!    repository path `<repo>` and the factory home `<home>`, each only as a
//!    whole path or path prefix (`/r/calc` in `/r/calc/x.py`, not in
//!    `/r/calc-issue.json`), the longest first, so a repository under the
//!    home stays `<repo>`;
//! 2. a path under a temporary directory (`/tmp/NAME`, `/var/tmp/NAME`, or
//!    `$TMPDIR/NAME`) keeps its rest and its first component becomes
//!    `<tmp>`;
//! 3. a run id (`r` and 12 hex digits, as in `factory/r6a1f…`) becomes
//!    `<run>`;
//! 4. a timestamp (RFC 3339 / ISO 8601, with or without fraction and zone)
//!    becomes `<time>`;
//! 5. a duration (`0.004s`, `12 ms`, as test runners print them) becomes
//!    `<dur>`.
//!
//! Everything else, tool results included, must match byte for byte.

use super::wire::{JsonMessage, JsonRequest};
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let mut tmp = vec!["/tmp".to_string(), "/var/tmp".to_string()];
    let sys = std::env::temp_dir().display().to_string();
    let sys = sys.trim_end_matches('/').to_string();
    if !sys.is_empty() && !tmp.contains(&sys) {
        tmp.push(sys);
    }
    let tmp = tmp
        .iter()
        .map(|t| regex::escape(t))
        .collect::<Vec<_>>()
        .join("|");
    vec![
        (
            Regex::new(&format!(r"(?:{tmp})/[A-Za-z0-9._-]+")).unwrap(),
            "<tmp>",
        ),
        (Regex::new(r"\br[0-9a-f]{12}\b").unwrap(), "<run>"),
        (
            Regex::new(
                r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?",
            )
            .unwrap(),
            "<time>",
        ),
        (
            Regex::new(r"\b\d+(?:\.\d+)?\s?(?:ms|s)\b").unwrap(),
            "<dur>",
        ),
    ]
});

/// The normalisation of one run: its spec, repository and factory home.
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    /// (literal, its pattern, placeholder), the longest literal first.
    literals: Vec<(String, Regex, &'static str)>,
}

impl Normalizer {
    pub fn new(repo: &Path, home: &Path) -> Normalizer {
        let mut n = Normalizer::default();
        n.add(repo, "<repo>");
        n.add(home, "<home>");
        n
    }

    /// Also replace `path` (as written, absolute and canonical).
    pub fn with(mut self, path: &str, placeholder: &'static str) -> Normalizer {
        if !path.is_empty() && path != "-" {
            self.add(Path::new(path), placeholder);
        }
        self
    }

    fn add(&mut self, p: &Path, name: &'static str) {
        let mut forms = vec![p.display().to_string()];
        if let Ok(a) = std::path::absolute(p) {
            forms.push(a.display().to_string());
        }
        // The same place through a symlink (macOS /private/tmp, …).
        if let Ok(c) = p.canonicalize() {
            forms.push(c.display().to_string());
        }
        for f in forms {
            let f = f.trim_end_matches('/').to_string();
            if f.len() > 1 && !self.literals.iter().any(|(l, ..)| *l == f) {
                // A whole path or a prefix of one: not followed by more of
                // a file name.
                let re =
                    Regex::new(&format!(r"{}([^A-Za-z0-9._\-]|$)", regex::escape(&f))).unwrap();
                self.literals.push((f, re, name));
            }
        }
        self.literals
            .sort_by_key(|(l, ..)| std::cmp::Reverse(l.len()));
    }

    /// `s` with the run-specific parts replaced.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (lit, re, name) in &self.literals {
            if out.contains(lit.as_str()) {
                out = re.replace_all(&out, format!("{name}${{1}}")).into_owned();
            }
        }
        for (re, name) in RULES.iter() {
            if re.is_match(&out) {
                out = re.replace_all(&out, *name).into_owned();
            }
        }
        out
    }

    fn message(&self, m: &JsonMessage) -> JsonMessage {
        let mut m = m.clone();
        m.content = self.text(&m.content);
        for c in &mut m.tool_calls {
            c.arguments = self.text(&c.arguments);
        }
        m
    }

    /// The request with every message normalised.
    pub fn request(&self, r: &JsonRequest) -> JsonRequest {
        let mut r = r.clone();
        r.messages = r.messages.iter().map(|m| self.message(m)).collect();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_specific_parts_become_placeholders() {
        let n = Normalizer::new(
            Path::new("/home/ann/.factory/demo/17-0/calc"),
            Path::new("/home/ann/.factory"),
        );
        assert_eq!(
            n.text("open /home/ann/.factory/demo/17-0/calc/calc.py"),
            "open <repo>/calc.py"
        );
        assert_eq!(
            n.text("/home/ann/.factory/runs/r6a1f0c2b9e3d/tasks/fix-mean/calc.py"),
            "<home>/runs/<run>/tasks/fix-mean/calc.py"
        );
        assert_eq!(
            n.text("branch factory/r6a1f0c2b9e3d"),
            "branch factory/<run>"
        );
        // Only whole paths: a sibling that shares the prefix stays.
        assert_eq!(
            n.text("/home/ann/.factory/demo/17-0/calc-issue.json and /home/ann/.factory"),
            "<home>/demo/17-0/calc-issue.json and <home>"
        );
        let n = n.with("../calc-issue.json", "<spec>");
        assert_eq!(
            n.text("\"ref\": \"../calc-issue.json\""),
            "\"ref\": \"<spec>\""
        );
        assert_eq!(
            n.text("cd /tmp/.tmpAb3xYz/w && ls /var/tmp/x1/y"),
            "cd <tmp>/w && ls <tmp>/y"
        );
        assert_eq!(
            n.text("at 2026-11-30T20:01:02.123Z and 2026-11-30 20:01:02+01:00"),
            "at <time> and <time>"
        );
        assert_eq!(
            n.text("Ran 3 tests in 0.004s\nslow: 12 ms"),
            "Ran 3 tests in <dur>\nslow: <dur>"
        );
    }

    #[test]
    fn what_a_tool_returned_is_kept() {
        let n = Normalizer::new(Path::new("/r"), Path::new("/h"));
        // Code, numbers and words that merely look alike are untouched.
        for s in [
            "return sum(xs) / len(xs) if xs else 0",
            "rabcdef: 12 tests, 3 failed",
            "r0123456789ab0",
            "version 2026-11",
            "FAILED (failures=1)",
        ] {
            assert_eq!(n.text(s), s);
        }
        // A one-character root is never a literal (it would match everything).
        assert_eq!(
            Normalizer::new(Path::new("/"), Path::new("/")).text("/a/b"),
            "/a/b"
        );
    }
}
