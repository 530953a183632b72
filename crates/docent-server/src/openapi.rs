//! The OpenAPI 3.1 document, generated from the route table (the same list the router is
//! built from) and from the Rust types themselves: every request body, query string and
//! answer has the JSON Schema of the type the handler reads or writes (schemars), so the
//! document cannot drift from the code. Requests are described as they are read
//! (deserialized), answers as they are written (serialized); where a type differs between
//! the two, the request's schema is named `…Input`.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::routes::{Access, Body, Kind, Returns, Route};

const SCHEMAS: &str = "#/components/schemas/";

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// The operation id of `method path`, e.g. `get_api_chat_spaces__id_` (as it has always been
/// spelled, so that generated clients keep their names).
pub fn operation_id(method: &str, path: &str) -> String {
    format!(
        "{}_{}",
        method.to_lowercase(),
        path.trim_start_matches('/')
            .replace(['/', '-', '{', '}', '.'], "_")
    )
}

/// Rewrites every `$ref` to a definition in `renamed` (old name → new name).
fn rename_refs(value: &mut Value, renamed: &Map<String, Value>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(name) = target.strip_prefix(SCHEMAS)
                && let Some(Value::String(new)) = renamed.get(name)
            {
                *target = format!("{SCHEMAS}{new}");
            }
            map.values_mut().for_each(|v| rename_refs(v, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renamed)),
        _ => {}
    }
}

/// The properties of an object schema (following one `$ref`), as query parameters.
fn query_parameters(schema: &Value, definitions: &Map<String, Value>) -> Vec<Value> {
    let object = expanded(schema, definitions, 1);
    let required: Vec<&str> = object["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    object["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| {
                    let mut parameter = json!({
                        "name": name,
                        "in": "query",
                        "required": required.contains(&name.as_str()),
                        "schema": schema,
                    });
                    if let Some(description) = schema.get("description") {
                        parameter["description"] = description.clone();
                    }
                    parameter
                })
                .collect()
        })
        .unwrap_or_default()
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = match name {
                "slug" => json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}),
                // A visitor id as the widget made it, or an email.
                // Not only white space (the server trims it).
                "visitor" => json!({"type": "string", "minLength": 1, "maxLength": 254, "pattern": docent_core::validate::NOT_BLANK_PATTERN}),
                _ => json!({"type": "string", "format": "uuid"}),
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

/// One event of a stream, as OpenAPI 3.1 describes the items of `text/event-stream`.
fn events_content() -> Value {
    json!({"text/event-stream": {"schema": {
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": {"type": "string", "description": "The event's name."},
            "data": {"type": "string", "contentMediaType": "application/json", "description": "The event's JSON."},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0}
        }
    }}})
}

/// States the range of each sized integer (`format: uint32` and the like) as bounds, so
/// that a value the server cannot hold is not taken for a valid one.
fn integer_bounds(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let bounds: Option<(i64, u64)> = match map.get("format").and_then(Value::as_str) {
                Some("uint8") => Some((0, u8::MAX.into())),
                Some("uint16") => Some((0, u16::MAX.into())),
                Some("uint32") => Some((0, u32::MAX.into())),
                Some("int32") => Some((i32::MIN.into(), i32::MAX as u64)),
                Some("uint64" | "uint") => Some((0, i64::MAX as u64)),
                Some("int64" | "int") => Some((i64::MIN, i64::MAX as u64)),
                _ => None,
            };
            if let Some((min, max)) = bounds {
                map.entry("minimum").or_insert(json!(min));
                map.entry("maximum").or_insert(json!(max));
            }
            map.values_mut().for_each(integer_bounds);
        }
        Value::Array(items) => items.iter_mut().for_each(integer_bounds),
        _ => {}
    }
}

fn success(route: &Route, responses: &mut SchemaGenerator, links: Value) -> (String, Value) {
    let (status, mut response) = match route.returns {
        Some(Returns::Json(status, schema)) => (
            status,
            json!({"description": "Success", "content": {"application/json": {"schema": schema(responses)}}}),
        ),
        Some(Returns::Empty(status)) => (status, json!({"description": "Done; no content"})),
        Some(Returns::Events) => (
            200,
            json!({"description": "An event stream", "content": events_content()}),
        ),
        Some(Returns::JsonOrEvents(schema)) => {
            let mut content = events_content();
            content["application/json"] = json!({"schema": schema(responses)});
            (
                200,
                json!({"description": "The answer as JSON, or streamed as events with `Accept: text/event-stream`", "content": content}),
            )
        }
        Some(Returns::Download(media_types)) => {
            let content: serde_json::Map<String, Value> = media_types
                .iter()
                .map(|t| ((*t).to_owned(), json!({"schema": {"type": "string"}})))
                .collect();
            (
                200,
                json!({"description": "A file, streamed (`Content-Disposition: attachment`)", "content": content}),
            )
        }
        None => (200, json!({"description": "Success"})),
    };
    if links.as_object().is_some_and(|l| !l.is_empty()) {
        response["links"] = links;
    }
    (status.to_string(), response)
}

