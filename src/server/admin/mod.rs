//! The admin web page at `/admin`, for supervisors in a browser: the last
//! day at a glance, the flow diagram shaded by traffic and drop-off, the
//! voicemail inbox, the callback queue, group closures, the versions
//! serving calls and the last reload, and a caller's export and erasure.
//!
//! Server-rendered HTML (maud: templates checked at compile time), no
//! JavaScript, nothing loaded from elsewhere but the provider's voicemail
//! recordings. Every route but the login form and the stylesheet needs a
//! session ([`auth`]); every form posts a CSRF token checked before its
//! handler runs. Without `SWITCHBOARD_ADMIN_PASSWORD` there is no admin page.

pub mod auth;
mod pages;

use super::AppState;
use crate::store::admin::{Marked, Tray};
use auth::{AdminAuth, COOKIE, LOGIN_COOKIE};
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Most bytes an admin form may post.
const FORM_LIMIT: usize = 16 * 1024;

/// Rows a listing shows at most.
const LISTED: u32 = 500;

/// The admin routes (all of them answer 404 when there is no admin page).
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    let private = Router::new()
        .route("/admin", get(pages::overview))
        .route("/admin/flow", get(pages::flow))
        .route("/admin/flow.svg", get(pages::flow_svg))
        .route("/admin/voicemails", get(pages::voicemails))
        .route("/admin/voicemails/{id}/done", post(voicemail_done))
        .route("/admin/recordings/{name}", get(recording))
        .route("/admin/callbacks", get(pages::callbacks))
        .route("/admin/callbacks/{id}/done", post(callback_done))
        .route("/admin/closures", post(close))
        .route("/admin/closures/{group}/open", post(open))
        .route("/admin/callers", get(pages::callers))
        .route("/admin/callers/export", post(export_caller))
        .route("/admin/callers/erase", post(erase_caller))
        .route("/admin/logout", post(logout))
        .route_layer(from_fn_with_state(state.clone(), require_session));
    let public = Router::new()
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/style.css", get(style));
    private
        .merge(public)
        .layer(axum::middleware::from_fn(headers))
}

/// What a signed-in request carries to its handler.
#[derive(Clone, Debug)]
pub(super) struct Signed {
    /// The session's CSRF token, for the page's forms.
    pub(super) csrf: String,
}

/// The form a POST carried, already checked for its CSRF token.
#[derive(Clone, Debug, Default)]
pub(super) struct Posted(pub(super) BTreeMap<String, String>);

impl Posted {
    fn get(&self, key: &str) -> &str {
        self.0.get(key).map_or("", String::as_str)
    }
}

fn auth_of(st: &AppState) -> Option<&Arc<AdminAuth>> {
    st.admin.as_ref()
}

fn unix_now(st: &AppState) -> i64 {
    st.now().as_second()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// No session: a page asks for the login form; anything else is 401. A
/// POST whose CSRF token is missing or wrong is 403, its handler never run.
async fn require_session(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = auth_of(&st).cloned() else {
        return pages::disabled();
    };
    let session = cookie(req.headers(), COOKIE).and_then(|c| auth.session(c, unix_now(&st)));
    let Some(session) = session else {
        if req.method() == Method::GET {
            let next_path = req
                .uri()
                .path_and_query()
                .map_or("/admin", |p| p.as_str())
                .to_owned();
            let to = format!("/admin/login?next={}", urlencode(&next_path));
            return Redirect::to(&to).into_response();
        }
        return (StatusCode::UNAUTHORIZED, "sign in at /admin/login first\n").into_response();
    };
    let csrf = auth.csrf(&session);
    let (mut parts, body) = req.into_parts();
    if parts.method == Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "form too large\n").into_response();
        };
        let posted = Posted(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        if !auth.csrf_ok(&session, posted.get("csrf")) {
            tracing::warn!("admin: refused a form without its session's CSRF token");
            return pages::forbidden();
        }
        parts.extensions.insert(posted);
        parts.extensions.insert(Signed { csrf });
        return next
            .run(Request::from_parts(parts, axum::body::Body::empty()))
            .await;
    }
    parts.extensions.insert(Signed { csrf });
    next.run(Request::from_parts(parts, body)).await
}

