//! Intake of a recorded user session (docs/task-schema.md#recorded-sessions):
//!
//! - a HAR file (`log.entries`: each request and its response), as
//!   browsers' developer tools and proxies export it;
//! - a browser recording as JSON: `events` (navigations, clicks, input,
//!   requests with their status, console messages, page errors) or Chrome
//!   DevTools Recorder's `steps`.
//!
//! The first failure (a request answered 4xx or 5xx or not at all, a
//! console error, an uncaught page error) becomes a reproduction task: its
//! intent names the failure and what the user did before it; its
//! acceptance criteria say the failure must not recur.
//!
//! A session carries secrets: request headers, cookies, form values and
//! query-string values are never copied into the task.

use factory_sdk::intake::{Intake, IntakeError, invalid};
use factory_sdk::types::{Priority, Task};
use serde_json::Value;

struct Session;

/// What went wrong.
enum Failure {
    Request {
        method: String,
        url: String,
        /// 0: no answer (`error` says why).
        status: u64,
        status_text: String,
        error: String,
        excerpt: String,
    },
    Console {
        kind: &'static str,
        text: String,
        at: String,
    },
}

struct Read {
    kind: &'static str,
    creator: String,
    page: String,
    /// What happened before the first failure, in order.
    before: Vec<String>,
    failures: Vec<Failure>,
    events: usize,
}

/// Untrusted text on one line, at most `max` characters.
fn line(s: &str, max: usize) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > max {
        format!("{}…", one.chars().take(max).collect::<String>())
    } else {
        one
    }
}

/// A URL without what may be secret: no user or password, no fragment,
/// query values replaced by `…` (the keys stay).
fn clean_url(url: &str) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => base.to_string(),
    };
    let mut out = line(&base, 300);
    if !query.is_empty() {
        let keys: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| format!("{}=…", line(p.split('=').next().unwrap_or(""), 40)))
            .collect();
        out.push('?');
        out.push_str(&keys.join("&"));
    }
    out
}

/// The path (and query keys) of a URL, for a title.
fn path_of(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".into(),
        },
        None => url.to_string(),
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn har(v: &Value) -> Result<Read, String> {
    let log = &v["log"];
    let entries = log["entries"]
        .as_array()
        .ok_or("a HAR file has `log.entries`")?;
    let mut r = Read {
        kind: "a HAR file",
        creator: line(
            &format!(
                "{} {}",
                s(&log["creator"], "name"),
                s(&log["creator"], "version")
            ),
            80,
        ),
        page: log["pages"][0]["title"]
            .as_str()
            .map(clean_url)
            .unwrap_or_default(),
        before: Vec::new(),
        failures: Vec::new(),
        events: entries.len(),
    };
    for e in entries {
        let req = &e["request"];
        let resp = &e["response"];
        let method = line(req["method"].as_str().unwrap_or("GET"), 10);
        let url = clean_url(s(req, "url"));
        let status = resp["status"].as_u64().unwrap_or(0);
        let error = line(
            resp["_error"]
                .as_str()
                .or(e["_error"].as_str())
                .unwrap_or_default(),
            200,
        );
        if r.page.is_empty() && !url.is_empty() {
            r.page = url.clone();
        }
        if status >= 400 || status == 0 {
            let text = &resp["content"];
            let excerpt = if text["encoding"].as_str() == Some("base64") {
                String::new()
            } else {
                line(s(text, "text"), 300)
            };
            r.failures.push(Failure::Request {
                method,
                url,
                status,
                status_text: line(s(resp, "statusText"), 80),
                error,
                excerpt,
            });
        } else if r.failures.is_empty() {
            r.before.push(format!("{method} {url} → {status}"));
        }
    }
    Ok(r)
}

