//! Extractors whose rejections speak the API's error format instead of axum's plain text.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use docent_app::AppError;
use docent_app::accounts::ClientInfo;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::body::{FramingError, MultipartFraming};
use crate::error::{ApiError, HttpError};

/// A JSON body; bad JSON is `invalid_json`, wrong shapes are `validation_failed`. Every
/// body of this API is an object: anything else (an array, which serde would otherwise read
/// into a struct field by field) is refused.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json_type {
            return Err(HttpError::UnsupportedMediaType.into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| -> ApiError {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge {
                        limit: state.settings.max_body_bytes,
                    }
                    .into()
                } else {
                    HttpError::InvalidJson(clean(&e.body_text())).into()
                }
            })?;
        let starts = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if starts.is_some_and(|b| *b != b'{') {
            return Err(AppError::validation("body", "Send a JSON object.").into());
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection, state)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, state: &AppState) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => HttpError::UnsupportedMediaType.into(),
        JsonRejection::JsonDataError(e) => {
            AppError::validation("body", clean(&e.body_text())).into()
        }
        JsonRejection::JsonSyntaxError(e) => HttpError::InvalidJson(clean(&e.body_text())).into(),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
            limit: state.settings.max_body_bytes,
        }
        .into(),
        other => HttpError::InvalidJson(other.body_text()).into(),
    }
}

/// `application/json` or any `…/…+json`, whatever the parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.contains('/') && essence.ends_with("+json"))
}

/// A URL-encoded form body (dashboard forms).
#[derive(Debug)]
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(ApiForm(value)),
            Err(FormRejection::InvalidFormContentType(_)) => {
                Err(HttpError::UnsupportedMediaType.into())
            }
            Err(other) if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::PayloadTooLarge {
                    limit: state.settings.max_body_bytes,
                }
                .into())
            }
            Err(other) => Err(AppError::validation("form", clean(&other.body_text())).into()),
        }
    }
}

/// A multipart body (uploads); a body that is not multipart is `invalid_multipart`. Its
/// framing is watched while it streams ([`crate::body::MultipartFraming`]).
#[derive(Debug)]
pub struct ApiMultipart(pub axum::extract::Multipart);

impl FromRequest<AppState> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let boundary = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok());
        let req = match boundary {
            Some(boundary) => {
                let (parts, body) = req.into_parts();
                let framed = MultipartFraming::new(body.into_data_stream(), &boundary);
                Request::from_parts(parts, axum::body::Body::from_stream(framed))
            }
            None => req,
        };
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(|e| HttpError::InvalidMultipart(clean(&e.body_text())).into())
    }
}

/// What a multipart body that could not be read gets: 413 past the upload limit or when
/// its framing runs on, else `invalid_multipart`.
pub fn multipart_error(
    error: &axum::extract::multipart::MultipartError,
    state: &AppState,
) -> ApiError {
    if let Some(framing) = crate::body::cause::<FramingError>(error) {
        return HttpError::MultipartFraming(framing.to_string()).into();
    }
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge {
            limit: crate::body::multipart_limit(&state.settings),
        }
        .into();
    }
    HttpError::InvalidMultipart(clean(&error.body_text())).into()
}

/// A query string; a bad one is `invalid_query`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| HttpError::InvalidQuery(clean(&e.body_text())).into())
    }
}

/// Path parameters; one that does not parse (a malformed id) names nothing, so it is a 404.
#[derive(Debug)]
pub struct IdPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| IdPath(p.0))
            .map_err(|_: PathRejection| AppError::NotFound("resource").into())
    }
}

/// Drops axum's "Failed to deserialize…" prefixes, keeping serde's explanation.
fn clean(text: &str) -> String {
    let text = text.rsplit_once(": ").map_or(text, |(_, tail)| tail).trim();
    text.chars().take(300).collect()
}

/// Who is calling from where: the address (behind a trusted proxy, the first of
/// `X-Forwarded-For`) and the user agent.
impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let forwarded = state
            .settings
            .trust_proxy
            .then(|| parts.headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|ip| ip.trim().to_owned());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(ClientInfo {
            ip: forwarded.or(peer),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}
