//! `GET /`: the queue, runs in flight with their timelines, the approvals
//! inbox, costs, recent denials and the trust report.

use super::html::{self, esc};
use super::{page, timeline, urlencode};
use crate::Service;
use crate::api::S;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use factory_orchestrator::outcome::Delivery;
use factory_orchestrator::state::RunStatus;
use factory_orchestrator::store::RunRow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rows each section shows.
const SHOWN: usize = 50;
/// The most of a draft's diff the inbox shows.
const INBOX_DIFF: usize = 16 * 1024;

pub async fn show(State(s): S) -> Response {
    match render(&s) {
        Ok(body) => Html(page("dashboard", "", &body)).into_response(),
        Err(e) => crate::api::internal(e),
    }
}

fn run_link(id: &str) -> String {
    format!("<a href=\"/runs/{}\">{}</a>", urlencode(id), esc(id))
}

fn render(s: &Service) -> Result<String, String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let tasks = s.queue.list(SHOWN).map_err(|e| text(&e))?;
    let runs = s.runs.runs(SHOWN).map_err(|e| text(&e))?;
    let mut o = String::from("<main>");
    // The queue.
    let _ = write!(
        o,
        "<h2>Queue</h2><table id=queue><tr><th>task</th><th>title</th><th>source</th><th>state</th><th>age</th><th>run</th><th>linked</th></tr>"
    );
    if tasks.is_empty() {
        o.push_str("<tr><td colspan=7 class=meta>Nothing accepted yet.</td></tr>");
    }
    for t in &tasks {
        // Where it is: the worker running it, or why nobody takes it.
        let whereabouts = match (t.state, &t.worker) {
            (crate::queue::TaskState::Queued, _) => crate::waiting(s, t)
                .map(|w| format!("<br><span class=waiting>{}</span>", esc(&w)))
                .unwrap_or_default(),
            (crate::queue::TaskState::Running, Some(w)) => {
                format!("<br><span class=meta>on {}</span>", esc(w))
            }
            _ => String::new(),
        };
        let _ = write!(
            o,
            "<tr class=task data-task=\"{id}\"><td><code>{id}</code></td><td>{}</td><td>{}</td><td class=\"state {st}\" title=\"{}\">{st}{whereabouts}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.title),
            esc(&t.source),
            esc(&t.reason),
            html::age(t.created),
            t.run_id.as_deref().map(run_link).unwrap_or_default(),
            if t.linked.is_empty() {
                String::new()
            } else {
                format!("{} linked", t.linked.len())
            },
            id = esc(&t.id),
            st = t.state.as_str(),
        );
    }
    o.push_str("</table>");
    // Runs in flight.
    let running: Vec<&RunRow> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Running)
        .collect();
    let _ = write!(o, "<h2>Runs in flight ({})</h2>", running.len());
    if running.is_empty() {
        o.push_str("<p class=meta>None.</p>");
    }
    for r in running {
        let steps = s.runs.steps(&r.id).map_err(|e| text(&e))?;
        let _ = write!(
            o,
            "<div class=card data-run=\"{}\"><b>{}</b> {}<br>{}</div>",
            esc(&r.id),
            run_link(&r.id),
            esc(r.task["title"].as_str().unwrap_or("")),
            timeline::svg(&steps, &[])
        );
    }
    inbox(s, &runs, &mut o)?;
    costs(s, &runs, &mut o)?;
    denials(s, &mut o)?;
    trust(s, &mut o)?;
    o.push_str("</main>");
    Ok(o)
}

/// Drafts waiting for a decision, each with its diff, test evidence and
/// gates, and the buttons.
fn inbox(_s: &Service, runs: &[RunRow], o: &mut String) -> Result<(), String> {
    let waiting: Vec<&RunRow> = runs
        .iter()
        .filter(|r| {
            r.status == RunStatus::Done
                && r.result
                    .as_ref()
                    .is_some_and(|x| x.delivery == Delivery::Draft && x.decision.is_none())
        })
        .collect();
    let _ = write!(
        o,
        "<h2>Approvals inbox ({})</h2><div id=inbox>",
        waiting.len()
    );
    if waiting.is_empty() {
        o.push_str("<p class=meta>No draft is waiting.</p>");
    }
    for r in waiting {
        let Some(res) = &r.result else { continue };
        let tests = res
            .gates
            .iter()
            .find(|g| g.name == "tests-pass")
            .map(|g| g.evidence.as_str())
            .unwrap_or("no test gate ran");
        let diff = std::fs::read(&res.patch)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let _ = write!(
            o,
            "<div class=card data-draft=\"{}\"><b>{}</b> {} <span class=meta>{} → {} · {} files</span>\
             <p>Test evidence: {}</p>{}<details><summary>diff ({} bytes)</summary>{}</details>{}</div>",
            esc(&r.id),
            run_link(&r.id),
            esc(r.task["title"].as_str().unwrap_or("")),
            esc(&r.branch),
            esc(&r.target),
            res.changed.len(),
            esc(tests),
            html::gates(&res.gates),
            diff.len(),
            html::diff(&diff, INBOX_DIFF),
            html::decision_buttons(&r.id)
        );
    }
    o.push_str("</div>");
    Ok(())
}