fn recording(v: &Value) -> Result<Read, String> {
    let (events, recorder) = match (v["events"].as_array(), v["steps"].as_array()) {
        (Some(e), _) => (e, false),
        (None, Some(s)) => (s, true),
        _ => return Err("a browser recording has `events` or `steps`".into()),
    };
    let mut r = Read {
        kind: if recorder {
            "a Chrome DevTools Recorder recording"
        } else {
            "a browser recording"
        },
        creator: line(s(v, "creator"), 80),
        page: clean_url(v["url"].as_str().unwrap_or_default()),
        before: Vec::new(),
        failures: Vec::new(),
        events: events.len(),
    };
    let title = line(s(v, "title"), 120);
    if !title.is_empty() {
        r.creator = if r.creator.is_empty() {
            format!("\"{title}\"")
        } else {
            format!("{} (\"{title}\")", r.creator)
        };
    }
    for e in events {
        let kind = s(e, "type");
        let target = || {
            let sel = e["selector"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    e["selectors"][0]
                        .as_array()
                        .and_then(|a| a.first())
                        .or(e["selectors"].get(0))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default();
            line(&sel, 120)
        };
        // A console or page error: its words (`first`, else `second`).
        let logged = |kind, first: &str, second: &str| {
            Some(Failure::Console {
                kind,
                text: line(
                    e[first].as_str().or(e[second].as_str()).unwrap_or_default(),
                    300,
                ),
                at: clean_url(s(e, "url")),
            })
        };
        let failure = match kind {
            "console" if matches!(s(e, "level"), "error" | "assert") => {
                logged("console error", "text", "message")
            }
            "pageerror" | "error" | "exception" => logged("uncaught error", "message", "text"),
            "request" | "response" | "fetch" | "xhr" => {
                let status = e["status"].as_u64().unwrap_or(0);
                let failed = status >= 400 || (status == 0 && e.get("error").is_some());
                failed.then(|| Failure::Request {
                    method: line(e["method"].as_str().unwrap_or("GET"), 10),
                    url: clean_url(s(e, "url")),
                    status,
                    status_text: line(e["statusText"].as_str().unwrap_or_default(), 80),
                    error: line(s(e, "error"), 200),
                    excerpt: line(s(e, "body"), 300),
                })
            }
            _ => None,
        };
        match failure {
            Some(f) => r.failures.push(f),
            None if r.failures.is_empty() => {
                let step = match kind {
                    "navigate" | "navigation" => format!("opened {}", clean_url(s(e, "url"))),
                    "click" | "doubleClick" => format!("clicked {}", target()),
                    // The value typed is left out: it may be a password.
                    "input" | "change" | "type" | "fill" => format!("typed into {}", target()),
                    "keyDown" | "press" => format!("pressed {}", line(s(e, "key"), 20)),
                    "request" | "response" | "fetch" | "xhr" => format!(
                        "{} {} → {}",
                        line(e["method"].as_str().unwrap_or("GET"), 10),
                        clean_url(s(e, "url")),
                        e["status"]
                    ),
                    "setViewport" | "console" => continue,
                    other => line(other, 40),
                };
                if r.page.is_empty() && step.starts_with("opened ") {
                    r.page = step["opened ".len()..].to_string();
                }
                r.before.push(step);
            }
            None => {}
        }
    }
    Ok(r)
}

fn read(input: &str) -> Result<Read, String> {
    let v: Value = serde_json::from_str(input)
        .map_err(|e| format!("not JSON (a HAR file or a recording): {e}"))?;
    if v["log"]["entries"].is_array() {
        har(&v)
    } else if v["events"].is_array() || v["steps"].is_array() {
        recording(&v)
    } else {
        Err(
            "expected a HAR file (`log.entries`) or a browser recording (`events` or `steps`)"
                .into(),
        )
    }
}

impl Failure {
    fn title(&self) -> String {
        match self {
            Failure::Request {
                method,
                url,
                status: 0,
                ..
            } => {
                format!("Reproduce: {method} {} gets no answer", path_of(url))
            }
            Failure::Request {
                method,
                url,
                status,
                ..
            } => {
                format!("Reproduce: {method} {} answers {status}", path_of(url))
            }
            Failure::Console { kind, text, .. } => format!("Reproduce: {kind}: {text}"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Failure::Request {
                method,
                url,
                status,
                status_text,
                error,
                excerpt,
            } => {
                let mut d = if *status == 0 {
                    format!("`{method} {url}` got no answer")
                } else {
                    format!("`{method} {url}` answered {status} {status_text}")
                };
                if !error.is_empty() {
                    d.push_str(&format!(" ({error})"));
                }
                if !excerpt.is_empty() {
                    d.push_str(&format!("; the response began: {excerpt}"));
                }
                d
            }
            Failure::Console { kind, text, at } => {
                let mut d = format!("the page logged a {kind}: `{text}`");
                if !at.is_empty() {
                    d.push_str(&format!(" (at {at})"));
                }
                d
            }
        }
    }

    fn criterion(&self) -> String {
        match self {
            Failure::Request {
                method,
                url,
                status: 0,
                ..
            } => {
                format!(
                    "`{method} {}` as the session made it gets an answer",
                    path_of(url)
                )
            }
            Failure::Request {
                method,
                url,
                status,
                ..
            } => format!(
                "`{method} {}` as the session made it no longer answers {status}",
                path_of(url)
            ),
            Failure::Console { kind, text, .. } => {
                format!("The {kind} `{text}` no longer occurs when the recorded steps are followed")
            }
        }
    }

    fn severe(&self) -> bool {
        match self {
            Failure::Request { status, .. } => *status == 0 || *status >= 500,
            Failure::Console { kind, .. } => *kind == "uncaught error",
        }
    }
}

impl Intake for Session {
    const NAME: &'static str = "intake-session";
    const FORMAT: &'static str = "session";
    const DESCRIPTION: &'static str = include_str!("../description.txt");

    fn detect(input: &str) -> u8 {
        match read(input) {
            Ok(r) if !r.failures.is_empty() => 95,
            Ok(_) => 50,
            Err(_) => 0,
        }
    }

    fn parse(input: &str, source: &str) -> Result<Task, IntakeError> {
        let r = read(input).map_err(invalid)?;
        let Some(first) = r.failures.first() else {
            return Err(invalid(format!(
                "{} with {} events and no failure in it (no request answered 4xx or 5xx or not at all, no console or page error): nothing to reproduce",
                r.kind, r.events
            )));
        };
        let title = line(&first.title(), 200);
        let mut task = Task::new(Self::FORMAT, source, title);
        let mut intent = format!("A recorded user session ({}", r.kind);
        if !r.creator.trim().is_empty() {
            intent.push_str(&format!(", from {}", r.creator.trim()));
        }
        if !r.page.is_empty() {
            intent.push_str(&format!(", on {}", r.page));
        }
        intent.push_str(&format!(") ends in a failure: {}.", first.describe()));
        if r.failures.len() > 1 {
            intent.push_str(&format!(
                " {} more failures followed, the next: {}.",
                r.failures.len() - 1,
                r.failures[1].describe()
            ));
        }
        if !r.before.is_empty() {
            intent.push_str("\n\nWhat the user did before it:\n");
            let skip = r.before.len().saturating_sub(15);
            if skip > 0 {
                intent.push_str(&format!("- ({skip} earlier steps)\n"));
            }
            for step in &r.before[skip..] {
                intent.push_str(&format!("- {step}\n"));
            }
        }
        intent.push_str("\n\nReproduce the failure with a test, find its cause and fix it.");
        task.intent = intent;
        task.acceptance_criteria = vec![
            first.criterion(),
            "A test reproduces the recorded failure and passes after the fix".into(),
            "The existing tests still pass".into(),
        ];
        task.priority = if first.severe() {
            Priority::High
        } else {
            Priority::Normal
        };
        task.labels = vec!["reproduction".into(), "session".into()];
        if !r.page.is_empty() {
            task.source.url = Some(r.page.clone());
        }
        Ok(task)
    }
}

factory_sdk::export_intake!(Session);
