use axum::Router;
use gatehouse_domain::Services;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The client address of requests that do not name one.
pub const DEFAULT_CLIENT: &str = "192.0.2.10";

/// The HTTP functions as deployed: one router per Lambda, and API Gateway's routing between them.
pub struct Gateway {
    invite: Router,
    sign_up: Router,
    sign_in: Router,
    groups: Router,
    settings: Router,
    passwords: Router,
    users: Router,
    oidc: Router,
    imports: Router,
    export: Router,
    activity: Router,
    pages: Router,
}

/// A response as API Gateway would return it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub text: String,
    /// The body's bytes.
    pub bytes: Vec<u8>,
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub json: Value,
    /// Whether Lambda would have had to base64-encode the body.
    pub binary: bool,
}

impl Reply {
    /// The `code` of a problem response.
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(self.code(), code, "{self:?}");
        assert_eq!(self.json["status"], json!(status), "{self:?}");
        assert!(self.json["detail"].is_string(), "{self:?}");
    }
}

impl Gateway {
    pub fn new(services: Services) -> Self {
        Self {
            invite: gatehouse_http::app(gatehouse_invite::routes(), services.clone()),
            sign_up: gatehouse_http::app(gatehouse_sign_up::routes(), services.clone()),
            sign_in: gatehouse_http::app(gatehouse_sign_in::routes(), services.clone()),
            groups: gatehouse_http::app(gatehouse_groups::routes(), services.clone()),
            settings: gatehouse_http::app(gatehouse_settings::routes(), services.clone()),
            passwords: gatehouse_http::app(gatehouse_password_reset::routes(), services.clone()),
            users: gatehouse_http::app(gatehouse_users::routes(), services.clone()),
            oidc: gatehouse_http::app(gatehouse_oidc::routes(), services.clone()),
            imports: gatehouse_http::app(gatehouse_imports::routes(), services.clone()),
            export: gatehouse_http::app(gatehouse_export::routes(), services.clone()),
            activity: gatehouse_http::app(gatehouse_activity::routes(), services.clone()),
            pages: gatehouse_http::app(gatehouse_pages::routes(), services),
        }
    }

    /// API Gateway's routes: `/v1/orgs/{org}/<resource>…` goes to the resource's function.
    fn function_for(&self, path: &str) -> &Router {
        // The pages live outside `/v1`, but for the OpenID Connect endpoints relying parties
        // call (the authorization and logout endpoints are pages).
        if !path.starts_with("/v1/") {
            let mut segments = path.trim_start_matches('/').split(['/', '?']).skip(1);
            return match (segments.next(), segments.next()) {
                (Some(".well-known"), _) => &self.oidc,
                (Some("oidc"), Some("authorize" | "logout")) => &self.pages,
                (Some("oidc"), _) => &self.oidc,
                _ => &self.pages,
            };
        }
        let resource = path.trim_start_matches('/').split('/').nth(3).unwrap_or("");
        match resource {
            "sign-up" => &self.sign_up,
            "sign-in" | "session" => &self.sign_in,
            "clients" => &self.oidc,
            "groups" => &self.groups,
            "settings" | "invitation-link" => &self.settings,
            "password-reset" => &self.passwords,
            // `/users/{id}/password` is the password function's; `/users` the users function's.
            "users" if path.ends_with("/password") => &self.passwords,
            "users" | "email-change" => &self.users,
            "imports" => &self.imports,
            "exports" => &self.export,
            "events" | "webhooks" => &self.activity,
            _ => &self.invite,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send("GET", path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send("POST", path, token, Some(body.to_string())).await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(t) = token {
            headers.push(("authorization".into(), format!("Bearer {t}")));
        }
        self.raw(method, path, headers, body).await
    }

    /// Sends an API Gateway HTTP API (payload 2.0) event for this request.
    pub async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) -> Reply {
        self.raw_from(DEFAULT_CLIENT, method, path_and_query, headers, body)
            .await
    }

    /// A JSON POST from a given client address (API Gateway's `sourceIp`).
    pub async fn post_from(
        &self,
        client: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(t) = token {
            headers.push(("authorization".into(), format!("Bearer {t}")));
        }
        self.raw_from(client, "POST", path, headers, Some(body.to_string()))
            .await
    }

    /// Sends the request as an event from `client`.
    pub async fn raw_from(
        &self,
        client: &str,
        method: &str,
        path_and_query: &str,
        headers: Vec<(String, String)>,
        body: Option<String>,
    ) -> Reply {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut header_map = serde_json::Map::new();
        header_map.insert("host".into(), json!("api.gatehouse.test"));
        for (n, v) in headers {
            header_map.insert(n.to_ascii_lowercase(), json!(v));
        }
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": header_map,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "gatehouse",
                "domainName": "api.gatehouse.test",
                "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": client, "userAgent": "tests"},
                "requestId": "test",
                "routeKey": "$default",
                "stage": "$default",
                "time": "22/Nov/2026:00:00:00 +0000",
                "timeEpoch": 0
            },
            "body": body,
            "isBase64Encoded": false
        });
        let request =
            lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event");
        let response = self
            .function_for(path)
            .clone()
            .oneshot(request)
            .await
            .expect("routers are infallible");
        let response = lambda_http::IntoResponse::into_response(response).await;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (bytes, binary) = match response.into_body() {
            lambda_http::Body::Empty => (Vec::new(), false),
            lambda_http::Body::Text(t) => (t.into_bytes(), false),
            lambda_http::Body::Binary(b) => (b, true),
            other => panic!("a body of a kind this harness does not read: {other:?}"),
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            headers,
            text,
            bytes,
            json,
            binary,
        }
    }
}