/// Every admin answer: not cached, not framed, no scripts, nothing fetched
/// but our own stylesheet and images and the recordings.
async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; media-src https: http:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    res
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLE,
    )
        .into_response()
}

/// Cookies are `Secure` when the admin page is reached over HTTPS (the
/// public URL, or a proxy saying so); over plain HTTP (a local test) they
/// could not be sent back otherwise.
fn secure(st: &AppState, headers: &HeaderMap) -> bool {
    st.inner
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool, path: &str) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(serde::Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

/// Only our own pages are somewhere to go after signing in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin") && !n.starts_with("//") && !n.contains("://") => {
            n.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

async fn login_form(
    State(st): State<AppState>,
    Query(q): Query<NextQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(auth) = auth_of(&st) else {
        return pages::disabled();
    };
    let (nonce, token) = auth.login_form();
    let mut res = pages::login(&token, &safe_next(q.next.as_deref()), None).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            LOGIN_COOKIE,
            &nonce,
            3600,
            secure(&st, &headers),
            "/admin/login",
        ),
    );
    res
}

async fn login(State(st): State<AppState>, req: Request) -> Response {
    let Some(auth) = auth_of(&st).cloned() else {
        return pages::disabled();
    };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().copied();
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let Ok(body) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "form too large\n").into_response();
    };
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |k: &str| form.get(k).map_or("", String::as_str);
    let next = safe_next(Some(field("next")));
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if nonce.is_empty() || !auth.login_ok(nonce, field("csrf")) {
        tracing::warn!(
            "admin: refused a login form that was not ours (missing or wrong CSRF token)"
        );
        return pages::forbidden();
    }
    let client = peer.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
    let now = std::time::Instant::now();
    if let Some(wait) = auth.wait_before_trying(client, now) {
        let secs = wait.as_secs().max(1);
        let mut res = (
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(
                field("csrf"),
                &next,
                Some(&format!(
                    "Too many failed sign-ins from your address: wait {secs} s before trying again."
                )),
            ),
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return res;
    }
    let password = field("password").to_owned();
    let checker = auth.clone();
    let ok = tokio::task::spawn_blocking(move || checker.verify(&password))
        .await
        .unwrap_or(false);
    if !ok {
        auth.failed(client, now);
        tracing::warn!(client = %client, "admin: a failed sign-in");
        return (
            StatusCode::UNAUTHORIZED,
            pages::login(field("csrf"), &next, Some("That password is not right.")),
        )
            .into_response();
    }
    auth.succeeded(client);
    tracing::info!(client = %client, "admin: signed in");
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            COOKIE,
            &auth.issue(unix_now(&st)),
            auth::SESSION.as_secs(),
            secure(&st, &headers),
            "/admin",
        ),
    );
    res
}

async fn logout(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let mut res = Redirect::to("/admin/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(COOKIE, "", 0, secure(&st, &headers), "/admin"),
    );
    res
}

/// A recording a provider uploaded (a VoiceXML voicemail), for supervisors.
async fn recording(State(st): State<AppState>, Path(name): Path<String>) -> Response {
    let missing = || {
        pages::problem(
            StatusCode::NOT_FOUND,
            "There is no such recording: it may have been purged or erased.",
        )
    };
    if !crate::server::uploads::is_ours(&name) {
        return missing();
    }
    match tokio::fs::read(st.uploads().join(&name)).await {
        Ok(audio) => ([(header::CONTENT_TYPE, "audio/wav")], audio).into_response(),
        Err(_) => missing(),
    }
}

async fn voicemail_done(st: State<AppState>, Path(id): Path<i64>) -> Response {
    mark(st, Tray::Voicemails, id).await
}

async fn callback_done(st: State<AppState>, Path(id): Path<i64>) -> Response {
    mark(st, Tray::Callbacks, id).await
}

async fn mark(State(st): State<AppState>, tray: Tray, id: i64) -> Response {
    let (page, what) = match tray {
        Tray::Voicemails => ("/admin/voicemails", "voicemail"),
        Tray::Callbacks => ("/admin/callbacks", "callback request"),
    };
    match st.store().mark(tray, id, st.now()).await {
        Ok(Marked::Now | Marked::Already(_)) => Redirect::to(page).into_response(),
        Ok(Marked::Unknown) => pages::problem(
            StatusCode::NOT_FOUND,
            &format!("There is no {what} {id}: it may have been purged or erased."),
        ),
        Err(e) => pages::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("The store did not answer: {e}. Nothing changed; try again."),
        ),
    }
}

