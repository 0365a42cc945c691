//! The local HTTP API: writes and reads of one key per kind, `/status`, `/metrics`.
//!
//! Every answer but `/metrics` is JSON; every refusal is `{"error": "..."}` with a 4xx
//! code for bad input (400 bad key, value or body, 401 missing token, 404 no such route,
//! 405 an operation the replica's kind does not have, 413 a body over 1 MiB, 64 MiB for
//! `/batch`) and 5xx when
//! the replica cannot write (500 I/O, 503 poisoned or shutting down). The README lists the
//! endpoints with curl examples.
//!
//! Why axum: the routing, extraction and graceful shutdown on hyper that a small JSON API
//! needs, from the tokio project itself; with its default features off it adds little over
//! hyper.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use pluriverse_any::{Kind, StateType};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::actor::{ApiError, Cmd, Dot, WriteOp};
use crate::json::{parse_key, parse_value, show_id};

/// The largest request body taken.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct App {
    pub cmds: mpsc::Sender<Cmd>,
    pub ty: StateType,
    pub token: Option<Arc<str>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(json!({ "error": self.message }))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

/// The router.
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/keys/{key}", get(read_key).put(put_key).delete(delete_key))
        .route("/keys/{key}/increment", post(increment))
        .route("/keys/{key}/decrement", post(decrement))
        .route(
            "/batch",
            post(batch).layer(DefaultBodyLimit::max(crate::batch::MAX_BATCH_BODY)),
        )
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            ApiError::new(404, "no such endpoint (see the README's Nodes section)")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(405, "this endpoint does not take that method")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), auth))
        .with_state(app)
}

async fn auth(State(app): State<App>, headers: HeaderMap, req: Request, next: Next) -> Response {
    // a declared length over the bound is refused before the body is read
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let max = if req.uri().path() == "/batch" {
        crate::batch::MAX_BATCH_BODY
    } else {
        MAX_BODY
    };
    if declared.is_some_and(|n| n > max as u64) {
        return ApiError::new(413, format!("body over {max} bytes")).into_response();
    }
    if let Some(token) = &app.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(&**token) {
            return ApiError::new(
                401,
                "missing or wrong bearer token (Authorization: Bearer TOKEN)",
            )
            .into_response();
        }
    }
    next.run(req).await
}

async fn ask<T>(app: &App, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    let gone = || ApiError::new(503, "the node is shutting down");
    app.cmds.send(make(tx)).await.map_err(|_| gone())?;
    rx.await.map_err(|_| gone())
}

fn key_of(
    app: &App,
    p: Result<Path<String>, PathRejection>,
) -> Result<pluriverse_any::Scalar, ApiError> {
    let Path(k) = p.map_err(|e| ApiError::new(400, format!("bad key in the path: {e}")))?;
    parse_key(&k, app.ty.key).map_err(|e| ApiError::new(400, e))
}

/// The body as JSON (an empty body is `{}`).
fn body_json(b: Result<Bytes, BytesRejection>) -> Result<serde_json::Map<String, Value>, ApiError> {
    let b =
        b.map_err(|e| ApiError::new(e.status().as_u16(), format!("body: {}", e.body_text())))?;
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(&b) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ApiError::new(
            400,
            format!("body: expected a JSON object, found {other}"),
        )),
        Err(e) => Err(ApiError::new(400, format!("body is not JSON: {e}"))),
    }
}

/// Refuses fields the endpoint does not know (a typo must not be silently ignored).
fn only(m: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::new(
            400,
            format!(
                "body: unknown field {k:?} (this endpoint takes {})",
                if allowed.is_empty() {
                    "no fields".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
        )),
        None => Ok(()),
    }
}

fn timestamp(m: &serde_json::Map<String, Value>, q: &Stamp) -> Result<u64, ApiError> {
    match (m.get("timestamp"), q.timestamp) {
        (Some(v), _) => v.as_u64().ok_or_else(|| {
            ApiError::new(
                400,
                format!("timestamp {v}: expected an integer from 0 to 2^64-1"),
            )
        }),
        (None, Some(t)) => Ok(t),
        // microseconds since the Unix epoch
        (None, None) => Ok(SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)),
    }
}

fn wrong_kind(ty: StateType, what: &str) -> ApiError {
    let hint = match ty.kind {
        Kind::MVMap => "PUT and DELETE /keys/{key}",
        Kind::AWSet => "PUT (add) and DELETE (remove) /keys/{key}",
        Kind::PNCounterMap => "POST /keys/{key}/increment and /keys/{key}/decrement",
        Kind::LWWMap => "PUT and DELETE /keys/{key}, with an optional timestamp",
    };
    ApiError::new(405, format!("a {} has no {what}; it takes {hint}", ty.kind))
}

