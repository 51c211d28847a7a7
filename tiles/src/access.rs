//! Who may call what, failing closed.
//!
//! Every route is registered through the route table in [`crate::server`] with an [`Access`]: the
//! table is the only way to add a route, so a route without an access level does not compile. The
//! [`guard`] of each route runs as a *route layer*, after routing: an unknown path is a 404 before
//! any token is looked at. It reads the bearer token from `Authorization: Bearer …` — or, on the
//! routes the table marks for it (tiles, briefing files: URLs a browser or map client fetches by
//! itself), from a percent-decoded `access_token=` parameter — checks the token's role against the
//! route's, and puts the [`Principal`] into the request for the handler. The token itself is never
//! logged, and never part of a cache key.
//!
//! Two more checks fail closed: every request's `Host` and `Origin` must name a host the server is
//! reached by ([`check_host`]: DNS rebinding, cross-site requests), and every successful response
//! to a display-role token must carry the display projection's mark ([`crate::display::Mark`]):
//! a handler that forgot to project its figures answers 500 instead of leaking them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// What a route demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token: the pages, their files, the vocabulary, liveness, the API description.
    Public,
    /// A token of at least this role.
    Role(Role),
}

impl Access {
    pub fn role(self) -> Option<Role> {
        match self {
            Access::Public => None,
            Access::Role(r) => Some(r),
        }
    }
}

/// Where a route accepts its token from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenIn {
    /// `Authorization: Bearer …` only.
    Header,
    /// The header, or `access_token=` in the URL (clients that fetch by themselves).
    HeaderOrUrl,
}

/// The token a request carries for a route: the bearer header first, then (where the route allows)
/// the percent-decoded `access_token` parameter.
pub fn token_of(request: &Request, token_in: TokenIn) -> Option<String> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_string())
        });
    if header.is_some() || token_in == TokenIn::Header {
        return header;
    }
    request.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "access_token")
            .and_then(|(_, v)| percent_encoding::percent_decode_str(v).decode_utf8().ok())
            .map(|v| v.into_owned())
    })
}

/// One route's guard: its access, where its token comes from, whether calls are audited.
#[derive(Clone)]
pub struct RouteGuard {
    pub state: Arc<AppState>,
    pub access: Access,
    pub token_in: TokenIn,
    pub audit: bool,
    /// The route's pattern (for the audit log and messages).
    pub route: &'static str,
}

/// The guard of one route (a route layer): authenticates, checks the role, bounds the time the
/// handler may take (its work is stopped when it runs over), fails closed on a display response
/// without the projection's mark, and writes the audit log.
pub async fn guard(State(g): State<RouteGuard>, mut request: Request, next: Next) -> Response {
    let Some(needed) = g.access.role() else {
        return next.run(request).await;
    };
    let who = match g.state.authenticate(token_of(&request, g.token_in).as_deref()) {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    if who.role < needed {
        return ApiError::Forbidden(format!(
            "this needs the {} role; the token has {}",
            needed.code(),
            who.role.code()
        ))
        .into_response();
    }
    let method = request.method().clone();
    let query = crate::audit::without_token(request.uri().query());
    tracing::debug!(token = %who.name, role = who.role.code(), route = g.route, "request");
    // Display answers are the same for every wall asking the same thing: kept per version.
    let answer_key = (who.role == Role::Display
        && method == axum::http::Method::GET
        && g.route.starts_with("/api/")
        && g.route != "/api/events")
        .then(|| answer_key(&g.state, &request, &who));
    request.extensions_mut().insert(who.clone());
    // Uploads and briefings are given ten times as long as a query.
    let seconds = g.state.config.limits.request_seconds * if method == axum::http::Method::POST { 10 } else { 1 };
    let run = async {
        let run = crate::work::CALLER.scope(who.name.clone(), next.run(request));
        match tokio::time::timeout(std::time::Duration::from_secs(seconds), run).await {
            Ok(response) => response,
            Err(_) => ApiError::Timeout(seconds).into_response(),
        }
    };
    let response = match answer_key {
        Some(key) => g.state.answer(key, run).await,
        None => run.await,
    };
    let response = if who.role == Role::Display
        && matches!(response.status(), StatusCode::OK | StatusCode::CREATED)
        && response.extensions().get::<crate::display::Mark>().is_none()
    {
        ApiError::Internal(format!(
            "{}: a display response without the display projection",
            g.route
        ))
        .into_response()
    } else {
        response
    };
    if g.audit {
        g.state.audit.record(crate::audit::Entry {
            at: fengqiao_ingest::time::now_china(),
            token: who.name.clone(),
            role: who.role.code().to_string(),
            method: method.to_string(),
            route: g.route.to_string(),
            query,
            scope: who.scope.map(|s| g.state.region.units[s as usize].code.clone()),
            status: response.status().as_u16(),
            rows: response.extensions().get::<crate::audit::Rows>().map(|r| r.0),
        });
    }
    response
}

/// The canonical key of a display answer: the data version, the path, the parameters sorted
/// (without a token or `v=`), the format asked by `Accept`, and the token's scope.
fn answer_key(state: &AppState, request: &Request, who: &crate::state::Principal) -> String {
    let mut pairs: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("access_token=") && !kv.starts_with("v="))
        .collect();
    pairs.sort_unstable();
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!(
        "{}|{}|{}|{accept}|{:?}",
        state.version(),
        request.uri().path(),
        pairs.join("&"),
        who.scope
    )
}

