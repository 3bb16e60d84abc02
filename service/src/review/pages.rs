//! The review page's HTML, built with maud: every value is escaped where it is written (a
//! title, prompt or manifest field holding markup is shown as text). No script: forms and
//! links work without JavaScript, and the video's blur is a labelled checkbox and CSS.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::Value;
use verity_detect::classifier::score::{OperatingPoint, Unscored};

use crate::db;
use crate::review::auth::Session;
use crate::review::store::{AuditEntry, Decision, Item, QueueSummary};

const STYLE: &str = r#"
:root { font-family: system-ui, sans-serif; color: #1d1d1f; background: #fafafa; }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1d2b3a; color: #fff; }
header a, header button.link { color: #fff; }
header .who { margin-left: auto; }
main { padding: 1rem 1.2rem; max-width: 72rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid #ddd; vertical-align: top; }
button, input[type=submit] { font: inherit; padding: .35rem .9rem; }
button.link { background: none; border: none; text-decoration: underline; cursor: pointer; padding: 0; }
:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.flash { background: #fff4ce; padding: .5rem .8rem; border-left: 4px solid #f5a623; }
.error { background: #fde7e9; padding: .5rem .8rem; border-left: 4px solid #c50f1f; }
.grid { display: grid; grid-template-columns: minmax(20rem, 1fr) minmax(20rem, 1fr); gap: 1.5rem; }
.player { position: relative; }
.player video { width: 100%; max-height: 28rem; background: #000; }
.blur video { filter: blur(28px); }
.reveal { position: absolute; opacity: 0; }
.reveal:checked ~ .player video { filter: none; }
.reveal:focus-visible + label { outline: 3px solid #f5a623; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
section { margin-bottom: 1.2rem; }
fieldset { border: 1px solid #ccc; }
textarea { width: 100%; min-height: 5rem; font: inherit; }
.timeline rect.over { fill: #c50f1f; }
.timeline rect { fill: #4f6d8f; }
.timeline rect.unscored { fill: #d0d0d0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
"#;

/// A whole page.
pub fn page(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · verity review" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "verity review" }
                    @if let Some(s) = session {
                        nav aria-label="Review" {
                            a href="/review" { "Queues" }
                            " "
                            a href="/review/audit" { "Audit log" }
                        }
                        span.who { (s.name) " (" (s.role.as_str()) ")" }
                        form method="post" action="/review/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An error shown as a page.
pub fn error_page(session: Option<&Session>, message: &str) -> Markup {
    page(
        "Error",
        session,
        html! {
            h1 { "Something is wrong" }
            p.error role="alert" { (message) }
            p { a href="/review" { "Back to the queues" } }
        },
    )
}

pub fn login(csrf: &str, error: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to review" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/review/login" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "With your reviewer account" }
                    p {
                        label for="name" { "Name" } br;
                        input #name type="text" name="name" autocomplete="username";
                    }
                    p {
                        label for="password" { "Password" } br;
                        input #password type="password" name="password" autocomplete="current-password";
                    }
                }
                fieldset {
                    legend { "Or with an admin API key of this service" }
                    p {
                        label for="token" { "API key" } br;
                        input #token type="password" name="token" autocomplete="off";
                    }
                }
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

fn age(ms: i64) -> String {
    let s = (db::now_ms() - ms).max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

pub fn queues(s: &Session, queues: &[QueueSummary], flash: Option<&str>) -> Markup {
    page(
        "Queues",
        Some(s),
        html! {
            h1 { "Queues" }
            @if let Some(f) = flash { p.flash role="status" { (f) } }
            table {
                caption.visually-hidden { "Review queues" }
                thead { tr { th scope="col" { "Queue" } th scope="col" { "Open" } th scope="col" { "Not claimed" } th scope="col" { "Oldest waiting" } th scope="col" { span { "Action" } } } }
                tbody {
                    @for q in queues {
                        tr data-queue=(q.name) {
                            th scope="row" { (q.title) }
                            td.count { (q.open) }
                            td { (q.unclaimed) }
                            td { @if let Some(t) = q.oldest_at { (age(t)) } @else { "–" } }
                            td {
                                @if q.leads_only && !s.role.leads() {
                                    "leads only"
                                } @else if q.unclaimed > 0 || q.open > 0 {
                                    form method="post" action={ "/review/queues/" (q.name) "/start" } {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        button type="submit" aria-label={ "Start reviewing " (q.title) } { "Start reviewing" }
                                    }
                                } @else {
                                    "empty"
                                }
                            }
                        }
                    }
                }
            }
            @if s.reviewer_id.is_some() {
                form method="post" action="/review/settings" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="blur" value=(if s.blur { "0" } else { "1" });
                    p {
                        "Videos are " (if s.blur { "blurred until you click them" } else { "shown at once" }) ". "
                        button type="submit" { (if s.blur { "Show videos at once" } else { "Blur videos until clicked" }) }
                    }
                }
            }
        },
    )
}

fn text(v: &Value, p: &str) -> Option<String> {
    match v.pointer(p)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn field(v: &Value, p: &str) -> String {
    text(v, p).unwrap_or_else(|| "–".into())
}

/// A probability or score, to three places ("< 0.001" below that).
fn num(v: &Value, p: &str) -> String {
    match v.pointer(p).and_then(Value::as_f64) {
        None => field(v, p),
        Some(x) if x > 0.0 && x < 0.001 => "< 0.001".into(),
        Some(x) => format!("{x:.3}"),
    }
}

/// What the classifier's threshold is measured to flag, as its operating point records it: on
/// validation, and on real scenes it never met where that is recorded.
fn threshold_rates(classifier: &Value) -> String {
    classifier
        .get("operating_point")
        .and_then(|o| serde_json::from_value::<OperatingPoint>(o.clone()).ok())
        .map_or_else(
            || {
                format!(
                    "{} (false positives on validation: {})",
                    num(classifier, "/operating_point/threshold"),
                    num(classifier, "/operating_point/measured_fpr")
                )
            },
            |o| o.describe(),
        )
}

/// The classifier's per-segment scores as bars over the clip, and the stretches it did not
/// score as grey bands, with their numbers in a table for screen readers.
fn timeline(classifier: &Value) -> Markup {
    let list = |key: &str| {
        classifier
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (segments, unscored) = (list("segments"), list("unscored"));
    let threshold = classifier
        .pointer("/operating_point/threshold")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    let end = segments
        .iter()
        .chain(&unscored)
        .filter_map(|s| s.get("end_s").and_then(Value::as_f64))
        .fold(0.0f64, f64::max)
        .max(0.001);
    let (w, h) = (600.0, 80.0);
    let secs = |v: &Value, key: &str| v.get(key).and_then(Value::as_f64);
    // The table's rows in the file's order: (from, to, score or why not scored).
    let mut rows: Vec<(f64, f64, String)> = segments
        .iter()
        .map(|s| {
            let start = secs(s, "start_s").unwrap_or(0.0);
            (start, secs(s, "end_s").unwrap_or(start), num(s, "/score"))
        })
        .chain(unscored.iter().map(|g| {
            let start = secs(g, "start_s").unwrap_or(0.0);
            let why = g
                .get("why")
                .and_then(|w| Unscored::deserialize(w).ok())
                .map_or_else(
                    || "not scored".to_string(),
                    |u| format!("not scored: {}", u.describe()),
                );
            (start, secs(g, "end_s").unwrap_or(start), why)
        }))
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    html! {
        @if segments.is_empty() {
            p { "No segment scores." }
        } @else {
            svg.timeline width="100%" viewBox={ "0 0 " (w) " " (h + 16.0) } role="img"
                aria-label="The classifier's score over the clip, one bar per segment; grey bands where nothing was scored" {
                // The bands first, so that a segment's bar stays on top of a band it overlaps.
                @for gap in &unscored {
                    @let start = secs(gap, "start_s").unwrap_or(0.0);
                    @let stop = secs(gap, "end_s").unwrap_or(start);
                    rect.unscored x=(format!("{:.1}", start / end * w)) y="0"
                        width=(format!("{:.1}", ((stop - start) / end * w).max(1.0))) height=(format!("{h:.1}")) {
                        title { (format!("{start:.1}–{stop:.1} s: not scored")) }
                    }
                }
                @for seg in &segments {
                    @let start = secs(seg, "start_s").unwrap_or(0.0);
                    @let stop = secs(seg, "end_s").unwrap_or(start);
                    @let score = secs(seg, "score").unwrap_or(0.0);
                    @let x = start / end * w;
                    @let bw = ((stop - start) / end * w - 2.0).max(1.0);
                    @let bh = (score * h).max(1.0);
                    rect class=(if score >= threshold { "over" } else { "" })
                        x=(format!("{x:.1}")) y=(format!("{:.1}", h - bh)) width=(format!("{bw:.1}")) height=(format!("{bh:.1}")) {
                        title { (format!("{start:.1}–{stop:.1} s: {score:.3}")) }
                    }
                }
                line x1="0" x2=(w) y1=(format!("{:.1}", h - threshold * h)) y2=(format!("{:.1}", h - threshold * h)) stroke="#c50f1f" stroke-dasharray="4 3" {}
                text x="0" y=(h + 14.0) font-size="11" { "0 s" }
                text x=(w) y=(h + 14.0) font-size="11" text-anchor="end" { (format!("{end:.1} s")) }
            }
            details {
                summary { "Scores by segment, and stretches not scored" }
                table {
                    thead { tr { th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Score" } } }
                    tbody {
                        @for (start, stop, what) in &rows {
                            tr {
                                td { (format!("{start:.1}")) " s" }
                                td { (format!("{stop:.1}")) " s" }
                                td { (what) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn evidence(r: &Value) -> Markup {
    let c2pa = r.get("c2pa").cloned().unwrap_or_default();
    let list = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    html! {
        section aria-labelledby="h-verdict" {
            h2 #h-verdict { "Verdict: " (field(r, "/verdict/label")) }
            p { (field(r, "/verdict/summary")) }
            ul {
                @for e in list(r.get("verdict").unwrap_or(&Value::Null), "evidence") {
                    li { (e.as_str().unwrap_or_default()) }
                }
            }
        }
        section aria-labelledby="h-c2pa" {
            h2 #h-c2pa { "Content credentials (C2PA)" }
            dl {
                dt { "State" } dd { (field(&c2pa, "/state")) }
                dt { "Recovered via" } dd { (field(&c2pa, "/recovered_via")) }
                dt { "Signer" } dd { (field(&c2pa, "/signer/common_name")) }
                dt { "Issuer" } dd { (field(&c2pa, "/signer/issuer")) }
                dt { "Title" } dd { (field(&c2pa, "/title")) }
                dt { "Claim generator" } dd { (field(&c2pa, "/claim_generator")) }
                dt { "AI-generated" } dd { (field(&c2pa, "/ai_generated")) }
            }
            @let actions = list(&c2pa, "actions");
            @if !actions.is_empty() {
                h3 { "Actions" }
                ul { @for a in &actions { li { (field(a, "/action")) @if let Some(d) = text(a, "/digital_source_type") { " (" (d) ")" } } } }
            }
            @let ingredients = list(&c2pa, "ingredients");
            @if !ingredients.is_empty() {
                h3 { "Ingredients" }
                ul { @for i in &ingredients { li { (field(i, "/title")) ", " (field(i, "/relationship")) @if i.get("has_manifest").and_then(Value::as_bool) == Some(true) { ", with its own manifest" } } } }
            }
        }
        section aria-labelledby="h-mark" {
            h2 #h-mark { "Watermark and badge" }
            dl {
                dt { "Watermark" } dd { (if r.pointer("/watermark/found").and_then(Value::as_bool) == Some(true) { "found" } else { "not found" }) }
                dt { "Payload" } dd { code { (field(r, "/watermark/payload")) } }
                dt { "False-positive bound" } dd { (field(r, "/watermark/false_positive_bound")) }
                dt { "Confidence" } dd { (num(r, "/watermark/confidence")) }
                dt { "Visible badge" } dd { (if r.pointer("/visible_mark/found").and_then(Value::as_bool) == Some(true) { "found" } else { "not found" }) " (" (num(r, "/visible_mark/confidence")) ")" }
            }
        }
        section aria-labelledby="h-classifier" {
            h2 #h-classifier { "Classifier" }
            @match r.get("classifier") {
                Some(c) if !c.is_null() => {
                    dl {
                        dt { "Status" } dd { (field(c, "/status")) }
                        dt { "Synthetic probability" } dd { (num(c, "/synthetic_probability")) }
                        dt { "Threshold" } dd { (threshold_rates(c)) }
                        dt { "Model" } dd { (field(c, "/model")) }
                    }
                    (timeline(c))
                }
                _ => { p { "Not run on this file." } }
            }
        }
    }
}

/// Everything the item page shows.
#[derive(Debug)]
pub struct ItemView<'a> {
    pub session: &'a Session,
    pub item: &'a Item,
    pub held: bool,
    pub history: &'a [Decision],
    pub audit: &'a [AuditEntry],
    pub actions: &'a [String],
    pub queue_title: &'a str,
    pub error: Option<&'a str>,
}

pub fn item(v: &ItemView<'_>) -> Markup {
    let it = v.item;
    let s = v.session;
    page(
        &it.file_name,
        Some(s),
        html! {
            h1 { (it.file_name) }
            p {
                "Queue: " (v.queue_title) ". "
                @if !it.open {
                    "Closed: " (it.decision.as_deref().unwrap_or("–")) "."
                } @else if v.held {
                    "Claimed by you until " (it.claim_until.map(db::rfc3339).unwrap_or_default()) "."
                } @else if let Some(by) = &it.claimed_by {
                    "Claimed by " (by) "."
                }
            }
            @if let Some(e) = v.error { p.error role="alert" { (e) } }
            div.grid {
                div {
                    @if it.video.is_some() {
                        @if s.blur {
                            input.reveal #reveal type="checkbox";
                            label for="reveal" { "Show the video (it is blurred until you do)" }
                            div.player.blur {
                                video #video controls preload="metadata" src={ "/review/items/" (it.id) "/video" } aria-label={ "The video " (it.file_name) } {}
                            }
                        } @else {
                            div.player {
                                video #video controls preload="metadata" src={ "/review/items/" (it.id) "/video" } aria-label={ "The video " (it.file_name) } {}
                            }
                        }
                    } @else {
                        p { "The video is not kept (the item is closed)." }
                    }
                    dl {
                        dt { "SHA-256" } dd { code { (it.file_sha256.as_deref().unwrap_or("–")) } }
                        dt { "Job" } dd { code { (it.job_id) } }
                        dt { "Came in" } dd { (db::rfc3339(it.created_at)) }
                    }
                    @if v.held {
                        form method="post" action={ "/review/items/" (it.id) "/decide" } {
                            input type="hidden" name="csrf" value=(s.csrf);
                            fieldset {
                                legend { "Decision" }
                                @for (i, a) in ["approve", "remove", "escalate"].iter().map(|a| a.to_string()).chain(v.actions.iter().cloned()).enumerate() {
                                    p {
                                        input type="radio" name="action" value=(a) id={ "action-" (i) } required;
                                        " "
                                        label for={ "action-" (i) } { (a) }
                                    }
                                }
                            }
                            p {
                                label for="note" { "Note (required)" } br;
                                textarea #note name="note" required {}
                            }
                            p {
                                button type="submit" name="next" value="0" { "Decide" }
                                " "
                                button type="submit" name="next" value="1" { "Decide and next" }
                            }
                        }
                    }
                }
                div { (evidence(&it.report)) }
            }
            section aria-labelledby="h-history" {
                h2 #h-history { "Decisions on this file or this watermark payload" }
                @if v.history.is_empty() {
                    p { "None yet." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "File" } th scope="col" { "Who" } th scope="col" { "Decision" } th scope="col" { "Note" } } }
                        tbody {
                            @for d in v.history {
                                tr { td { (d.at) } td { (d.file_name) } td { (d.who) } td { (d.action) } td { (d.note) } }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="h-audit" {
                h2 #h-audit { "Audit log of this item" }
                (audit_table(v.audit))
            }
        },
    )
}

pub fn audit_table(entries: &[AuditEntry]) -> Markup {
    html! {
        table.audit {
            thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Subject" } th scope="col" { "Detail" } } }
            tbody {
                @for e in entries {
                    tr { td { (e.at) } td { (e.actor) } td { (e.action) } td { code { (e.subject) } } td { code { (e.detail.to_string()) } } }
                }
            }
        }
    }
}

pub fn audit(s: &Session, who: &str, actors: &[String], entries: &[AuditEntry]) -> Markup {
    page(
        "Audit log",
        Some(s),
        html! {
            h1 { "Audit log: " (who) }
            @if s.role.leads() {
                form method="get" action="/review/audit" {
                    label for="who" { "Reviewer" } " "
                    select #who name="who" {
                        @for a in actors { option value=(a) selected[a == who] { (a) } }
                    }
                    " " button type="submit" { "Show" }
                }
                form method="get" action="/review/export" {
                    fieldset {
                        legend { "Export decisions" }
                        label for="since" { "From (RFC 3339)" } " "
                        input #since type="text" name="since" value="1970-01-01T00:00:00Z";
                        " " label for="until" { "Until" } " "
                        input #until type="text" name="until" value=(db::rfc3339(db::now_ms() + 60_000));
                        " " label for="format" { "Format" } " "
                        select #format name="format" { option value="csv" { "CSV" } option value="json" { "JSON" } }
                        " " button type="submit" { "Export" }
                    }
                }
            }
            (audit_table(entries))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The threshold's rates as the operating point records them: the unseen-scene rate where
    /// one is recorded, the validation rate alone for a report that carries only that.
    #[test]
    fn the_threshold_names_its_rate_on_unseen_scenes() {
        let mut section = serde_json::json!({
            "operating_point": {
                "threshold": 0.836, "target_fpr": 0.01, "measured_fpr": 0.0087,
                "fpr_upper_95": 0.031, "negatives": 229, "split": "val",
                "unseen": [{ "split": "abc", "scenes": ["box", "cup"], "negatives": 252, "flagged": 39 }]
            }
        });
        let text = threshold_rates(&section);
        assert!(
            text.starts_with("a threshold of 0.84")
                && text.contains("39 of 252 non-AI clips (15.5 %")
                && text.contains("2 real scenes"),
            "{text}"
        );
        section["operating_point"] = serde_json::json!({ "threshold": 0.8, "measured_fpr": 0.01 });
        assert_eq!(
            threshold_rates(&section),
            "0.800 (false positives on validation: 0.010)"
        );
    }

    /// Unscored stretches widen the timeline to the whole file and are drawn and listed as
    /// not scored; a section without them draws only its segments.
    #[test]
    fn the_timeline_shows_what_was_not_scored() {
        let section = serde_json::json!({
            "operating_point": { "threshold": 0.8 },
            "segments": [
                { "start_s": 0.0, "end_s": 2.0, "score": 0.1 },
                { "start_s": 4.0, "end_s": 6.0, "score": 0.9 }
            ],
            "unscored": [
                { "start_s": 6.9, "end_s": 10.0, "why": "far-from-key-frames" },
                { "start_s": 2.5, "end_s": 3.5, "why": "far-from-key-frames" }
            ]
        });
        let html = timeline(&section).into_string();
        assert!(html.contains("10.0 s</text>"), "{html}");
        assert_eq!(html.matches("rect class=\"unscored\"").count(), 2, "{html}");
        assert!(html.contains("6.9–10.0 s: not scored"), "{html}");
        // Bands under the bars; rows in the file's order.
        assert!(html.find("unscored").unwrap() < html.find("class=\"over\"").unwrap());
        let rows: Vec<usize> = ["0.0 s", "2.5 s", "4.0 s", "6.9 s"]
            .iter()
            .map(|r| html.find(&format!("<td>{r}</td>")).unwrap())
            .collect();
        assert!(rows.windows(2).all(|p| p[0] < p[1]), "{html}");
        assert_eq!(
            html.matches("<td>not scored: no key frame near</td>")
                .count(),
            2
        );
        let mut plain = section.clone();
        plain["unscored"] = serde_json::json!([]);
        let html = timeline(&plain).into_string();
        assert!(html.contains("6.0 s</text>"), "{html}");
        assert!(!html.contains("rect class=\"unscored\"") && !html.contains("<td>not scored"));
    }
}
