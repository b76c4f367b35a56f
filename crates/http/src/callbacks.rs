//! `POST /callback/{channel}/{kind}`: where channels report trades and refunds. Not a merchant
//! route: the channel's own signature authenticates it, checked by the channel's adapter, and
//! the answer is in the channel's own format.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paygate_app::App;
use std::collections::BTreeMap;

/// A channel's callback. The body and the answer are the channel's protocol (WeChat Pay: an
/// encrypted JSON resource signed in `Wechatpay-*` headers, answered 200/204 or
/// `{"code":"FAIL","message":...}`).
#[utoipa::path(post, path = "/callback/{channel}/{kind}", tag = "channels",
    params(("channel" = String, Path, description = "The channel, e.g. `wechat`"),
           ("kind" = String, Path, description = "`pay` or `refund`")),
    request_body(content = String, description = "The channel's callback, as it sends it"),
    responses((status = 200, description = "accepted, in the channel's format"),
              (status = 204, description = "accepted, in the channel's format"),
              (status = 400, description = "refused (forged, stale, mismatched), in the channel's format"),
              (status = 404, description = "no such channel"),
              (status = 500, description = "not recorded; the channel will send it again")))]
pub async fn receive(
    State(app): State<App>,
    Path((channel, kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.into())))
        .collect();
    match app.receive_callback(&channel, &kind, &headers, &body).await {
        Some(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_REQUEST);
            if reply.body.is_empty() {
                return status.into_response();
            }
            (
                status,
                [(header::CONTENT_TYPE, reply.content_type)],
                reply.body,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such channel").into_response(),
    }
}
