//! Showing a run: the data (`runs show --json`), a readable timeline with
//! costs (`runs show`), and a self-contained HTML report (`report --html`).

use super::state::Phase;
use super::store::{RunRow, StepRow, Store, TaskRow};
use crate::journal::{self, Entry, ModelCallRecord};
use crate::runtime::Host;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Serialize)]
pub struct RunView {
    pub run: RunRow,
    /// The pipeline the run was held to, in words (from its configuration).
    pub pipeline: Vec<String>,
    pub tasks: Vec<TaskRow>,
    pub steps: Vec<StepRow>,
    pub model_calls: Vec<ModelCallRecord>,
    /// Events recorded during the run: denials, limits, cuts, gates, and
    /// the roles' log lines (the agents' stated reasons, turn by turn).
    pub events: Vec<Entry>,
    /// Every component call of the run: role steps and the tool calls
    /// they made, with outcome, time, CPU and memory.
    pub invocations: Vec<Entry>,
    pub tokens: u64,
    pub cost_usd: f64,
    /// The change, if it was written: at most [`MAX_EMBEDDED_DIFF`] bytes
    /// of it; the whole is in `diff_file`.
    pub diff: Option<String>,
    /// The size of the whole change, and where it is.
    pub diff_bytes: u64,
    pub diff_file: Option<std::path::PathBuf>,
}

/// The most of a change a report or `runs show` embeds; a larger change is
/// linked, so a 100 MB diff does not become a 100 MB page (or host memory).
pub const MAX_EMBEDDED_DIFF: u64 = 256 * 1024;

pub fn view(host: &Host, id: &str) -> Result<Option<RunView>, rusqlite::Error> {
    let store = Store::open(&host.home().db_path())?;
    let Some(run) = store.run(id)? else {
        return Ok(None);
    };
    let model_calls = store.model_calls(id)?;
    let conn = crate::db::open(&host.home().db_path())?;
    let (events, invocations): (Vec<Entry>, Vec<Entry>) =
        journal::query(&conn, None, Some(id), 100_000)?
            .into_iter()
            .partition(|e| matches!(e, Entry::Event { .. }));
    let patch = host
        .home()
        .root()
        .join("runs")
        .join(id)
        .join("change.patch");
    let diff_bytes = std::fs::metadata(&patch).map(|m| m.len()).unwrap_or(0);
    let diff = std::fs::File::open(&patch).ok().map(|f| {
        use std::io::Read;
        let mut buf = Vec::new();
        let _ = f.take(MAX_EMBEDDED_DIFF).read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let diff_file = diff.as_ref().map(|_| patch.clone());
    Ok(Some(RunView {
        tokens: model_calls
            .iter()
            .map(|m| m.input_tokens + m.output_tokens)
            .sum(),
        cost_usd: model_calls.iter().map(|m| m.cost_micro_usd).sum::<u64>() as f64 / 1e6,
        tasks: store.tasks(id)?,
        steps: store.steps(id)?,
        pipeline: serde_json::from_value::<super::config::Config>(run.config.clone())
            .map(|c| super::pipeline::describe(&c))
            .unwrap_or_default(),
        run,
        model_calls,
        events,
        invocations,
        diff,
        diff_bytes,
        diff_file,
    }))
}

pub fn usd(micro: u64) -> String {
    format!("${:.4}", micro as f64 / 1e6)
}

/// The time of day of `ms` (since the epoch), `HH:MM:SS` UTC.
pub fn hms(ms: i64) -> String {
    crate::db::format_ms(ms)
        .get(11..19)
        .unwrap_or("")
        .to_string()
}

/// Model tokens and cost of one step (its instance's model calls).
fn step_cost(v: &RunView, s: &StepRow) -> (u64, u64) {
    v.model_calls
        .iter()
        .filter(|m| s.call_id.as_deref() == Some(m.call_id.as_str()) && m.outcome == "ok")
        .fold((0, 0), |(t, c), m| {
            (t + m.input_tokens + m.output_tokens, c + m.cost_micro_usd)
        })
}

pub fn text(v: &RunView) -> String {
    let r = &v.run;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "run {}  {}{}",
        r.id,
        r.status,
        if r.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", r.reason)
        }
    );
    let _ = writeln!(o, "task   {}", r.task["title"].as_str().unwrap_or(""));
    let _ = writeln!(
        o,
        "repo   {} ({} → {}, trust {})",
        r.repo, r.branch, r.target, r.trust
    );
    for (i, line) in v.pipeline.iter().enumerate() {
        let _ = writeln!(
            o,
            "{}{line}",
            if i == 0 { "pipeline  " } else { "          " }
        );
    }
    let _ = writeln!(
        o,
        "cost   {} tokens, {} in {} model calls",
        v.tokens,
        usd((v.cost_usd * 1e6) as u64),
        v.model_calls.len()
    );
    let _ = writeln!(o, "\nTASKS");
    for t in &v.tasks {
        let _ = writeln!(
            o,
            "  {:<12} {:<10} attempts {}  {}{}",
            t.id,
            t.status,
            t.attempts,
            t.title,
            if t.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", t.reason)
            }
        );
    }
    let _ = writeln!(o, "\nTIMELINE");
    for s in &v.steps {
        let (tokens, cost) = step_cost(v, s);
        let cost = if tokens > 0 {
            format!("  [{tokens} tok, {}]", usd(cost))
        } else {
            String::new()
        };
        let who = if s.kind == "role" {
            format!("{}#{}", s.role, s.attempt)
        } else {
            s.kind.clone()
        };
        let took = if s.kind == "role" {
            format!(" ({} ms)", s.duration_ms)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  {} {:<12} {:<14} {:<8} {}{took}{cost}",
            hms(s.ts),
            s.task_id,
            who,
            s.status,
            s.summary
        );
    }
    let denials: Vec<&Entry> = v.events.iter().filter(|e| matches!(e, Entry::Event { record, .. } if record.kind == "denial" || record.kind == "limit")).collect();
    if !denials.is_empty() {
        let _ = writeln!(o, "\nDENIALS AND LIMITS");
        for e in denials {
            if let Entry::Event { record, .. } = e {
                let _ = writeln!(
                    o,
                    "  {} {}: {}",
                    hms(record.ts),
                    record.plugin,
                    record.message
                );
            }
        }
    }
    if let Some(res) = &r.result {
        let _ = writeln!(o, "\nRESULT  {}", res.delivery.as_str());
        let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        for (k, v) in [
            ("merged_into", res.merged_into.clone()),
            ("pull_request", path(&res.pull_request)),
            ("not_merged", res.not_merged.clone()),
            ("patch", Some(res.patch.display().to_string())),
        ] {
            if let Some(s) = v {
                let _ = writeln!(o, "  {k}: {s}");
            }
        }
    }
    o
}