/// The host part of a `Host` header value or an `Origin`'s authority, lower-cased, without port.
fn host_name(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if let Some(end) = authority.strip_prefix('[').and_then(|rest| rest.find(']')) {
        return authority[..end + 2].to_string();
    }
    authority.split(':').next().unwrap_or_default().to_string()
}

/// Refuses a request whose `Host` or `Origin` names a host the server is not reached by (when the
/// state knows its hosts: a server always does; an in-process router may not). A request without
/// `Host` (HTTP/1.0: a health check, not a browser) is let through; a browser always sends one.
pub fn check_host(allowed: &[String], headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(host) = headers.get(header::HOST) {
        let host = host.to_str().unwrap_or("");
        if !allowed.contains(&host_name(host)) {
            return Err(ApiError::Forbidden(format!(
                "this server does not answer to host {:?}",
                host_name(host)
            )));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or("");
        if !allowed.contains(&host_name(authority)) {
            return Err(ApiError::Forbidden(format!(
                "requests from {origin:?} are not accepted (cross-origin)"
            )));
        }
    }
    Ok(())
}

/// The outer layer checking `Host` and `Origin` on every request.
pub async fn hosts(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if let Some(allowed) = state.allowed_hosts() {
        if let Err(e) = check_host(allowed, request.headers()) {
            return e.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn host_and_origin_must_name_this_server() {
        let allowed = vec!["127.0.0.1".to_string(), "localhost".to_string(), "[::1]".to_string()];
        assert!(check_host(&allowed, &headers(&[("host", "127.0.0.1:8080")])).is_ok());
        assert!(check_host(&allowed, &headers(&[("host", "[::1]:8080")])).is_ok());
        assert!(check_host(&allowed, &headers(&[("host", "LOCALHOST")])).is_ok());
        assert!(check_host(&allowed, &headers(&[("host", "evil.example:8080")])).is_err());
        assert!(check_host(&allowed, &headers(&[])).is_ok(), "HTTP/1.0 without Host");
        assert!(check_host(&allowed, &headers(&[("origin", "http://evil.example")])).is_err());
        let cross = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")]);
        assert!(matches!(check_host(&allowed, &cross), Err(ApiError::Forbidden(_))));
        let same = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]);
        assert!(check_host(&allowed, &same).is_ok());
        let null = headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]);
        assert!(check_host(&allowed, &null).is_err());
    }

    #[test]
    fn tokens_come_from_the_header_and_only_where_allowed_from_the_url() {
        let request = |uri: &str, auth: Option<&str>| {
            let mut b = Request::builder().uri(uri);
            if let Some(a) = auth {
                b = b.header(header::AUTHORIZATION, a);
            }
            b.body(axum::body::Body::empty()).unwrap()
        };
        let r = request("/x?access_token=abc%2Ddef", None);
        assert_eq!(token_of(&r, TokenIn::HeaderOrUrl).as_deref(), Some("abc-def"));
        assert_eq!(token_of(&r, TokenIn::Header), None);
        let r = request("/x?access_token=url", Some("bearer  from-header "));
        assert_eq!(token_of(&r, TokenIn::HeaderOrUrl).as_deref(), Some("from-header"));
        let r = request("/x", Some("Basic abc"));
        assert_eq!(token_of(&r, TokenIn::HeaderOrUrl), None);
    }
}
