//! The OpenAPI document of every HTTP function, assembled from the functions' own annotations
//! (each crate's `Api`) with what the edge answers on every route. `openapi.json` at the root is
//! this document, committed (a test checks they are equal) and served by the `openapi` function;
//! `cargo run -p gatehouse-openapi-document --bin write-openapi` writes it after a route changes.
//! Not a function: it depends on all of them, which no function crate may.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

/// The OpenAPI document of all the functions' routes, generated from their annotations. The
/// committed `openapi.json` (served by the `openapi` function) must equal it; a test checks.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Gatehouse")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Invitations, sign-up and sign-in for a collaborative platform. Errors are \
                     RFC 9457 application/problem+json with a stable `code`.",
                ))
                .build(),
        )
        .build();
    doc.merge(gatehouse_invite::Api::openapi());
    doc.merge(gatehouse_sign_up::Api::openapi());
    doc.merge(gatehouse_sign_in::Api::openapi());
    doc.merge(gatehouse_sign_in::second_step::Api::openapi());
    doc.merge(gatehouse_groups::Api::openapi());
    doc.merge(gatehouse_settings::Api::openapi());
    doc.merge(gatehouse_password_reset::Api::openapi());
    doc.merge(gatehouse_users::Api::openapi());
    doc.merge(gatehouse_users::second_factor::Api::openapi());
    doc.merge(gatehouse_users::passkeys::Api::openapi());
    doc.merge(gatehouse_sign_in::passkey::Api::openapi());
    doc.merge(gatehouse_activity::Api::openapi());
    doc.merge(gatehouse_activity::webhooks::Api::openapi());
    doc.merge(gatehouse_oidc::Api::openapi());
    doc.merge(gatehouse_imports::Api::openapi());
    doc.merge(gatehouse_export::Api::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    // An OpenID Connect client's id and secret (RFC 6749 §2.3.1) at the token, introspection
    // and revocation endpoints.
    components.add_security_scheme(
        "client_secret_basic",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
    );
    doc.servers = Some(vec![
        utoipa::openapi::ServerBuilder::new()
            .url("http://127.0.0.1:3000")
            .description(Some("gatehouse-local (`cargo run -p gatehouse-local`)"))
            .build(),
        utoipa::openapi::ServerBuilder::new()
            .url("https://{api}")
            .description(Some("a deployment: the HTTP API's domain"))
            .parameter(
                "api",
                utoipa::openapi::server::ServerVariableBuilder::new()
                    .default_value("api.example.com"),
            )
            .build(),
    ]);
    add_common_responses(&mut doc);
    doc
}

/// Answers every route may give besides its own, documented once here rather than on each
/// handler: what the edge answers for a body that is not JSON, too big or malformed, for an
/// organisation that does not exist, and for throttled attempts.
fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::HttpMethod;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};

    let problem = |description: &str| {
        ResponseBuilder::new().description(description).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemView")))
                .build(),
        )
    };
    // Routes where failed attempts are counted and may be refused for a while.
    const THROTTLED: [&str; 4] = [
        "/v1/orgs/{org}/sign-in",
        "/v1/orgs/{org}/sign-up/access-code/check",
        "/v1/orgs/{org}/sign-up/access-code",
        "/v1/orgs/{org}/users/{id}/password",
    ];
    for (path, item) in doc.paths.paths.iter_mut() {
        for method in [
            HttpMethod::Get,
            HttpMethod::Post,
            HttpMethod::Put,
            HttpMethod::Patch,
            HttpMethod::Delete,
        ] {
            let operation = match method {
                HttpMethod::Get => item.get.as_mut(),
                HttpMethod::Post => item.post.as_mut(),
                HttpMethod::Put => item.put.as_mut(),
                HttpMethod::Patch => item.patch.as_mut(),
                HttpMethod::Delete => item.delete.as_mut(),
                _ => None,
            };
            let Some(operation) = operation else {
                continue;
            };
            let has_body = operation.request_body.is_some();
            if method == HttpMethod::Post && operation.security.is_some() {
                add_idempotency_key(operation);
            }
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, response: utoipa::openapi::Response| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| response.into());
            };
            if path.contains("{org}") {
                add("404", problem("`org_not_found`").build());
            }
            add(
                "503",
                problem("`over_budget`: AWS did not answer within the request's 24 s; retry (with the same `Idempotency-Key`)")
                    .build(),
            );
            if has_body {
                add(
                    "400",
                    problem("`malformed_json`: the body is not JSON").build(),
                );
                add(
                    "413",
                    problem("`payload_too_large`: the body is over 64 KiB").build(),
                );
                add(
                    "415",
                    problem("`unsupported_media_type`: send `Content-Type: application/json`")
                        .build(),
                );
                add(
                    "422",
                    problem("`invalid_body`, `missing_field`: the body has the wrong shape")
                        .build(),
                );
            }
            if path.contains("{org}") {
                add(
                    "422",
                    problem("`invalid_query`: a query parameter is not as documented").build(),
                );
            }
            if THROTTLED.contains(&path.as_str()) {
                add(
                    "429",
                    problem("`too_many_attempts`: wait for `Retry-After` seconds")
                        .header(
                            "Retry-After",
                            utoipa::openapi::HeaderBuilder::new()
                                .schema(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::Integer),
                                )
                                .description(Some("seconds to wait"))
                                .build(),
                        )
                        .build(),
                );
            }
        }
    }
}

