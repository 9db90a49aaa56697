use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use gatehouse_domain::secret::SessionToken;
use gatehouse_domain::types::{OrgDomain, ParseError};
use gatehouse_domain::usecase::ClientAddress;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::ApiError;

/// A JSON body whose every failure is a problem: 415 without a JSON content type, 400 for
/// malformed JSON, 422 for a body that is not an object or has the wrong shape (missing or unknown
/// fields), 413 when too big. Parsed into a JSON value first (any JSON parses, so the only
/// rejections there are content type, syntax and size), then into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => {
                return Err(match rejection {
                    JsonRejection::MissingJsonContentType(_) => ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        "Send the body as JSON with Content-Type: application/json.",
                    ),
                    JsonRejection::JsonSyntaxError(e) => {
                        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
                    }
                    JsonRejection::BytesRejection(e)
                        if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
                    {
                        ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            format!("The body may have at most {} bytes.", crate::MAX_BODY_BYTES),
                        )
                    }
                    other => {
                        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text())
                    }
                })
            }
        };
        // Every body is an object: serde would also read a struct from an array, by position.
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "The body must be a JSON object.",
            ));
        }
        serde_json::from_value(value).map(Self).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("The body is not as documented: {e}"),
            )
        })
    }
}

/// A body that may be left out altogether (no bytes): `None` then; otherwise exactly as
/// [`JsonBody`] reads it, with its refusals.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("The body may have at most {} bytes.", crate::MAX_BODY_BYTES),
                )
            })?;
        if bytes.is_empty() {
            return Ok(Self(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let JsonBody(value) = JsonBody::from_request(req, state).await?;
        Ok(Self(Some(value)))
    }
}

/// The bearer token of the `Authorization` header, if there is a well-formed one. A missing or
/// malformed token is `None`; the use case answers 401 where a session is needed.
pub struct Bearer(pub Option<SessionToken>);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(bearer_token(&parts.headers)))
    }
}

/// The well-formed bearer token of `Authorization`, if any.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<SessionToken> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .and_then(|t| SessionToken::parse(t).ok())
}

impl Bearer {
    pub fn token(&self) -> Option<&SessionToken> {
        self.0.as_ref()
    }
}

/// A list's `limit`: a number from 1 to 100 (`invalid_limit` otherwise).
pub fn page_limit(raw: &str) -> Result<usize, gatehouse_domain::types::ParseError> {
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or_else(|| {
            gatehouse_domain::types::ParseError::new("invalid_limit", "a number from 1 to 100")
        })
}

/// The `{org}` of a path. A slug that cannot be an organisation is one that does not exist.
pub fn org_domain(raw: &str) -> Result<OrgDomain, ApiError> {
    OrgDomain::parse(raw).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "org_not_found",
            "No such organisation.",
        )
    })
}

/// Collects every invalid field of a request so the client learns them all at once. The
/// problem's `code` is the first failing field's code; `errors` lists them all.
#[derive(Default)]
pub struct FieldErrors(Vec<(&'static str, ParseError)>);

impl FieldErrors {
    /// Parses a required field.
    pub fn required<T>(
        &mut self,
        field: &'static str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        match raw {
            Some(raw) => self.check(field, parse(raw)),
            None => {
                self.0.push((
                    field,
                    ParseError::new("missing_field", format!("{field} is required")),
                ));
                None
            }
        }
    }

    /// Parses an optional field; absent or null is `None`.
    pub fn optional<T>(
        &mut self,
        field: &'static str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Option<Option<T>> {
        match raw {
            Some(raw) => self.check(field, parse(raw)).map(Some),
            None => Some(None),
        }
    }

    pub fn check<T>(&mut self, field: &'static str, result: Result<T, ParseError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push((field, e));
                None
            }
        }
    }

    /// The parsed values when every field parsed; otherwise the 422 problem listing them all.
    /// `values` is the tuple of what [`Self::required`] and friends returned.
    pub fn finish<T: AllPresent>(self, values: T) -> Result<T::Output, ApiError> {
        if let Some((_, first)) = self.0.first() {
            let mut problem = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                first.code,
                self.0
                    .iter()
                    .map(|(f, e)| format!("{f}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            let errors = self
                .0
                .iter()
                .map(|(f, e)| json!({"field": f, "code": e.code, "detail": e.message}))
                .collect();
            problem.extra = Some(("errors", serde_json::Value::Array(errors)));
            return Err(problem);
        }
        // Every failure above recorded an error, so all values are present here.
        values.all_present().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "A field is missing or invalid.",
            )
        })
    }
}

/// A tuple of `Option`s that is complete when each is `Some`.
pub trait AllPresent {
    type Output;
    fn all_present(self) -> Option<Self::Output>;
}

macro_rules! all_present {
    ($($t:ident),+) => {
        impl<$($t),+> AllPresent for ($(Option<$t>,)+) {
            type Output = ($($t,)+);
            #[allow(non_snake_case)]
            fn all_present(self) -> Option<Self::Output> {
                let ($($t,)+) = self;
                Some(($($t?,)+))
            }
        }
    };
}
all_present!(A);
all_present!(A, B);
all_present!(A, B, C);
all_present!(A, B, C, D);
all_present!(A, B, C, D, E);
all_present!(A, B, C, D, E, F);
all_present!(A, B, C, D, E, F, G);
all_present!(A, B, C, D, E, F, G, H);

/// Query parameters whose failures are problems (422 `invalid_query`).
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_query",
                    e.body_text(),
                )
            })
    }
}

/// The client's address: API Gateway's `sourceIp` in Lambda, the peer address locally.
pub struct Client(pub ClientAddress);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        use lambda_http::request::RequestContext;
        let from_gateway = parts
            .extensions
            .get::<RequestContext>()
            .and_then(|c| match c {
                RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
                RequestContext::ApiGatewayV1(c) => c.identity.source_ip.clone(),
                #[allow(unreachable_patterns)]
                _ => None,
            });
        let address = from_gateway.or_else(|| {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        });
        Ok(Self(ClientAddress::new(
            address.as_deref().unwrap_or("unknown"),
        )))
    }
}

/// For `PATCH` bodies (`#[serde(default, deserialize_with = "gatehouse_http::present")]`): an
/// absent member is `None`, `null` is `Some(None)` (remove it), a value is `Some(Some(_))`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
