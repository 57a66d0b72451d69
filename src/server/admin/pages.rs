//! The admin pages as HTML (maud), one function per page, and the small
//! stylesheet they share: one column on a phone, tables that scroll, every
//! figure in words and numbers, nothing told by colour alone.

use super::{LISTED, Signed, urlencode};
use crate::report::{Report, Scope};
use crate::server::AppState;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The stylesheet (`/admin/style.css`).
pub(super) const STYLE: &str = r#"
:root { font-family: system-ui, sans-serif; line-height: 1.4; color: #111; background: #fff; }
body { margin: 0 auto; max-width: 72rem; padding: 0.5rem 1rem 3rem; }
header nav { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; align-items: center; border-bottom: 2px solid #111; padding: 0.5rem 0; }
header nav a { font-weight: 600; }
header nav a[aria-current] { text-decoration: none; border-bottom: 3px solid #111; }
header form { margin-left: auto; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #999; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.5rem; padding: 0; list-style: none; }
.figures li { border: 2px solid #111; padding: 0.5rem; }
.figures strong { display: block; font-size: 1.6rem; }
form.inline { display: inline; }
label { display: block; margin: 0.4rem 0 0.1rem; font-weight: 600; }
input, select, button { font: inherit; padding: 0.35rem 0.5rem; max-width: 100%; }
input[type=text], input[type=password], input[type=tel], select { width: 22rem; }
button { border: 2px solid #111; background: #f2f2f2; cursor: pointer; }
button.danger { border-style: double; border-width: 4px; }
.notice { border: 2px solid #111; padding: 0.5rem; font-weight: 600; }
.notice::before { content: "Note: "; }
.error::before { content: "Problem: "; }
.diagram img { width: 100%; height: auto; border: 1px solid #999; }
audio { max-width: 100%; }
@media (max-width: 40rem) { input[type=text], input[type=password], input[type=tel], select { width: 100%; } th, td { padding: 0.25rem; } }
"#;

fn page(title: &str, here: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    let link = |href: &str, label: &str| {
        html! {
            @if href == here { a href=(href) aria-current="page" { (label) } }
            @else { a href=(href) { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Switchboard" }
                link rel="stylesheet" href="/admin/style.css";
            }
            body {
                header {
                    nav aria-label="Admin pages" {
                        strong { "Switchboard" }
                        @if let Some(s) = signed {
                            (link("/admin", "Today"))
                            (link("/admin/flow", "Flow"))
                            (link("/admin/voicemails", "Voicemails"))
                            (link("/admin/callbacks", "Callbacks"))
                            (link("/admin/callers", "Callers"))
                            form.inline method="post" action="/admin/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// No `SWITCHBOARD_ADMIN_PASSWORD`: no admin page.
pub(super) fn disabled() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        page(
            "No admin page",
            "",
            None,
            html! { p.notice { "The admin page is off on this server: set " code { (super::auth::PASSWORD_VAR) } " (a password of 12 characters or more, or its hash from " code { "switchboard admin-password" } ") and restart it." } },
        ),
    )
}

/// A form without its CSRF token.
pub(super) fn forbidden() -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        page(
            "Refused",
            "",
            None,
            html! { p.notice.error { "This form did not come from this admin page (its security token is missing or out of date). Go back, reload the page and send it again." } },
        ),
    )
}

/// Something went wrong with what an admin asked: say what, and that nothing changed.
pub(super) fn problem(status: StatusCode, what: &str) -> Response {
    html_response(
        status,
        page(
            "Not done",
            "",
            None,
            html! {
                p.notice.error { (what) }
                p { a href="/admin" { "Back to the admin page" } }
            },
        ),
    )
}

pub(super) fn login(csrf: &str, next: &str, message: Option<&str>) -> Markup {
    page(
        "Sign in",
        "",
        None,
        html! {
            @if let Some(m) = message { p.notice.error role="alert" { (m) } }
            form method="post" action="/admin/login" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="password" { "Admin password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus;
                p { button type="submit" { "Sign in" } }
            }
        },
    )
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0} s"))
}

fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn ago(now: jiff::Timestamp, t: jiff::Timestamp) -> String {
    crate::report::render::span(now.duration_since(t))
}

/// Now, as the end of a period: calls that started this very moment count.
fn period_end(st: &AppState) -> jiff::Timestamp {
    let now = st.now();
    now.checked_add(jiff::SignedDuration::from_secs(1))
        .unwrap_or(now)
}

/// The last day: since when, until when.
fn last_day(st: &AppState) -> (jiff::Timestamp, jiff::Timestamp) {
    let now = period_end(st);
    let since = now
        .checked_sub(jiff::SignedDuration::from_hours(24))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    (since, now)
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("The store did not answer: {e}. Reload the page to try again."),
    )
}

pub(super) async fn overview(
    State(st): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Response {
    overview_page(&st, &signed, None).await
}

/// What an admin typed into the close form and what was wrong with it, to
/// show the form again with each problem beside its field.
pub(super) struct CloseAttempt {
    pub group: String,
    pub until: String,
    /// Each language's message as typed, by language tag.
    pub messages: std::collections::BTreeMap<String, String>,
    pub problems: crate::routing::ClosureProblems,
}

/// A problem beside a form field, tied to it for screen readers.
fn field_problem(id: &str, problem: Option<&str>) -> Markup {
    html! { @if let Some(m) = problem { p.notice.error id=(format!("{id}-problem")) role="alert" { (m) } } }
}

/// The overview; with an attempt, the close form shows it again with its
/// problems (answered 400).
pub(super) async fn overview_page(
    st: &AppState,
    signed: &Signed,
    attempt: Option<CloseAttempt>,
) -> Response {
    use crate::routing::ClosureField;
    let (since, now) = last_day(st);
    let store = st.store();
    let read = async {
        let period = crate::store::reports::Period {
            now,
            ..crate::store::reports::Period::new(since, now)
        };
        let rows = store.report_rows(&period).await?;
        let purged_before = store.purged_before().await?;
        let live = store.live_calls(now).await?;
        let closures = store.closures(now).await?;
        let versions = store.versions(now).await?;
        Ok::<_, crate::store::StoreError>((rows, purged_before, live, closures, versions))
    };
    let (rows, purged_before, live, closures, versions) = match read.await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let scope = Scope {
        purged_before,
        ..Scope::new(since, now)
    };
    let r = Report::of(&rows, &scope);
    let program = st.program();
    let current = program.version.clone();
    let reload = st.last_reload();
    let abandoned: u64 = r.queues.iter().map(|q| q.abandoned).sum();
    let entered: u64 = r.queues.iter().map(|q| q.entered).sum();
    let body = html! {
        p { "The last 24 hours, from " (when(since)) " to " (when(now)) "."
            @if let Some(from) = r.covers_from { " Calls before " (when(from)) " have been purged: figures cover the time since." } }
        ul.figures {
            li { strong { (live) } "live calls now" }
            li { strong { (r.overall.calls) } "calls ended" }
            li { strong { (pct((entered > 0).then(|| abandoned as f64 / entered as f64))) } "abandoned in queue" }
            li { strong { (r.csat_overall.mean.map_or_else(|| "–".to_owned(), |m| format!("{m:.2} / 5"))) } "CSAT (" (r.csat_overall.answers) " answers)" }
        }
        h2 { "Outcomes" }
        div.scroll { table {
            thead { tr { th scope="col" { "Calls" } th.n scope="col" { "Ended" }
                @for c in &r.overall.outcomes { th.n scope="col" { (c.words) } } } }
            tbody {
                tr { th scope="row" { "All" } td.n { (r.overall.calls) }
                    @for c in &r.overall.outcomes { td.n { (c.calls) } } }
                @for k in &r.kinds { (outcome_row(&format!("Customer {}", k.name), k, &r.overall.outcomes)) }
                @for g in &r.groups { (outcome_row(&g.name, g, &r.overall.outcomes)) }
            }
        } }
        h2 { "Queues" }
        @if r.queues.is_empty() { p { "No caller waited in a queue." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Group" } th scope="col" { "Kind" } th.n scope="col" { "Entered" } th.n scope="col" { "Answered" }
                    th.n scope="col" { "Abandoned" } th.n scope="col" { "Abandonment" } th.n scope="col" { "Speed of answer" } th.n scope="col" { "Service level" } } }
                tbody { @for q in &r.queues { tr {
                    th scope="row" { (q.group) } td { (q.kind.as_deref().unwrap_or("")) }
                    td.n { (q.entered) } td.n { (q.answered) } td.n { (q.abandoned) } td.n { (pct(q.abandonment)) }
                    td.n { (secs(q.speed_of_answer_s)) } td.n { (pct(q.service_level)) " within " (q.threshold_s) " s" }
                } } }
            } }
        }
        h2 { "CSAT" }
        div.scroll { table {
            thead { tr { th scope="col" { "" } th.n scope="col" { "Answers" } th.n scope="col" { "Mean" } th.n scope="col" { "Response rate" } } }
            tbody {
                @for c in std::iter::once(&r.csat_overall).chain(&r.csat_by_kind).chain(&r.csat_by_group) {
                    tr { th scope="row" { (c.name) } td.n { (c.answers) }
                        td.n { (c.mean.map_or_else(|| "–".to_owned(), |m| format!("{m:.2}"))) } td.n { (pct(c.response_rate)) } }
                }
            }
        } }
        h2 #closures { "Closed groups" }
        @if closures.is_empty() { p { "No group is closed by hand." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Group" } th scope="col" { "Until" } th scope="col" { "Message" } th scope="col" { "" } } }
                tbody { @for c in closures.iter() { tr {
                    th scope="row" { (c.group) }
                    td { (when(c.until)) }
                    td { @for (l, t) in &c.message { span lang=(l.as_str()) { (l.as_str()) ": " (t) } br; } }
                    td { form.inline method="post" action=(format!("/admin/closures/{}/open", urlencode(&c.group))) {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        button type="submit" { "Open " (c.group) " again" } } }
                } } }
            } }
        }
        form method="post" action="/admin/closures" novalidate[attempt.is_some()] {
            input type="hidden" name="csrf" value=(signed.csrf);
            @if let Some(a) = &attempt {
                p.notice.error role="alert" { "The group is not closed: fix what is marked below and send the form again." }
                (field_problem("closure", a.problems.of(&ClosureField::Message(None))))
            }
            @let typed = |f: fn(&CloseAttempt) -> &str| attempt.as_ref().map_or("", f);
            @let group_problem = attempt.as_ref().and_then(|a| a.problems.of(&ClosureField::Group));
            label for="group" { "Close a group" }
            (field_problem("group", group_problem))
            select #group name="group" required aria-invalid=[group_problem.map(|_| "true")] aria-describedby=[group_problem.map(|_| "group-problem")] {
                @for g in &program.groups {
                    @if g.name == typed(|a| &a.group) { option value=(g.name) selected { (g.name) " — " (g.display_name) } }
                    @else { option value=(g.name) { (g.name) " — " (g.display_name) } }
                }
            }
            @let until_problem = attempt.as_ref().and_then(|a| a.problems.of(&ClosureField::Until));
            label for="until" { "Until (a time like 2026-12-24T09:00:00-05:00, or a span from now like 2h)" }
            (field_problem("until", until_problem))
            input #until type="text" name="until" required placeholder="2h" value=(typed(|a| &a.until))
                aria-invalid=[until_problem.map(|_| "true")] aria-describedby=[until_problem.map(|_| "until-problem")];
            @for lang in &program.languages {
                @let id = format!("message-{lang}");
                @let problem = attempt.as_ref().and_then(|a| a.problems.of(&ClosureField::Message(Some(lang.clone()))));
                label for=(id) { "Message callers hear first (" (lang.as_str()) ", optional)" }
                (field_problem(&id, problem))
                input id=(id) type="text" name=(format!("message:{lang}")) lang=(lang.as_str())
                    value=(attempt.as_ref().and_then(|a| a.messages.get(lang.as_str())).map_or("", String::as_str))
                    aria-invalid=[problem.map(|_| "true")] aria-describedby=[problem.map(|_| format!("{id}-problem"))];
            }
            p { button type="submit" { "Close the group" } }
        }
        h2 { "Flow versions" }
        p { "Serving new calls: " strong { (current) } "." }
        div.scroll { table {
            thead { tr { th scope="col" { "Version" } th scope="col" { "First seen" } th.n scope="col" { "Calls" } th.n scope="col" { "Live now" } } }
            tbody { @for v in versions.iter().rev().filter(|v| v.live > 0 || v.version == current) { tr {
                th scope="row" { (v.version) @if v.version == current { " (new calls)" } }
                td { (when(v.first_seen)) } td.n { (v.calls) } td.n { (v.live) }
            } } }
        } }
        h2 { "Last reload" }
        @match &reload {
            None => p { "No reload since this instance started." },
            Some(l) => {
                p { (when(l.at)) " (" (l.why) "): " (reload_words(&l.outcome)) }
                @if let crate::server::reload::Reloaded::Refused { diagnostics, .. } = &l.outcome {
                    div.scroll { pre { (diagnostics) } }
                }
            }
        }
    };
    let status = if attempt.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html_response(status, page("Today", "/admin", Some(signed), body))
}

fn outcome_row(
    name: &str,
    o: &crate::report::figures::Outcomes,
    columns: &[crate::report::figures::ClassCount],
) -> Markup {
    html! {
        tr { th scope="row" { (name) } td.n { (o.calls) }
            @for c in columns {
                td.n { (o.outcomes.iter().find(|x| x.outcome == c.outcome).map_or(0, |x| x.calls)) }
            }
        }
    }
}

fn reload_words(r: &crate::server::reload::Reloaded) -> String {
    use crate::server::reload::Reloaded;
    match r {
        Reloaded::Installed(v) => format!("installed version {v}; new calls use it"),
        Reloaded::Unchanged(v) => format!("the flows were unchanged (version {v})"),
        Reloaded::Refused { version, .. } => {
            format!("refused version {version}: it has errors, the last good set keeps serving")
        }
        Reloaded::Failed(e) => format!("failed: {e}; the last good set keeps serving"),
    }
}

#[derive(serde::Deserialize, Default)]
pub(super) struct FlowQuery {
    flow: Option<String>,
    period: Option<String>,
}

/// The periods the diagram can show: key, words, hours.
const PERIODS: &[(&str, &str, i64)] = &[
    ("day", "last 24 hours", 24),
    ("week", "last 7 days", 24 * 7),
    ("month", "last 30 days", 24 * 30),
];

fn period_of(
    st: &AppState,
    q: &FlowQuery,
) -> (&'static str, &'static str, jiff::Timestamp, jiff::Timestamp) {
    let (key, words, hours) = PERIODS
        .iter()
        .find(|(k, _, _)| Some(*k) == q.period.as_deref())
        .copied()
        .unwrap_or(PERIODS[0]);
    let now = period_end(st);
    let since = now
        .checked_sub(jiff::SignedDuration::from_hours(hours))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    (key, words, since, now)
}

fn flow_of(p: &crate::program::Program, q: &FlowQuery) -> crate::program::FlowId {
    q.flow
        .as_deref()
        .and_then(|f| p.flow_by_name(f))
        .unwrap_or(p.default_flow)
}

pub(super) async fn flow(
    State(st): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<FlowQuery>,
) -> Response {
    let p = st.program();
    let flow = flow_of(&p, &q);
    let flow_name = p
        .flows
        .get(flow.index())
        .map_or("", |f| f.name.as_str())
        .to_owned();
    let (key, words, since, until) = period_of(&st, &q);
    let traffic = match st.store().node_traffic(since, until).await {
        Ok(t) => t,
        Err(e) => return unavailable(e),
    };
    let prefix = format!("{flow_name}.");
    let mut rows: Vec<(&String, &crate::diagram::NodeTraffic)> = traffic
        .iter()
        .filter(|(n, _)| n.starts_with(&prefix))
        .collect();
    let rate = |t: &crate::diagram::NodeTraffic| {
        if t.reached == 0 {
            0.0
        } else {
            t.left as f64 / t.reached as f64
        }
    };
    rows.sort_by(|a, b| {
        rate(b.1)
            .total_cmp(&rate(a.1))
            .then(b.1.reached.cmp(&a.1.reached))
    });
    let svg = format!(
        "/admin/flow.svg?flow={}&period={key}",
        urlencode(&flow_name)
    );
    let body = html! {
        form method="get" action="/admin/flow" {
            label for="flow" { "Flow" }
            select #flow name="flow" {
                @for f in &p.flows {
                    @if f.name == flow_name { option value=(f.name) selected { (f.name) } }
                    @else { option value=(f.name) { (f.name) } }
                }
            }
            label for="period" { "Period" }
            select #period name="period" {
                @for (k, w, _) in PERIODS {
                    @if *k == key { option value=(k) selected { (w) } } @else { option value=(k) { (w) } }
                }
            }
            p { button type="submit" { "Show" } }
        }
        p { "Calls started in the " (words) ". Darker nodes had more callers; a thick border and the words " em { "high drop-off" } " mark nodes where at least a fifth of the callers who reached them hung up or abandoned." }
        div.diagram { img src=(svg) alt=(format!("The {flow_name} flow, each node labelled with the callers who reached it and who left there; the table below has the same figures.")); }
        p { a href=(svg) { "Open the diagram at full size" } " (zoom in to read each node's figures)." }
        h2 { "Where callers stumble, worst first" }
        @if rows.is_empty() { p { "No call reached this flow in the period." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Node" } th.n scope="col" { "Reached" } th.n scope="col" { "Left there" } th.n scope="col" { "Drop-off" } } }
                tbody { @for (node, t) in &rows { tr {
                    th scope="row" { (node) } td.n { (t.reached) } td.n { (t.left) } td.n { (pct(Some(rate(t)))) }
                } } }
            } }
        }
    };
    html_response(
        StatusCode::OK,
        page("Flow", "/admin/flow", Some(&signed), body),
    )
}

pub(super) async fn flow_svg(State(st): State<AppState>, Query(q): Query<FlowQuery>) -> Response {
    let p = st.program();
    let flow = flow_of(&p, &q);
    let (_, _, since, until) = period_of(&st, &q);
    let traffic = match st.store().node_traffic(since, until).await {
        Ok(t) => t,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    };
    let program = p.clone();
    let svg = tokio::task::spawn_blocking(move || {
        crate::diagram::traffic_svg(&program, Some(flow), &traffic)
    })
    .await;
    match svg {
        Ok(Ok(svg)) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            svg,
        )
            .into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot draw the flow: {e}\n"),
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot draw the flow\n").into_response(),
    }
}

#[derive(serde::Deserialize, Default)]
pub(super) struct GroupQuery {
    group: Option<String>,
}

fn group_filter(p: &crate::program::Program, action: &str, chosen: Option<&str>) -> Markup {
    html! {
        form method="get" action=(action) {
            label for="group" { "Group" }
            select #group name="group" {
                option value="" { "every group" }
                @for g in &p.groups {
                    @if Some(g.name.as_str()) == chosen { option value=(g.name) selected { (g.name) } }
                    @else { option value=(g.name) { (g.name) } }
                }
            }
            p { button type="submit" { "Show" } }
        }
    }
}

pub(super) async fn voicemails(
    State(st): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let group = q.group.as_deref().filter(|g| !g.is_empty());
    let open = match st.store().open_voicemails(group, LISTED).await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    let now = st.now();
    let p = st.program();
    let body = html! {
        (group_filter(&p, "/admin/voicemails", group))
        @if open.is_empty() { p { "No voicemail to handle." } }
        @else {
            p { (open.len()) " to handle, oldest first." }
            div.scroll { table {
                thead { tr { th scope="col" { "Left" } th scope="col" { "Group" } th scope="col" { "Caller" } th scope="col" { "Recording" } th scope="col" { "" } } }
                tbody { @for v in &open { tr {
                    td { (when(v.at)) br; (ago(now, v.at)) " ago" }
                    td { (v.group) }
                    td { (v.caller.as_deref().unwrap_or("(erased)")) }
                    td { audio controls preload="none" src=(v.url) { } br; a href=(v.url) { "Recording (" (v.seconds) " s)" } }
                    td { form.inline method="post" action=(format!("/admin/voicemails/{}/done", v.id)) {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        button type="submit" { "Mark handled" } } }
                } } }
            } }
        }
    };
    html_response(
        StatusCode::OK,
        page("Voicemails", "/admin/voicemails", Some(&signed), body),
    )
}

pub(super) async fn callbacks(
    State(st): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<GroupQuery>,
) -> Response {
    let group = q.group.as_deref().filter(|g| !g.is_empty());
    let open = match st.store().open_callbacks(group, LISTED).await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    let now = st.now();
    let p = st.program();
    let body = html! {
        (group_filter(&p, "/admin/callbacks", group))
        @if open.is_empty() { p { "No callback request is open." } }
        @else {
            p { (open.len()) " open, oldest first." }
            div.scroll { table {
                thead { tr { th scope="col" { "Asked" } th scope="col" { "Waiting" } th scope="col" { "Group" } th scope="col" { "Number" } th scope="col" { "" } } }
                tbody { @for c in &open { tr {
                    td { (when(c.at)) } td { (ago(now, c.at)) }
                    td { (c.group) }
                    td { a href=(format!("tel:{}", c.number)) { (c.number) } }
                    td { form.inline method="post" action=(format!("/admin/callbacks/{}/done", c.id)) {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        button type="submit" { "Mark called back" } } }
                } } }
            } }
        }
    };
    html_response(
        StatusCode::OK,
        page("Callbacks", "/admin/callbacks", Some(&signed), body),
    )
}

#[derive(serde::Deserialize, Default)]
pub(super) struct NumberQuery {
    number: Option<String>,
}

pub(super) async fn callers(
    State(st): State<AppState>,
    Extension(signed): Extension<Signed>,
    Query(q): Query<NumberQuery>,
) -> Response {
    callers_page(&st, &signed, q.number.as_deref(), None).await
}

/// The callers page for `number`; with a problem, the erase form shows it
/// beside its confirmation box (answered 400).
pub(super) async fn callers_page(
    st: &AppState,
    signed: &Signed,
    number: Option<&str>,
    confirm_problem: Option<&str>,
) -> Response {
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    let found = match number {
        Some(n) => match st.store().export_caller(n).await {
            Ok(doc) => Some(doc),
            Err(e) => return unavailable(e),
        },
        None => None,
    };
    let count = |doc: &serde_json::Value, key: &str| {
        doc.get(key).and_then(|v| v.as_array()).map_or(0, Vec::len)
    };
    let body = html! {
        p { "What is stored about one caller's number: download it (the right of access), or erase it (the right to erasure: its calls' steps, voicemails and callbacks are deleted, the call rows kept for reports under a keyed hash)." }
        form method="get" action="/admin/callers" {
            label for="number" { "Caller's number, exactly as stored (e.g. +15550001234)" }
            input #number type="tel" name="number" value=(number.unwrap_or("")) required;
            p { button type="submit" { "Look up" } }
        }
        @if let (Some(n), Some(found)) = (number, &found) {
            @match found {
                None => p.notice { "Nothing is stored about " (n) "." },
                Some(doc) => {
                    p { "Stored about " strong { (n) } ": " (count(doc, "calls")) " calls and " (count(doc, "callbacks_to_this_number")) " callback requests to the number." }
                    form method="post" action="/admin/callers/export" {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        input type="hidden" name="number" value=(n);
                        p { button type="submit" { "Download everything stored (JSON)" } }
                    }
                    form method="post" action="/admin/callers/erase" {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        input type="hidden" name="number" value=(n);
                        label for="confirm" { "To erase, type the number again" }
                        (field_problem("confirm", confirm_problem))
                        input #confirm type="tel" name="confirm" required autocomplete="off"
                            aria-invalid=[confirm_problem.map(|_| "true")] aria-describedby=[confirm_problem.map(|_| "confirm-problem")];
                        p { button.danger type="submit" { "Erase " (n) " for good" } }
                    }
                }
            }
        }
    };
    let status = if confirm_problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html_response(
        status,
        page("Callers", "/admin/callers", Some(signed), body),
    )
}

pub(super) fn erased(number: &str, e: &crate::store::callers::Erasure) -> Response {
    let body = html! {
        @if e.found_anything() {
            p { "Erased " (number) ": " (e.steps) " steps, " (e.voicemails) " voicemails and " (e.callbacks) " callback requests deleted; " (e.calls) " call rows kept for reports under " code { (e.hash) } "." }
            @if e.live > 0 { p.notice { (e.live) " calls still in progress were left: erase the number again once they have ended." } }
            @if !e.recordings.is_empty() {
                p.notice { "The provider still keeps these recordings: delete them there." }
                ul { @for r in &e.recordings { li { (r) } } }
            }
        } @else {
            p { "Nothing was stored about " (number) ": nothing to erase." }
        }
        p { a href="/admin/callers" { "Back to callers" } }
    };
    html_response(StatusCode::OK, page("Erased", "/admin/callers", None, body))
}