fn error_schema() -> Value {
    let codes: Vec<&str> = ApiError::codes().into_iter().map(|(c, _)| c).collect();
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": codes, "description": "Stable; a client may branch on it."},
                "message": {"type": "string", "description": "What went wrong and what to do, for a person."},
                "fields": {"type": "array", "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                }}
            }
        }},
        "example": {"error": {"code": "validation_failed", "message": "Some fields need attention: name: Give it a name.", "fields": [{"field": "name", "message": "Give it a name."}]}}
    })
}

/// The document for a server reachable at `server`.
pub fn document(server: &str) -> Value {
    let mut requests = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut responses = generator(SchemaSettings::draft2020_12().for_serialize());
    let routes: Vec<Route> = crate::routes::routes()
        .into_iter()
        .filter(|r| r.kind == Kind::Api)
        .collect();
    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for route in &routes {
        let mut parameters = path_parameters(route.path);
        if let Some(query) = route.query {
            let schema = query(&mut requests).to_value();
            parameters.extend(query_parameters(&schema, requests.definitions()));
        }
        let security = match route.access {
            Access::Public => json!([]),
            Access::User | Access::PlatformAdmin => json!([{"session": []}]),
            Access::Org | Access::ChatSpace => json!([{"session": []}, {"apiKey": []}]),
        };
        let links: Map<String, Value> = route
            .links
            .iter()
            .map(|link| {
                let id = operation_id(link.method.as_str(), link.path);
                (
                    id.clone(),
                    json!({"operationId": id, "parameters": {link.parameter: format!("$response.body#{}", link.field)}}),
                )
            })
            .collect();
        let (status, ok) = success(route, &mut responses, Value::Object(links));
        let mut op = json!({
            "summary": route.summary,
            "operationId": operation_id(route.method.as_str(), route.path),
            "tags": [route.path.split('/').nth(2).unwrap_or("ops")],
            "parameters": parameters,
            "security": security,
            "responses": {status: ok, "default": {"$ref": if route.path.starts_with("/v1/") {
                // The OpenAI-compatible API answers errors as OpenAI does.
                "#/components/responses/OpenAiError"
            } else {
                "#/components/responses/Error"
            }}},
        });
        match route.body {
            Some(Body::Json(schema)) => {
                op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema(&mut requests).to_value()}}});
            }
            Some(Body::Multipart) => {
                op["requestBody"] = json!({"required": true, "content": {"multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "additionalProperties": false,
                        "properties": {
                            "file": {"type": "string", "contentMediaType": "application/octet-stream", "minLength": 1, "description": "A file: PDF, DOCX, TXT, Markdown, HTML, VTT or SRT; repeat the part for more."},
                            "citable": {"type": "string", "enum": ["true", "false", "on", "off", "yes", "no", "1", "0", ""], "description": "Whether answers may cite them (default true)."}
                        }
                    },
                    "encoding": {"file": {"contentType": "application/octet-stream"}}
                }}});
            }
            None => {}
        }
        operations.push((
            route.path.to_owned(),
            route.method.as_str().to_lowercase(),
            op,
        ));
    }
    // One set of schemas: a request type whose schema differs from the answer type of the
    // same name is kept apart as `…Input`.
    let mut schemas = responses.take_definitions(true);
    let request_definitions = requests.take_definitions(true);
    let mut renamed = Map::new();
    for (name, schema) in &request_definitions {
        if schemas.get(name).is_some_and(|s| s != schema) {
            renamed.insert(name.clone(), Value::String(format!("{name}Input")));
        }
    }
    for (name, mut schema) in request_definitions {
        rename_refs(&mut schema, &renamed);
        let key = match renamed.get(&name) {
            Some(Value::String(new)) => new.clone(),
            _ => name,
        };
        schemas.insert(key, schema);
    }
    let mut paths = Map::new();
    for (path, method, mut op) in operations {
        if let Some(body) = op.get_mut("requestBody") {
            rename_refs(body, &renamed);
        }
        if let Some(parameters) = op.get_mut("parameters") {
            rename_refs(parameters, &renamed);
        }
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    schemas.insert("Error".into(), error_schema());
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Docent API",
            "version": env!("CARGO_PKG_VERSION"),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
            "description": "Every error answers `{\"error\": {\"code\", \"message\", \"fields\"?}}` with a stable `code`. Authenticate with an API key (`Authorization: Bearer dk_…`), or a session cookie plus `X-CSRF-Token` on unsafe requests."
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE, "description": "Unsafe requests also need X-CSRF-Token (the docent_csrf cookie)."},
                "apiKey": {"type": "http", "scheme": "bearer"}
            },
            "schemas": schemas,
            "responses": {
                "Error": {"description": "An error with a stable code", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "OpenAiError": {"description": "An error in OpenAI's shape", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["message", "type", "param", "code"], "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": ["string", "null"]},
                        "code": {"type": ["string", "null"]}
                    }}}
                }}}}
            }
        }
    });
    integer_bounds(&mut document);
    document
}