async fn write(app: &App, op: WriteOp) -> ApiResult {
    let dot: Dot = ask(app, |reply| Cmd::Write { op, reply }).await??;
    Ok(axum::Json(json!({
        "writer": show_id(&dot.writer),
        "counter": dot.counters.map(|(_, last)| last),
    }))
    .into_response())
}

#[derive(Deserialize)]
struct BatchQuery {
    op: Option<String>,
}

async fn batch(
    State(app): State<App>,
    q: Result<Query<BatchQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let Query(q) = q.map_err(|e| ApiError::new(400, format!("query: {}", e.body_text())))?;
    let b =
        body.map_err(|e| ApiError::new(e.status().as_u16(), format!("body: {}", e.body_text())))?;
    let cols = crate::batch::Columns::from_ipc(app.ty, q.op.as_deref(), &b)
        .map_err(|e| ApiError::new(e.status, e.message))?;
    let rows = cols.rows();
    let dot: Dot = ask(&app, |reply| Cmd::Write {
        op: WriteOp::Many(cols),
        reply,
    })
    .await??;
    Ok(axum::Json(json!({
        "writer": show_id(&dot.writer),
        "first": dot.counters.map(|(first, _)| first),
        "last": dot.counters.map(|(_, last)| last),
        "rows": rows,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct Stamp {
    timestamp: Option<u64>,
}

async fn put_key(
    State(app): State<App>,
    key: Result<Path<String>, PathRejection>,
    q: Result<Query<Stamp>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let key = key_of(&app, key)?;
    let Query(q) = q.map_err(|e| ApiError::new(400, format!("query: {}", e.body_text())))?;
    let m = body_json(body)?;
    let value = || -> Result<_, ApiError> {
        let v = m
            .get("value")
            .ok_or_else(|| ApiError::new(400, "body: missing \"value\""))?;
        let t = app
            .ty
            .value
            .ok_or_else(|| ApiError::new(500, "no value type"))?;
        parse_value(v, t).map_err(|e| ApiError::new(400, e))
    };
    let op = match app.ty.kind {
        Kind::MVMap => {
            only(&m, &["value"])?;
            WriteOp::Set(key, value()?)
        }
        Kind::LWWMap => {
            only(&m, &["value", "timestamp"])?;
            WriteOp::SetAt(key, value()?, timestamp(&m, &q)?)
        }
        Kind::AWSet => {
            only(&m, &[])?;
            WriteOp::Add(key)
        }
        Kind::PNCounterMap => return Err(wrong_kind(app.ty, "PUT")),
    };
    write(&app, op).await
}

async fn delete_key(
    State(app): State<App>,
    key: Result<Path<String>, PathRejection>,
    q: Result<Query<Stamp>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let key = key_of(&app, key)?;
    let Query(q) = q.map_err(|e| ApiError::new(400, format!("query: {}", e.body_text())))?;
    let m = body_json(body)?;
    let op = match app.ty.kind {
        Kind::MVMap | Kind::AWSet => {
            only(&m, &[])?;
            WriteOp::Remove(key)
        }
        Kind::LWWMap => {
            only(&m, &["timestamp"])?;
            WriteOp::RemoveAt(key, timestamp(&m, &q)?)
        }
        Kind::PNCounterMap => return Err(wrong_kind(app.ty, "DELETE")),
    };
    write(&app, op).await
}

fn amount(m: &serde_json::Map<String, Value>) -> Result<u64, ApiError> {
    only(m, &["by"])?;
    match m.get("by") {
        None => Ok(1),
        Some(v) => v.as_u64().ok_or_else(|| {
            ApiError::new(400, format!("by {v}: expected an integer from 0 to 2^64-1"))
        }),
    }
}

async fn increment(
    State(app): State<App>,
    key: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    if app.ty.kind != Kind::PNCounterMap {
        return Err(wrong_kind(app.ty, "increment"));
    }
    let key = key_of(&app, key)?;
    let n = amount(&body_json(body)?)?;
    write(&app, WriteOp::Increment(key, n)).await
}

async fn decrement(
    State(app): State<App>,
    key: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    if app.ty.kind != Kind::PNCounterMap {
        return Err(wrong_kind(app.ty, "decrement"));
    }
    let key = key_of(&app, key)?;
    let n = amount(&body_json(body)?)?;
    write(&app, WriteOp::Decrement(key, n)).await
}

async fn read_key(State(app): State<App>, key: Result<Path<String>, PathRejection>) -> ApiResult {
    let key = key_of(&app, key)?;
    let v = ask(&app, |reply| Cmd::Read { key, reply }).await??;
    Ok(axum::Json(v).into_response())
}

async fn status(State(app): State<App>) -> ApiResult {
    let v = ask(&app, |reply| Cmd::Status { reply }).await?;
    Ok(axum::Json(v).into_response())
}

async fn metrics(State(app): State<App>) -> ApiResult {
    let m = ask(&app, |reply| Cmd::Metrics { reply }).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m,
    )
        .into_response())
}
