//! Path globs for scopes and path policies: `*` matches within one path
//! component, `**` any number of components, `?` one character.

/// Whether `path` (slash-separated, relative) matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let comps: Vec<&str> = path.split('/').collect();
    match_parts(&pat, &comps)
}

/// Whether `path` matches any of `patterns`.
pub fn any(patterns: &[String], path: &str) -> bool {
    patterns.iter().any(|p| matches(p, path))
}

fn match_parts(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| match_parts(rest, &path[i..])),
        Some((p, rest)) => {
            !path.is_empty()
                && match_component(p.as_bytes(), path[0].as_bytes())
                && match_parts(rest, &path[1..])
        }
    }
}

fn match_component(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_component(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && match_component(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_component(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("*.md", "README.md"));
        assert!(!matches("*.md", "docs/a.md"));
        assert!(matches("**/*.md", "docs/a.md"));
        assert!(matches("**/*.md", "a.md"));
        assert!(matches("docs/**", "docs/x/y"));
        assert!(matches("tests/**", "tests/t.py"));
        assert!(matches(".github/**", ".github/workflows/ci.yml"));
        assert!(!matches("src/*.rs", "src/a/b.rs"));
        assert!(matches("src/?.rs", "src/a.rs"));
    }
}