/// One operation as the reference page shows it.
#[derive(Debug)]
struct PageOperation {
    id: String,
    method: String,
    path: String,
    summary: String,
    access: &'static str,
    parameters: Vec<PageParameter>,
    body: Option<String>,
    status: String,
    answer: Option<String>,
}

#[derive(Debug)]
struct PageParameter {
    name: String,
    location: String,
    required: bool,
    schema: String,
}

#[derive(Debug)]
struct PageGroup {
    tag: String,
    operations: Vec<PageOperation>,
}

#[derive(askama::Template)]
#[template(path = "ops/api_docs.html")]
struct ReferencePage {
    version: &'static str,
    groups: Vec<PageGroup>,
    codes: Vec<(&'static str, u16)>,
}

/// `schema` with its `$ref`s to components replaced by what they name (to `depth` levels),
/// as indented JSON.
fn expanded(schema: &Value, schemas: &Map<String, Value>, depth: u32) -> Value {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(SCHEMAS))
                && depth > 0
                && let Some(target) = schemas.get(name)
            {
                return expanded(target, schemas, depth - 1);
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), expanded(v, schemas, depth)))
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| expanded(v, schemas, depth)).collect())
        }
        other => other.clone(),
    }
}

/// The API reference page (`/api/docs`): every operation of [`document`] with its
/// parameters, body and answer schemas, and the error codes. No script, no CDN.
pub fn reference_page(server: &str) -> Result<String, askama::Error> {
    let doc = document(server);
    let empty = Map::new();
    let schemas = doc["components"]["schemas"].as_object().unwrap_or(&empty);
    let pretty =
        |v: &Value| serde_json::to_string_pretty(&expanded(v, schemas, 3)).unwrap_or_default();
    let mut groups: Vec<PageGroup> = Vec::new();
    for route in crate::routes::routes()
        .into_iter()
        .filter(|r| r.kind == Kind::Api)
    {
        let op = &doc["paths"][route.path][route.method.as_str().to_lowercase().as_str()];
        let (status, ok) = op["responses"]
            .as_object()
            .and_then(|r| r.iter().find(|(k, _)| *k != "default"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap_or_default();
        let answer = ok["content"]
            .as_object()
            .and_then(|c| c.values().next())
            .map(|m| pretty(&m["schema"]));
        let body = op["requestBody"]["content"]
            .as_object()
            .and_then(|c| c.values().next())
            .map(|m| pretty(&m["schema"]));
        let parameters = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| PageParameter {
                        name: p["name"].as_str().unwrap_or_default().to_owned(),
                        location: p["in"].as_str().unwrap_or_default().to_owned(),
                        required: p["required"].as_bool().unwrap_or(false),
                        schema: serde_json::to_string(&expanded(&p["schema"], schemas, 1))
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tag = op["tags"][0].as_str().unwrap_or("ops").to_owned();
        let operation = PageOperation {
            id: op["operationId"].as_str().unwrap_or_default().to_owned(),
            method: route.method.as_str().to_owned(),
            path: route.path.to_owned(),
            summary: route.summary.to_owned(),
            access: match route.access {
                Access::Public => "anyone",
                Access::User => "a logged-in person",
                Access::Org => "a member or an organization-wide API key",
                Access::ChatSpace => "a member or an API key of the chat space",
                Access::PlatformAdmin => "a platform administrator",
            },
            parameters,
            body,
            status,
            answer,
        };
        match groups.iter_mut().find(|g| g.tag == tag) {
            Some(group) => group.operations.push(operation),
            None => groups.push(PageGroup {
                tag,
                operations: vec![operation],
            }),
        }
    }
    let codes = ApiError::codes()
        .into_iter()
        .map(|(code, status)| (code, status.as_u16()))
        .collect();
    askama::Template::render(&ReferencePage {
        version: env!("CARGO_PKG_VERSION"),
        groups,
        codes,
    })
}
