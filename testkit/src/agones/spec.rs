//! Agones' own REST specification of the SDK sidecar (the swagger files in
//! `tests/data/agones/`, verbatim from googleforgames/agones), loaded at test time: which
//! paths and methods exist, and the JSON schema of each operation's body and answer.
//!
//! Validation is what grpc-gateway's protojson decoding enforces on the wire, taken from
//! the schema only: field names (an unknown field is rejected), JSON types (an int64 is a
//! JSON string holding a decimal integer, as the spec writes it; protojson would also take
//! a JSON number, so the stand-in is the stricter of the two), `required` fields.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The directory of the three swagger files.
pub fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/agones")
}

/// The swagger files the sidecar serves (the SDK, its beta and alpha parts).
pub const SPEC_FILES: [&str; 3] = [
    "sdk.swagger.json",
    "beta.swagger.json",
    "alpha.swagger.json",
];

/// One path segment of an operation's path template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}` or `{name}:verb` (a gRPC custom method: the verb is a literal suffix).
    Param {
        name: String,
        verb: Option<String>,
    },
}

/// One operation: a method on a path template.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The swagger file it comes from.
    pub file: &'static str,
    pub operation_id: String,
    /// Upper case (`POST`).
    pub method: String,
    /// The path template as the spec writes it (`/v1beta1/lists/{name}:addValue`).
    pub path: String,
    segments: Vec<Segment>,
    /// The body schema with every `$ref` resolved; `None`: the operation takes no body.
    pub body: Option<Value>,
    /// The 200 answer's schema, `$ref`s resolved.
    pub response: Value,
    /// A server-streaming call (the answer is a stream of `{"result": ...}` objects).
    pub streaming: bool,
}

impl Operation {
    /// The path parameters if `path` matches this operation's template.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (seg, part) in self.segments.iter().zip(parts) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param { name, verb: None } => {
                    if part.is_empty() || part.contains(':') {
                        return None;
                    }
                    params.push((name.clone(), part.to_string()));
                }
                Segment::Param {
                    name,
                    verb: Some(verb),
                } => {
                    let value = part.strip_suffix(verb.as_str())?.strip_suffix(':')?;
                    if value.is_empty() || value.contains(':') {
                        return None;
                    }
                    params.push((name.clone(), value.to_string()));
                }
            }
        }
        Some(params)
    }
}

/// The whole specification.
#[derive(Clone, Debug)]
pub struct Spec {
    pub operations: Vec<Operation>,
}

/// How a request fits the specification.
#[derive(Debug)]
pub enum Route<'a> {
    Found(&'a Operation, Vec<(String, String)>),
    /// The path exists, not with this method.
    WrongMethod,
    NotFound,
}

impl Spec {
    /// Loads the three files from [`spec_dir`]. Panics with the reason on a missing or
    /// malformed file (a test setup error).
    pub fn load() -> Spec {
        Self::load_from(&spec_dir())
    }

    pub fn load_from(dir: &Path) -> Spec {
        let mut operations = Vec::new();
        for file in SPEC_FILES {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(doc["swagger"], "2.0", "{file}");
            let defs = doc["definitions"].as_object().cloned().unwrap_or_default();
            let paths = doc["paths"].as_object().expect("paths");
            for (template, methods) in paths {
                for (method, op) in methods.as_object().expect("methods") {
                    let body = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|p| p["in"] == "body")
                        .map(|p| resolve(&p["schema"], &defs));
                    let response = resolve(&op["responses"]["200"]["schema"], &defs);
                    let streaming = op["responses"]["200"]["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("(streaming responses)"));
                    operations.push(Operation {
                        file,
                        operation_id: op["operationId"].as_str().unwrap_or("").to_string(),
                        method: method.to_ascii_uppercase(),
                        path: template.clone(),
                        segments: parse_template(template),
                        body,
                        response,
                        streaming,
                    });
                }
            }
        }
        Spec { operations }
    }

    /// The operation a request names.
    pub fn route(&self, method: &str, path: &str) -> Route<'_> {
        let mut path_known = false;
        for op in &self.operations {
            if let Some(params) = op.matches(path) {
                if op.method == method {
                    return Route::Found(op, params);
                }
                path_known = true;
            }
        }
        if path_known {
            Route::WrongMethod
        } else {
            Route::NotFound
        }
    }

    /// The operation with this id in this file.
    pub fn operation(&self, file: &str, operation_id: &str) -> &Operation {
        self.operations
            .iter()
            .find(|o| o.file == file && o.operation_id == operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id} in {file}"))
    }
}

fn parse_template(template: &str) -> Vec<Segment> {
    template
        .trim_start_matches('/')
        .split('/')
        .map(|s| match s.strip_prefix('{') {
            Some(rest) => {
                let (name, verb) = match rest.split_once('}') {
                    Some((name, tail)) => (name, tail.strip_prefix(':')),
                    None => (rest, None),
                };
                Segment::Param {
                    name: name.to_string(),
                    verb: verb.map(str::to_string),
                }
            }
            None => Segment::Literal(s.to_string()),
        })
        .collect()
}