/// Text for HTML (elements and quoted attributes alike).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ddd}table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}.ok,.passed,.done{color:#176f2c}.failed,.blocked,.conflict{color:#b3261e}.draft{color:#8a5a00}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:12px}.add{color:#176f2c}.del{color:#b3261e}.meta{color:#666}";

/// Write the run's self-contained HTML report.
pub fn write_html(host: &Host, id: &str, path: &Path) -> std::io::Result<()> {
    let v = view(host, id)
        .map_err(std::io::Error::other)?
        .ok_or_else(|| std::io::Error::other(format!("no run {id}")))?;
    std::fs::write(path, html(&v))
}

pub fn html(v: &RunView) -> String {
    let r = &v.run;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html><html><head><meta charset=utf-8><title>factory run {}</title><style>{CSS}</style></head><body>",
        esc(&r.id)
    );
    let _ = write!(
        o,
        "<h1>{}</h1><p><b class=\"{}\">{}</b> {} · run {} · trust {} · {} → {}<br><span class=meta>{} · {} tokens · {} · {} model calls</span></p>",
        esc(r.task["title"].as_str().unwrap_or("")),
        esc(r.status.as_str()),
        esc(r.status.as_str()),
        esc(&r.reason),
        esc(&r.id),
        esc(&r.trust),
        esc(&r.branch),
        esc(&r.target),
        esc(&r.repo),
        v.tokens,
        usd((v.cost_usd * 1e6) as u64),
        v.model_calls.len()
    );
    let _ = write!(
        o,
        "<h2>Task</h2><pre>{}</pre>",
        esc(&serde_json::to_string_pretty(&r.task).unwrap_or_default())
    );
    if !v.pipeline.is_empty() {
        let _ = write!(o, "<h2>Pipeline</h2><ul>");
        for line in &v.pipeline {
            let _ = write!(o, "<li>{}</li>", esc(line));
        }
        let _ = write!(o, "</ul>");
    }
    let _ = write!(
        o,
        "<h2>Tasks</h2><table><tr><th>id</th><th>title</th><th>status</th><th>attempts</th><th>reason</th></tr>"
    );
    for t in &v.tasks {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.id),
            esc(&t.title),
            esc(t.status.as_str()),
            esc(t.status.as_str()),
            t.attempts,
            esc(&t.reason)
        );
    }
    let _ = write!(
        o,
        "</table><h2>Timeline</h2><table><tr><th>time</th><th>task</th><th>step</th><th>status</th><th>what and why</th><th>took</th><th>cost</th></tr>"
    );
    for s in &v.steps {
        let (tokens, cost) = step_cost(v, s);
        let who = if s.kind == "role" {
            format!("{} #{}", s.role, s.attempt)
        } else {
            s.kind.clone()
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}{}</td><td>{} ms</td><td>{}</td></tr>",
            hms(s.ts),
            esc(&s.task_id),
            esc(&who),
            esc(&s.status),
            esc(&s.status),
            esc(&s.summary),
            if s.detail.is_empty() {
                String::new()
            } else {
                format!(
                    "<details><summary>detail</summary><pre>{}</pre></details>",
                    esc(&super::cap_text(&s.detail, 20_000))
                )
            },
            s.duration_ms,
            if tokens > 0 {
                format!("{tokens} tok, {}", usd(cost))
            } else {
                String::new()
            }
        );
    }
    let _ = write!(o, "</table>");
    if let Some(res) = &r.result {
        let _ = write!(
            o,
            "<h2>Gates and delivery</h2><p>Delivery: <b class=\"{0}\">{0}</b> {1}</p><table><tr><th>gate</th><th>result</th><th>evidence</th></tr>",
            esc(res.delivery.as_str()),
            esc(res.not_merged.as_deref().unwrap_or(""))
        );
        for g in &res.gates {
            let word = if g.passed { "passed" } else { "failed" };
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"{word}\">{word}</td><td>{}</td></tr>",
                esc(&g.name),
                esc(&g.evidence)
            );
        }
        let _ = write!(o, "</table>");
    }
    if let Some(t) = v.tasks.iter().find(|t| t.id == Phase::Integrate.id())
        && let Some(rep) = t.data.pointer("/tests/report")
    {
        let _ = write!(
            o,
            "<h2>Test results</h2><p>{} passed, {} failed, {} skipped ({})</p>",
            rep["passed"],
            rep["failed"],
            rep["skipped"],
            esc(rep["framework"].as_str().unwrap_or(""))
        );
    }
    let _ = write!(
        o,
        "<h2>Model calls</h2><table><tr><th>time</th><th>task</th><th>role</th><th>model</th><th>tokens in/out</th><th>cost</th><th>latency</th><th>outcome</th></tr>"
    );
    for m in &v.model_calls {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{} / {}</td><td>{}</td><td>{} ms</td><td>{} {}</td></tr>",
            hms(m.ts),
            esc(m.task_id.as_deref().unwrap_or("")),
            esc(m.role.as_deref().unwrap_or("")),
            esc(&m.model),
            esc(&m.provider),
            m.input_tokens,
            m.output_tokens,
            usd(m.cost_micro_usd),
            m.latency_ms,
            esc(&m.outcome),
            esc(&m.detail)
        );
    }
    let _ = write!(
        o,
        "</table><h2>Events: denials, limits, gates, the agents' stated reasons</h2><table><tr><th>time</th><th>plugin</th><th>kind</th><th>message</th></tr>"
    );
    for e in &v.events {
        if let Entry::Event { record, .. } = e {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                hms(record.ts),
                esc(&record.plugin),
                esc(&record.kind),
                esc(&record.message)
            );
        }
    }
    let _ = write!(o, "</table><h2>Diff</h2><pre>");
    for line in v.diff.as_deref().unwrap_or("(no change written)").lines() {
        let class = if line.starts_with('+') && !line.starts_with("+++") {
            "add"
        } else if line.starts_with('-') && !line.starts_with("---") {
            "del"
        } else {
            ""
        };
        let _ = writeln!(o, "<span class=\"{class}\">{}</span>", esc(line));
    }
    if v.diff_bytes > MAX_EMBEDDED_DIFF
        && let Some(file) = &v.diff_file
    {
        let _ = write!(
            o,
            "</pre><p class=meta>The change is {} bytes; the first {} are shown. The whole change: <a href=\"file://{}\">{}</a></p><pre>",
            v.diff_bytes,
            MAX_EMBEDDED_DIFF,
            esc(&file.display().to_string()),
            esc(&file.display().to_string())
        );
    }
    let _ = write!(
        o,
        "</pre><p class=meta>Written by factory {}.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    o
}
