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
    wildcard(
        pat,
        path,
        |p| *p == "**",
        |p, c| match_component(p.as_bytes(), c.as_bytes()),
    )
}

fn match_component(p: &[u8], s: &[u8]) -> bool {
    wildcard(p, s, |c| *c == b'*', |c, b| *c == b'?' || c == b)
}

/// Wildcard matching in O(|pattern| × |input|): `star` items match any
/// run of input items, every other item matches one input item when `one`
/// says so. On a mismatch only the most recent star is retried one item
/// further (a later star subsumes an earlier one), so patterns of many
/// stars never backtrack exponentially, whatever a scope or a repository
/// names its files.
fn wildcard<P, T>(
    pat: &[P],
    input: &[T],
    star: impl Fn(&P) -> bool,
    one: impl Fn(&P, &T) -> bool,
) -> bool {
    let (mut p, mut i) = (0, 0);
    // The pattern index after the last star, and the input index it was
    // tried at.
    let mut retry: Option<(usize, usize)> = None;
    while i < input.len() {
        if p < pat.len() && star(&pat[p]) {
            p += 1;
            retry = Some((p, i));
        } else if p < pat.len() && one(&pat[p], &input[i]) {
            p += 1;
            i += 1;
        } else if let Some((after, at)) = retry {
            p = after;
            i = at + 1;
            retry = Some((after, at + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(star)
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

    #[test]
    fn more_globs() {
        assert!(matches("**", "a/b/c"));
        assert!(matches("docs/**", "docs"));
        assert!(matches("**/test_*.py", "a/b/test_x.py"));
        assert!(!matches("**/test_*.py", "a/b/xtest_x.py"));
        assert!(matches("a/**/b/**/c", "a/x/b/y/z/c"));
        assert!(!matches("a/**/b/**/c", "a/x/y/z/c"));
        assert!(matches("*a*b*c", "xxaxxbxxc"));
        assert!(!matches("*a*b*c", "xxaxxcxxb"));
        assert!(matches("CHANGELOG*", "CHANGELOG.md"));
        assert!(!matches("src/?.rs", "src/ab.rs"));
    }

    /// Many stars against a long name: exponential backtracking would not
    /// finish in the lifetime of the machine; this returns at once.
    #[test]
    fn many_stars_against_long_names_do_not_backtrack() {
        let pattern = format!("{}b", "*".repeat(60));
        let name = "a".repeat(10_000);
        assert!(!matches(&pattern, &name));
        let pattern = format!("{}/x", vec!["**"; 40].join("/"));
        let path = vec!["a"; 2_000].join("/");
        assert!(!matches(&pattern, &path));
        assert!(matches(
            &format!("{}/x", vec!["**"; 40].join("/")),
            &format!("{path}/x")
        ));
        let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!matches(pattern, &"a".repeat(5_000)));
    }
}