/// Signed-in POSTs take an `Idempotency-Key` (the edge's `replay_retries`): the header, and the
/// answers it adds to the operation's own.
fn add_idempotency_key(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder};

    let key = ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some("^[!-~]+$"));
    operation.parameters.get_or_insert_with(Vec::new).push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(utoipa::openapi::Required::False)
            .description(Some(
                "Makes retries safe: the same key with the same request within 24 hours \
                     answers the first success again (with `Idempotent-Replayed: true`) instead \
                     of doing it twice. Keys belong to the session; a refused or failed request \
                     leaves its key free.",
            ))
            .schema(Some(key))
            .build(),
    );
    let responses = &mut operation.responses.responses;
    for (status, codes) in [
        (
            "409",
            "`idempotency_key_in_use`: a request with this key is still running (see `Retry-After`)",
        ),
        (
            "422",
            "`invalid_idempotency_key`, `idempotency_key_reused` (the key was sent with another request)",
        ),
    ] {
        match responses.get_mut(status) {
            Some(RefOr::T(response)) => {
                response.description = format!("{}; {codes}", response.description);
            }
            _ => {
                responses.insert(
                    status.to_string(),
                    ResponseBuilder::new()
                        .description(codes)
                        .content(
                            "application/problem+json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ProblemView")))
                                .build(),
                        )
                        .build()
                        .into(),
                );
            }
        }
    }
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> serde_json::Result<String> {
    let mut doc = serde_json::to_value(document())?;
    doc["webhooks"] = webhooks();
    Ok(format!("{}\n", serde_json::to_string_pretty(&doc)?))
}

/// The catalogue of events, as OpenAPI 3.1 `webhooks`: for each type, the `POST` a registered
/// endpoint receives (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`
/// headers; a `{type, timestamp, data}` body) with the schema of its `data`: the resource as
/// the API shows it. The same events are in `GET /v1/orgs/{org}/events` and on the EventBridge
/// bus.
pub fn webhooks() -> serde_json::Value {
    use gatehouse_domain::events::EventType;
    use serde_json::json;
    let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut all = serde_json::Map::new();
    for kind in EventType::ALL {
        // Exhaustive: a new type does not compile until its data is documented here.
        let data = match kind {
            EventType::InvitationCreated
            | EventType::InvitationSent
            | EventType::InvitationResent
            | EventType::InvitationReminded
            | EventType::InvitationDeliveryFailed
            | EventType::InvitationBounced
            | EventType::InvitationComplained
            | EventType::InvitationAccepted
            | EventType::InvitationRevoked
            | EventType::InvitationExpired => schema("InvitationView"),
            EventType::UserCreated
            | EventType::UserUpdated
            | EventType::UserPasswordChanged
            | EventType::UserSignedIn
            | EventType::UserSignInFailed
            | EventType::UserLocked
            | EventType::UserRoleChanged
            | EventType::UserDeactivated
            | EventType::UserReactivated
            | EventType::UserSignedOut
            | EventType::UserEmailChanged
            | EventType::UserUidChanged
            | EventType::UserMfaEnabled
            | EventType::UserMfaDisabled => schema("UserView"),
            EventType::UserDeleted => json!({
                "type": "object",
                "required": ["id"],
                "properties": { "id": { "type": "string", "description": "the erased account's id: nothing else about them is kept" } }
            }),
            EventType::GroupCreated | EventType::GroupRenamed | EventType::GroupDeleted => {
                schema("GroupView")
            }
            EventType::GroupAdminAdded | EventType::GroupAdminRemoved => json!({
                "allOf": [schema("GroupView"), {
                    "type": "object",
                    "required": ["user_id"],
                    "properties": { "user_id": { "type": "string", "description": "who became, or stopped being, one of its admins" } }
                }]
            }),
            EventType::GroupMemberAdded | EventType::GroupMemberRemoved => json!({
                "allOf": [schema("GroupView"), {
                    "type": "object",
                    "required": ["user_id"],
                    "properties": { "user_id": { "type": "string", "description": "who joined, or left, the group" } }
                }]
            }),
            EventType::SettingsUpdated => schema("SettingsView"),
            EventType::InvitationLinkActivated | EventType::InvitationLinkDeactivated => {
                schema("LinkView")
            }
            EventType::ImportCompleted => schema("ImportStatusView"),
            EventType::ExportCreated => json!({
                "type": "object",
                "required": ["export_id", "invitations"],
                "properties": {
                    "export_id": { "type": "string" },
                    "invitations": { "type": "integer", "description": "invitations in the file" }
                }
            }),
            EventType::WebhookCreated | EventType::WebhookUpdated | EventType::WebhookDeleted => {
                schema("WebhookView")
            }
        };
        let header = |name: &str, description: &str| json!({ "name": name, "in": "header", "required": true, "description": description, "schema": { "type": "string" } });
        all.insert(
            kind.as_str().to_string(),
            json!({
                "post": {
                    "operationId": format!("webhook_{}", kind.as_str().replace('.', "_")),
                    "summary": kind.as_str(),
                    "tags": ["webhooks"],
                    "parameters": [
                        header("webhook-id", "the event's id: the same for every attempt of this delivery"),
                        header("webhook-timestamp", "the attempt's time, in seconds since the epoch"),
                        header("webhook-signature", "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` for each signing secret, space-separated"),
                    ],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": {
                            "type": "object",
                            "required": ["type", "timestamp", "data"],
                            "properties": {
                                "type": { "const": kind.as_str() },
                                "timestamp": { "type": "string", "format": "date-time", "description": "when it happened" },
                                "data": data,
                            }
                        } } }
                    },
                    "responses": {
                        "2XX": { "description": "taken; any other answer (or none in 10 s) is tried again on the schedule" }
                    }
                }
            }),
        );
    }
    serde_json::Value::Object(all)
}