/// `schema` with every `#/definitions/...` reference replaced by its definition.
fn resolve(schema: &Value, defs: &Map<String, Value>) -> Value {
    match schema {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let name = r.trim_start_matches("#/definitions/");
                let def = defs
                    .get(name)
                    .unwrap_or_else(|| panic!("unresolved reference {r}"));
                return resolve(def, defs);
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), resolve(v, defs)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, defs)).collect()),
        other => other.clone(),
    }
}

/// Checks `value` against a resolved schema; the error names the offending field.
pub fn validate(value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let ty = schema["type"]
        .as_str()
        .unwrap_or(if schema.get("properties").is_some() {
            "object"
        } else {
            ""
        });
    match ty {
        "object" => {
            let obj = value
                .as_object()
                .ok_or_else(|| format!("{at}: expected an object, got {value}"))?;
            let props = schema["properties"].as_object();
            for (k, v) in obj {
                let here = format!("{at}.{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(s) => validate(v, s, &here)?,
                    None => match schema.get("additionalProperties") {
                        Some(extra) if extra.is_object() => validate(v, extra, &here)?,
                        _ => return Err(format!("{here}: unknown field")),
                    },
                }
            }
            for req in schema["required"].as_array().into_iter().flatten() {
                let name = req.as_str().unwrap_or("");
                if !obj.contains_key(name) {
                    return Err(format!("{at}.{name}: required field missing"));
                }
            }
            Ok(())
        }
        "string" => {
            let s = value
                .as_str()
                .ok_or_else(|| format!("{at}: expected a string, got {value}"))?;
            if schema["format"] == "int64" && s.parse::<i64>().is_err() {
                return Err(format!("{at}: {s:?} is not an int64"));
            }
            Ok(())
        }
        "integer" => {
            let n = value
                .as_i64()
                .ok_or_else(|| format!("{at}: expected an integer, got {value}"))?;
            if schema["format"] == "int32" && i32::try_from(n).is_err() {
                return Err(format!("{at}: {n} is not an int32"));
            }
            Ok(())
        }
        "boolean" => value
            .is_boolean()
            .then_some(())
            .ok_or_else(|| format!("{at}: expected a boolean, got {value}")),
        "array" => {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{at}: expected an array, got {value}"))?;
            for (i, item) in items.iter().enumerate() {
                validate(item, &schema["items"], &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        // A schema without a type (`{}`) takes anything.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_custom_verbs_and_plain_parameters() {
        let spec = Spec::load();
        let Route::Found(op, params) = spec.route("POST", "/v1beta1/lists/players:addValue") else {
            panic!("addValue not routed")
        };
        assert_eq!(op.operation_id, "AddListValue");
        assert_eq!(params, [("name".to_string(), "players".to_string())]);
        let Route::Found(op, _) = spec.route("PATCH", "/v1beta1/lists/players") else {
            panic!("UpdateList not routed")
        };
        assert_eq!(op.operation_id, "UpdateList");
        assert!(matches!(
            spec.route("GET", "/v1beta1/lists/players:addValue"),
            Route::WrongMethod
        ));
        assert!(matches!(
            spec.route("POST", "/v1beta1/lists/players:frob"),
            Route::NotFound
        ));
        assert!(matches!(spec.route("GET", "/ready"), Route::WrongMethod));
        assert!(matches!(spec.route("POST", "/readyz"), Route::NotFound));
    }

    #[test]
    fn bodies_are_checked_by_name_and_type() {
        let spec = Spec::load();
        let add = spec.operation("beta.swagger.json", "AddListValue");
        let schema = add.body.as_ref().unwrap();
        assert!(validate(&serde_json::json!({"value": "ann"}), schema, "body").is_ok());
        assert!(validate(&serde_json::json!({}), schema, "body")
            .unwrap_err()
            .contains("required"));
        assert!(validate(&serde_json::json!({"value": 3}), schema, "body").is_err());
        assert!(
            validate(&serde_json::json!({"value": "a", "x": 1}), schema, "body")
                .unwrap_err()
                .contains("unknown field")
        );
        let update = spec.operation("beta.swagger.json", "UpdateList");
        let schema = update.body.as_ref().unwrap();
        assert!(validate(&serde_json::json!({"capacity": "4"}), schema, "b").is_ok());
        assert!(validate(&serde_json::json!({"capacity": 4}), schema, "b").is_err());
        assert!(validate(&serde_json::json!({"capacity": "four"}), schema, "b").is_err());
        let ready = spec.operation("sdk.swagger.json", "Ready");
        let schema = ready.body.as_ref().unwrap();
        assert!(validate(&serde_json::json!({}), schema, "b").is_ok());
        assert!(validate(&serde_json::json!({"now": true}), schema, "b").is_err());
        assert!(
            spec.operation("sdk.swagger.json", "WatchGameServer")
                .streaming
        );
    }
}
