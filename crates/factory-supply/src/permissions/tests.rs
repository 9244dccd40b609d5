use super::*;

/// The smallest valid component: the preamble alone.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

fn at(dir: &Path) -> Placeholders {
    Placeholders {
        workdir: dir.join("work"),
        home: Some(dir.to_path_buf()),
    }
}

#[test]
fn a_manifest_lists_its_requests_and_the_level_they_need() {
    let m = Manifest::parse(
        r#"[permissions]
read = ["{workdir}", "/etc/ssl"]
net = ["https://api.github.com"]
env = ["GITHUB_TOKEN"]
"#,
        "plugin.toml",
    )
    .unwrap();
    let shown: Vec<String> = m.requests().iter().map(|r| r.to_string()).collect();
    assert_eq!(
        shown,
        [
            "--read {workdir}",
            "--read /etc/ssl",
            "--net https://api.github.com",
            "--env GITHUB_TOKEN"
        ]
    );
    assert_eq!(m.min_trust(), TrustLevel::Draft);
    let above = m.above(TrustLevel::ReadOnly);
    assert_eq!(above.len(), 1);
    assert_eq!(above[0].0.kind, "net");
    assert_eq!(above[0].1, TrustLevel::Draft);
    assert!(m.above(TrustLevel::Draft).is_empty());
    // Raw sockets need scoped; exec needs auto-merge.
    let m = Manifest::parse(
        "[permissions]\nnet = [\"tcp://db:5432\"]\nexec = [\"git\"]\n",
        "x",
    )
    .unwrap();
    assert_eq!(m.min_trust(), TrustLevel::Scoped);
}

#[test]
fn bad_manifests_are_refused_saying_where_and_why() {
    let cases = [
        ("[permissions]\nred = [\"/x\"]\n", "unknown field `red`"),
        ("[permissions]\nread = [\"x/y\"]\n", "a path is absolute"),
        (
            "[permissions]\nread = [\"{root}/y\"]\n",
            "unknown placeholder `{root}`",
        ),
        ("[permissions]\nread = [\"{workdir}/../..\"]\n", "climb"),
        ("[permissions]\nread = [\"{workdir}x\"]\n", "goes on after"),
        (
            "[permissions]\nread = [\"/a/{home}\"]\n",
            "only start a path",
        ),
        ("[permissions]\nread = [\"/\"]\n", "root directory"),
        ("[permissions]\nnet = [\"ftp://x\"]\n", "net = \"ftp://x\""),
        ("[permissions]\nexec = [\"bin/sh\"]\n", "bare program name"),
        ("[permissions]\nenv = [\"A-B\"]\n", "environment variable"),
        ("[permissions]\ntrust = \"root\"\n", "unknown trust level"),
        (
            "[permissions]\ntrust = \"read-only\"\nwrite = [\"/tmp\"]\n",
            "needs draft",
        ),
        ("[permissions\n", "not a permission manifest"),
        (
            "[permissions]\nread = [\"/tmp/\\u001b[2K\\rasks for: nothing\"]\n",
            "control characters are refused",
        ),
        (
            "[permissions]\ntrust = \"draft\\u0007\"\n",
            "control characters",
        ),
        ("[other]\nx = 1\n", "unknown field `other`"),
    ];
    let many = format!(
        "[permissions]\nenv = [{}]\n",
        (0..300)
            .map(|i| format!("\"V{i}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let long = format!("[permissions]\nread = [\"/{}\"]\n", "a".repeat(2000));
    let cases: Vec<(&str, &str)> = cases
        .into_iter()
        .chain([
            (many.as_str(), "at most 256"),
            (long.as_str(), "at most 1024"),
        ])
        .collect();
    for (text, want) in cases {
        let e = Manifest::parse(text, "plugin.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{text:?}: {e}");
        assert!(e.starts_with("plugin.toml"), "{e}");
    }
}

#[test]
fn requests_resolve_to_grants_on_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("work/src")).unwrap();
    let m = Manifest::parse(
        "[permissions]\nread = [\"{workdir}/src\"]\nwrite = [\"{home}/work\"]\ntools = [\"fetch\"]\n",
        "x",
    )
    .unwrap();
    let grants = m.resolve(&at(dir.path())).unwrap();
    let canon = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        grants,
        [
            Grant::Read(canon.join("work/src")),
            Grant::Write(canon.join("work")),
            Grant::Tool("fetch".into()),
        ]
    );
    // A directory that is not there is an error naming the request.
    let m = Manifest::parse("[permissions]\nread = [\"{workdir}/nope\"]\n", "x").unwrap();
    let e = m.resolve(&at(dir.path())).unwrap_err().to_string();
    assert!(e.contains("`read = \"{workdir}/nope\"` resolves to"), "{e}");
}

#[test]
fn the_stored_form_reads_back_the_same_and_diffs_by_request() {
    let old = Manifest::parse(
        "[permissions]\ntrust = \"draft\"\nread = [\"{workdir}\"]\nmodels = [\"*\"]\n",
        "x",
    )
    .unwrap();
    assert_eq!(Manifest::parse(&old.to_toml(), "y").unwrap(), old);
    assert_eq!(Manifest::default().to_toml(), "");
    let new = Manifest::parse(
        "[permissions]\nread = [\"{workdir}\"]\nexec = [\"git\"]\n",
        "x",
    )
    .unwrap();
    let (added, removed) = old.diff(&new);
    assert_eq!(
        added.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        ["--exec git"]
    );
    assert_eq!(
        removed.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        ["--model *"]
    );
}

#[test]
fn a_manifest_embeds_in_a_component_and_replaces_the_one_it_had() {
    assert_eq!(embedded(EMPTY_COMPONENT).unwrap(), None);
    let a = Manifest::parse("[permissions]\nenv = [\"A\"]\n", "x").unwrap();
    let b = Manifest::parse("[permissions]\nenv = [\"B\"]\n", "x").unwrap();
    let with_a = embed(EMPTY_COMPONENT, &a).unwrap();
    assert!(
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&with_a)
            .is_ok()
    );
    assert_eq!(embedded(&with_a).unwrap(), Some(a.clone()));
    let with_b = embed(&with_a, &b).unwrap();
    assert_eq!(embedded(&with_b).unwrap(), Some(b));
    // Replacing leaves exactly one section; an empty manifest removes it.
    assert_eq!(with_b.len(), with_a.len());
    assert_eq!(
        embed(&with_b, &Manifest::default()).unwrap(),
        EMPTY_COMPONENT
    );
    // Two sections: refused, not guessed.
    let mut two = with_a.clone();
    two.extend_from_slice(&with_a[EMPTY_COMPONENT.len()..]);
    assert!(
        embedded(&two)
            .unwrap_err()
            .to_string()
            .contains("2 of them")
    );
    // A core module is not a component.
    let e = embedded(b"\0asm\x01\0\0\0").unwrap_err().to_string();
    assert!(e.contains("core module"), "{e}");
    assert!(embedded(b"garbage").is_err());
}
