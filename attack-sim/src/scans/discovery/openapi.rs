//! The operations of an OpenAPI 3.x document and every input each takes: path, query, header
//! and cookie parameters, and the top-level fields of a JSON or form request body (`$ref`s into
//! `components/schemas` followed). What an injection scan needs to know of a route, nothing
//! more: names, where they go, their declared type, whether the route needs authentication.

use serde_json::Value;

/// Where an input goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// A `{name}` segment of the path.
    Path,
    /// A query-string parameter.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
    /// A member of the JSON body.
    Body,
    /// A field of a form body (`application/x-www-form-urlencoded`).
    Form,
}

impl Location {
    /// As written in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
            Location::Body => "body",
            Location::Form => "form",
        }
    }
}

/// The declared JSON type of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `string` (or undeclared).
    String,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
    /// `object` or `array`.
    Structured,
}

impl Kind {
    fn of(schema: &Value) -> Kind {
        // OpenAPI 3.1 allows a list of types (`["string", "null"]`): the first non-null one.
        let ty = match &schema["type"] {
            Value::String(s) => s.as_str(),
            Value::Array(types) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("string"),
            _ => "string",
        };
        match ty {
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            "boolean" => Kind::Boolean,
            "object" | "array" => Kind::Structured,
            _ => Kind::String,
        }
    }
}

/// One input of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Its name (for a body field, the member name).
    pub name: String,
    /// Where it goes.
    pub location: Location,
    /// Its declared type.
    pub kind: Kind,
    /// Whether the document says it is required.
    pub required: bool,
    /// A value the document gives for it (`example`, `examples`, `default` or the first of
    /// `enum`), as text.
    pub example: Option<String>,
}

/// The first value the document offers for an input described by `param` (a parameter
/// object, or none for a body field) and its `schema`.
fn example_of(param: Option<&Value>, schema: &Value) -> Option<String> {
    let candidates = [
        param.map(|p| &p["example"]),
        Some(&schema["example"]),
        schema["examples"].get(0),
        Some(&schema["default"]),
        schema["enum"].get(0),
    ];
    candidates.into_iter().flatten().find_map(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// One operation (method and path) of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `GET`, `POST`, ... (upper case).
    pub method: String,
    /// The path template, `{name}` for path parameters.
    pub path: String,
    /// Every input, parameters first, then body fields.
    pub inputs: Vec<Input>,
    /// It takes a JSON body.
    pub json_body: bool,
    /// It takes a form body (`application/x-www-form-urlencoded`), and no JSON one.
    pub form_body: bool,
    /// It declares a security requirement (needs the session).
    pub secured: bool,
}

impl Operation {
    /// `METHOD /path`, as findings name endpoints.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocError {
    /// Not an OpenAPI 3 document.
    #[error("not an OpenAPI 3 document (no `openapi: 3.x` member)")]
    NotOpenApi,
    /// No paths.
    #[error("the OpenAPI document has no paths")]
    NoPaths,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// Follows a local `$ref` (`#/components/...`) once or more; other values as they are.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = v["$ref"].as_str() else {
            return v;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return v;
        };
        match doc.pointer(pointer) {
            Some(target) => v = target,
            None => return v,
        }
    }
    v
}