/// Cost per run, and per role across the runs shown.
fn costs(s: &Service, runs: &[RunRow], o: &mut String) -> Result<(), String> {
    let mut by_role: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    o.push_str("<h2>Costs</h2><table id=costs><tr><th>run</th><th>status</th><th>tokens</th><th>cost</th></tr>");
    for r in runs.iter().take(20) {
        let usage = s.runs.usage(&r.id).map_err(|e| e.to_string())?;
        let (mut tokens, mut cost) = (0, 0);
        for (role, t, c, _) in usage {
            tokens += t;
            cost += c;
            let e = by_role.entry(role).or_default();
            e.0 += t;
            e.1 += c;
        }
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"{st}\">{st}</td><td>{tokens}</td><td>{}</td></tr>",
            run_link(&r.id),
            html::usd(cost),
            st = r.status.as_str()
        );
    }
    o.push_str("</table><table id=role-costs><tr><th>role</th><th>tokens</th><th>cost</th></tr>");
    for (role, (t, c)) in by_role {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{t}</td><td>{}</td></tr>",
            esc(&role),
            html::usd(c)
        );
    }
    o.push_str("</table>");
    Ok(())
}

/// The newest denials, each with the grant that would allow it.
fn denials(s: &Service, o: &mut String) -> Result<(), String> {
    let conn = factory_store::db::open(&s.host.home().db_path()).map_err(|e| e.to_string())?;
    let list =
        factory_store::journal::recent_events(&conn, "denial", 20).map_err(|e| e.to_string())?;
    o.push_str("<h2>Recent denials</h2><table id=denials><tr><th>when</th><th>plugin</th><th>run</th><th>what was denied</th><th>grant that would allow it</th></tr>");
    if list.is_empty() {
        o.push_str("<tr><td colspan=5 class=meta>None.</td></tr>");
    }
    for (_, d) in list {
        let _ = write!(
            o,
            "<tr class=denial><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            html::age(d.ts),
            esc(&d.plugin),
            d.run_id.as_deref().map(run_link).unwrap_or_default(),
            esc(&d.message),
            esc(&d.remedy)
        );
    }
    o.push_str("</table>");
    Ok(())
}

/// How long the trust report is reused: it reads every run and asks git
/// about each merge, too much to do on every redraw.
const TRUST_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

type Cached = std::sync::Mutex<Option<(std::time::Instant, String)>>;
static TRUST_REPORT: Cached = std::sync::Mutex::new(None);

/// Each role's track record; a promotion is shown as the command a human
/// runs (the dashboard never promotes).
fn trust(s: &Service, o: &mut String) -> Result<(), String> {
    let mut cached = TRUST_REPORT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, html)) = cached.as_ref()
        && at.elapsed() < TRUST_FRESH
    {
        o.push_str(html);
        return Ok(());
    }
    let mut html = String::new();
    trust_report(s, &mut html)?;
    o.push_str(&html);
    *cached = Some((std::time::Instant::now(), html));
    Ok(())
}

fn trust_report(s: &Service, o: &mut String) -> Result<(), String> {
    let recs = factory_orchestrator::track::report(&s.host).map_err(|e| e.to_string())?;
    o.push_str("<h2>Trust report</h2><p class=meta>Read at most 30 s ago.</p><table id=trust><tr><th>plugin</th><th>trust</th><th>runs</th><th>steps ok</th><th>merges</th><th>reverts</th><th>failed gates</th><th>promotion</th></tr>");
    if recs.is_empty() {
        o.push_str("<tr><td colspan=8 class=meta>No runs yet.</td></tr>");
    }
    for r in recs {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.plugin),
            r.trust
                .map_or("(removed)".to_string(), |t| t.name().to_string()),
            r.runs,
            r.steps_ok,
            r.steps_ok + r.steps_failed,
            r.merges,
            r.reverts,
            r.failed_gates,
            r.promote
                .as_deref()
                .map(|c| format!("could be promoted: <code>{}</code>", esc(c)))
                .unwrap_or_else(|| "<span class=meta>not yet</span>".into())
        );
    }
    o.push_str("</table>");
    Ok(())
}