async fn close(
    State(st): State<AppState>,
    axum::Extension(signed): axum::Extension<Signed>,
    axum::Extension(form): axum::Extension<Posted>,
) -> Response {
    let now = st.now();
    let until = crate::routing::parse_until(form.get("until"), now);
    let typed: BTreeMap<String, String> = form
        .0
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("message:")?.to_owned(), v.clone())))
        .collect();
    // One box per language (`message:LANG`); a bare `message` is the default language's.
    let messages: Vec<String> = std::iter::once(form.get("message").to_owned())
        .filter(|v| !v.trim().is_empty())
        .chain(
            typed
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(lang, v)| format!("{lang}={v}")),
        )
        .collect();
    let program = st.program();
    let closure = match crate::routing::closure(&program, form.get("group"), until, &messages, now)
    {
        Ok((c, _)) => c,
        Err(problems) => {
            let attempt = pages::CloseAttempt {
                group: form.get("group").to_owned(),
                until: form.get("until").to_owned(),
                messages: typed,
                problems,
            };
            return pages::overview_page(&st, &signed, Some(attempt)).await;
        }
    };
    if let Err(e) = st.store().close_group(&closure).await {
        tracing::warn!(group = %closure.group, error = %e, "admin: could not close a group");
        return pages::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("The store did not answer: {e}. The group is not closed; try again."),
        );
    }
    tracing::info!(group = %closure.group, until = %closure.until, "admin: closed a group");
    st.refresh_closures().await;
    Redirect::to("/admin#closures").into_response()
}

async fn open(State(st): State<AppState>, Path(group): Path<String>) -> Response {
    match st.store().open_group(&group).await {
        Ok(true) => {
            tracing::info!(group = %group, "admin: reopened a group");
            st.refresh_closures().await;
            Redirect::to("/admin#closures").into_response()
        }
        Ok(false) => pages::problem(
            StatusCode::NOT_FOUND,
            &format!("{group} was not closed by hand: nothing changed."),
        ),
        Err(e) => pages::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("The store did not answer: {e}. Nothing changed; try again."),
        ),
    }
}

async fn export_caller(
    State(st): State<AppState>,
    axum::Extension(form): axum::Extension<Posted>,
) -> Response {
    let number = form.get("number").trim().to_owned();
    match st.store().export_caller(&number).await {
        Ok(doc) => {
            let doc = doc.unwrap_or_else(|| {
                serde_json::json!({ "number": number, "calls": [], "callbacks_to_this_number": [] })
            });
            let body = serde_json::to_string_pretty(&doc).unwrap_or_default();
            tracing::info!("admin: exported what is stored about a caller");
            (
                [
                    (header::CONTENT_TYPE, "application/json".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"caller-export.json\"".to_owned(),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => pages::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("The store did not answer: {e}. Try again."),
        ),
    }
}

async fn erase_caller(
    State(st): State<AppState>,
    axum::Extension(signed): axum::Extension<Signed>,
    axum::Extension(form): axum::Extension<Posted>,
) -> Response {
    let number = form.get("number").trim().to_owned();
    if number.is_empty() {
        return pages::problem(
            StatusCode::BAD_REQUEST,
            "No number to erase: look the caller up first. Nothing was erased.",
        );
    }
    if form.get("confirm").trim() != number {
        let problem = if form.get("confirm").trim().is_empty() {
            "Type the number again here to erase it: nothing was erased."
        } else {
            "That is not the same number: type it again exactly as shown. Nothing was erased."
        };
        return pages::callers_page(&st, &signed, Some(&number), Some(problem)).await;
    }
    match st.store().erase_caller(&number, st.now()).await {
        Ok(mut erased) => {
            // Recordings we keep ourselves go with the calls; the page
            // lists only those a provider keeps.
            crate::server::uploads::forget(st.uploads(), &mut erased.recordings).await;
            tracing::info!(hash = %erased.hash, "admin: erased a caller");
            pages::erased(&number, &erased).into_response()
        }
        Err(e) => pages::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("The store could not erase it: {e}. Try again."),
        ),
    }
}

/// `s` for a query string.
fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