/// Every operation of `doc`, in document order.
pub fn operations(doc: &Value) -> Result<Vec<Operation>, DocError> {
    if !doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')) {
        return Err(DocError::NotOpenApi);
    }
    let paths = doc["paths"].as_object().ok_or(DocError::NoPaths)?;
    let global_security = doc["security"].as_array().is_some_and(|s| !s.is_empty());
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item = resolve(doc, item);
        let shared = item["parameters"].as_array().cloned().unwrap_or_default();
        for method in METHODS {
            let op = &item[method];
            if !op.is_object() {
                continue;
            }
            let mut inputs = Vec::new();
            let own = op["parameters"].as_array().cloned().unwrap_or_default();
            for p in shared.iter().chain(&own) {
                let p = resolve(doc, p);
                let Some(name) = p["name"].as_str() else {
                    continue;
                };
                let location = match p["in"].as_str() {
                    Some("path") => Location::Path,
                    Some("query") => Location::Query,
                    Some("header") => Location::Header,
                    Some("cookie") => Location::Cookie,
                    _ => continue,
                };
                // An operation's own parameter overrides a path-level one of the same name.
                inputs.retain(|i: &Input| !(i.name == name && i.location == location));
                let schema = resolve(doc, &p["schema"]);
                inputs.push(Input {
                    name: name.to_string(),
                    location,
                    kind: Kind::of(schema),
                    required: location == Location::Path || p["required"] == true,
                    example: example_of(Some(p), schema),
                });
            }
            let body = resolve(doc, &op["requestBody"]);
            let json_body = body["content"]["application/json"].is_object();
            let form_body =
                !json_body && body["content"]["application/x-www-form-urlencoded"].is_object();
            let (media, field_location) = if form_body {
                ("application/x-www-form-urlencoded", Location::Form)
            } else {
                ("application/json", Location::Body)
            };
            let schema = resolve(doc, &body["content"][media]["schema"]);
            if let Some(props) = schema["properties"].as_object() {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (name, field) in props {
                    let field = resolve(doc, field);
                    inputs.push(Input {
                        name: name.clone(),
                        location: field_location,
                        kind: Kind::of(field),
                        required: required.contains(&name.as_str()),
                        example: example_of(None, field),
                    });
                }
            }
            let secured = match op["security"].as_array() {
                Some(reqs) => reqs
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| !o.is_empty())),
                None => global_security,
            };
            ops.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                inputs,
                json_body,
                form_body,
                secured,
            });
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": {
                "/healthz": {"get": {}},
                "/v1/accounts/{id}/transactions": {
                    "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                    "get": {
                        "security": [{"bearer": []}],
                        "parameters": [
                            {"name": "q", "in": "query", "schema": {"type": ["string", "null"]}},
                            {"name": "limit", "in": "query", "required": true,
                             "schema": {"type": "integer", "default": 20}},
                            {"$ref": "#/components/parameters/Key"}
                        ]
                    }
                },
                "/v1/transfers": {"post": {
                    "security": [{"bearer": []}],
                    "requestBody": {"content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/NewTransfer"}}}}
                }},
                "/v1/users": {"post": {"security": [{}], "requestBody": {"$ref": "#/components/requestBodies/Creds"}}}
            },
            "components": {
                "parameters": {"Key": {"name": "Idempotency-Key", "in": "header"}},
                "schemas": {
                    "NewTransfer": {"type": "object", "required": ["amount"], "properties": {
                        "amount": {"type": "string", "example": "1.00"},
                        "memo": {"type": ["string", "null"], "examples": ["rent"]},
                        "count": {"type": "integer"}, "tags": {"type": "array"}}},
                    "Creds": {"properties": {"username": {"type": "string"}}}
                },
                "requestBodies": {"Creds": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Creds"}}}}}
            }
        })
    }

    #[test]
    fn every_input_is_found_with_its_place_and_type() {
        let ops = operations(&doc()).expect("document");
        assert_eq!(ops.len(), 4);
        let history = &ops[1];
        assert_eq!(history.endpoint(), "GET /v1/accounts/{id}/transactions");
        assert!(history.secured && !history.json_body);
        let found: Vec<_> = history
            .inputs
            .iter()
            .map(|i| (i.name.as_str(), i.location, i.kind, i.required))
            .collect();
        assert_eq!(
            found,
            [
                ("id", Location::Path, Kind::String, true),
                ("q", Location::Query, Kind::String, false),
                ("limit", Location::Query, Kind::Integer, true),
                ("Idempotency-Key", Location::Header, Kind::String, false),
            ]
        );
        assert_eq!(history.inputs[2].example.as_deref(), Some("20"));
        assert_eq!(history.inputs[1].example, None);
        let transfer = &ops[2];
        assert!(transfer.json_body && transfer.secured);
        let mut body: Vec<_> = transfer
            .inputs
            .iter()
            .map(|i| (i.name.as_str(), i.kind, i.required))
            .collect();
        body.sort_unstable_by_key(|b| b.0);
        assert_eq!(
            body,
            [
                ("amount", Kind::String, true),
                ("count", Kind::Integer, false),
                ("memo", Kind::String, false),
                ("tags", Kind::Structured, false),
            ]
        );
        let example = |name: &str| {
            let input = transfer.inputs.iter().find(|i| i.name == name).expect(name);
            input.example.clone()
        };
        assert_eq!(example("amount").as_deref(), Some("1.00"));
        assert_eq!(example("memo").as_deref(), Some("rent"));
        let users = &ops[3];
        assert!(!users.secured, "an empty requirement means optional");
        assert_eq!(users.inputs[0].name, "username");
        assert!(!ops[0].secured && ops[0].inputs.is_empty());
    }

    #[test]
    fn form_bodies_are_inputs_too() {
        let doc = json!({"openapi": "3.0.3", "paths": {"/signin": {"post": {"requestBody": {
            "content": {"application/x-www-form-urlencoded": {"schema": {
                "required": ["login"],
                "properties": {"login": {"type": "string"}, "pass": {"type": "string"}}}}}}}}}});
        let ops = operations(&doc).expect("document");
        assert!(ops[0].form_body && !ops[0].json_body);
        let fields: Vec<_> = ops[0]
            .inputs
            .iter()
            .map(|i| (i.name.as_str(), i.location, i.required))
            .collect();
        assert_eq!(
            fields,
            [
                ("login", Location::Form, true),
                ("pass", Location::Form, false)
            ]
        );
    }

    #[test]
    fn documents_that_are_not_openapi_3_are_named() {
        assert_eq!(
            operations(&json!({"swagger": "2.0"})),
            Err(DocError::NotOpenApi)
        );
        assert_eq!(
            operations(&json!({"openapi": "3.0.3"})),
            Err(DocError::NoPaths)
        );
        // A reference loop ends.
        let looped = json!({"openapi": "3.0.0", "paths": {"/a": {"$ref": "#/paths/~1a"}}});
        assert_eq!(operations(&looped).expect("doc"), Vec::new());
    }
}
