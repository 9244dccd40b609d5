//! `GET /runs/{id}`: one run.

use super::html::{self, esc};
use super::{page, timeline};
use crate::api::{S, query};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use factory_orchestrator::outcome::Delivery;
use factory_orchestrator::state::RunStatus;
use factory_store::journal::{Entry, EventRecord};
use std::fmt::Write as _;

/// The most of a diff a page shows.
const DIFF_SHOWN: usize = 64 * 1024;

pub async fn page_of(s: &crate::Service, id: &str, notice: &str) -> Response {
    let v = match factory_orchestrator::report::view(&s.host, id) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                Html(page(
                    "No such run",
                    "",
                    &format!("<main><p>No run <code>{}</code>.</p></main>", esc(id)),
                )),
            )
                .into_response();
        }
        Err(e) => return crate::api::internal(e),
    };
    let r = &v.run;
    let title = r.task["title"].as_str().unwrap_or("").to_string();
    let mut o = String::from("<main>");
    o.push_str(notice);
    let _ = write!(
        o,
        "<h1>{}</h1><p><b class=\"status {}\" id=run-status>{}</b> {} · run <code>{}</code> · trust {} · {} → {} · <span class=meta>{}</span></p>",
        esc(&title),
        esc(r.status.as_str()),
        esc(r.status.as_str()),
        esc(&r.reason),
        esc(&r.id),
        esc(&r.trust),
        esc(&r.branch),
        esc(&r.target),
        esc(&r.repo)
    );
    if let Ok(Some(t)) = s.queue.by_run(id) {
        let _ = write!(
            o,
            "<p class=meta>task <code>{}</code> from {} ({}), {}</p>",
            esc(&t.id),
            esc(&t.source),
            esc(t.state.as_str()),
            html::age(t.created)
        );
    }
    // Decisions.
    match &r.result {
        Some(res)
            if res.delivery == Delivery::Draft
                && res.decision.is_none()
                && r.status == RunStatus::Done =>
        {
            let _ = write!(
                o,
                "<div class=card id=decision><b class=draft>A draft waiting for a decision.</b> {}<br>{}</div>",
                esc(res.not_merged.as_deref().unwrap_or("")),
                html::decision_buttons(id)
            );
        }
        Some(res) => {
            let _ = write!(
                o,
                "<div class=card id=decision>Delivered: <b class={d}>{d}</b>{}{}</div>",
                res.merge_commit
                    .as_deref()
                    .map(|c| format!(" at <code>{}</code>", esc(html::short(c))))
                    .unwrap_or_default(),
                res.decision
                    .as_ref()
                    .map(|d| format!(
                        " · <b class={a}>{a}</b> by {} {}",
                        esc(&d.by),
                        esc(&d.note),
                        a = esc(&d.action)
                    ))
                    .unwrap_or_default(),
                d = res.delivery.as_str()
            );
        }
        None if r.status == RunStatus::Running => {
            let _ = write!(
                o,
                "<div class=card id=decision>Running. <form class=inline method=post action=\"/runs/{}/cancel\"><button type=submit name=cancel>Cancel</button></form></div>",
                super::urlencode(id)
            );
        }
        None => {}
    }
    let denials: Vec<EventRecord> = v
        .events
        .iter()
        .filter_map(|e| match e {
            Entry::Event { record, .. } if record.kind == "denial" => Some(record.clone()),
            _ => None,
        })
        .collect();
    let _ = write!(o, "<h2>Timeline</h2>{}", timeline::svg(&v.steps, &denials));
    // Costs per role.
    let _ = write!(
        o,
        "<h2>Cost</h2><p>{} tokens · {} in all</p><table id=costs><tr><th>role</th><th>tokens</th><th>cost</th><th>model calls</th></tr>",
        v.tokens,
        html::usd((v.cost_usd * 1e6).round() as u64)
    );
    for (role, tokens, cost, calls) in s.runs.usage(id).unwrap_or_default() {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{tokens}</td><td>{}</td><td>{calls}</td></tr>",
            esc(&role),
            html::usd(cost)
        );
    }
    o.push_str("</table>");
    if let Some(res) = &r.result {
        let _ = write!(o, "<h2>Gates</h2>{}", html::gates(&res.gates));
    }
    if !denials.is_empty() {
        o.push_str("<h2>Denials</h2><table><tr><th>plugin</th><th>what</th><th>grant that would allow it</th></tr>");
        for d in &denials {
            let _ = write!(
                o,
                "<tr class=denial><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&d.plugin),
                esc(&d.message),
                esc(&d.remedy)
            );
        }
        o.push_str("</table>");
    }
    if let Some(d) = &v.diff {
        let _ = write!(o, "<h2>Change</h2>{}", html::diff(d, DIFF_SHOWN));
    }
    o.push_str("<h2>Steps</h2><table id=steps><tr><th>time</th><th>task</th><th>step</th><th>status</th><th>what</th><th>took</th></tr>");
    for st in &v.steps {
        let _ = write!(
            o,
            "<tr class=step><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{} ms</td></tr>",
            html::hms(st.ts),
            esc(&st.task_id),
            esc(&if st.kind == "role" {
                format!("{} #{}", st.role, st.attempt)
            } else {
                st.kind.clone()
            }),
            esc(&st.status),
            esc(&st.status),
            esc(&st.summary),
            st.duration_ms
        );
    }
    o.push_str("</table></main>");
    Html(page(&format!("run {id}"), id, &o)).into_response()
}

pub async fn show(State(s): S, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw);
    let notice = q
        .iter()
        .find(|(k, _)| k == "done" || k == "error")
        .map(|(k, v)| {
            format!(
                "<p class=\"notice {}\" id=notice>{}</p>",
                if k == "error" { "error" } else { "" },
                esc(v)
            )
        })
        .unwrap_or_default();
    page_of(&s, &id, &notice).await
}
