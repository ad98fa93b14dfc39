//! An in-memory rewrite of the OpenAPI 3.1 document utoipa emits into the 3.0.3 that
//! progenitor reads. No crate does this well (GUIDE.md); the rules, each tested below:
//! - `type: [T, "null"]` → `type: T, nullable: true`;
//! - `oneOf`/`anyOf` `[X, {type: null}]` → X, nullable (a `$ref` becomes `allOf: [$ref]`);
//! - a `$ref` with siblings → `allOf: [$ref]` beside them;
//! - `const` → a one-value `enum`; a schema's `examples` array → `example`;
//! - numeric `exclusiveMinimum`/`exclusiveMaximum` → `minimum`/`maximum` + `true`;
//! - `license.identifier` and `propertyNames` dropped;
//! - `application/problem+json` → `application/json`, and `text/csv` dropped where JSON is also
//!   offered (the SDK streams CSV by hand): progenitor wants one media type per response.
//!
//! Only keywords are rewritten: the keys of `properties`, `patternProperties`, `$defs`,
//! `components.schemas` and the other maps of names are names (a property may be called
//! `const`), and examples, defaults, enums and extensions are data, left as they are.

use serde_json::{json, Map, Value};

pub fn rewrite(mut document: Value) -> Value {
    document["openapi"] = json!("3.0.3");
    if let Some(license) = document
        .pointer_mut("/info/license")
        .and_then(Value::as_object_mut)
    {
        license.remove("identifier");
    }
    if let Some(Value::Object(paths)) = document.get_mut("paths") {
        paths.values_mut().for_each(media_types);
    }
    walk(&mut document);
    document
}

/// What the value under a key is, whatever object holds the key.
enum Key {
    /// Names (of properties, schemas, responses, media types, headers…) to objects: the names
    /// are not keywords, so the map itself is not rewritten; each object in it is walked.
    Names,
    /// `components`: sections (`schemas`, `responses`…), each a map of names.
    Components,
    /// An instance or other data (an example, a default, an enum, an extension, a security
    /// requirement…): nothing in it is a keyword, so nothing in it is rewritten.
    Data,
    /// Anything else: walked, every object in it as a possible schema.
    Walk,
}

fn key(name: &str) -> Key {
    match name {
        "properties" | "patternProperties" | "dependentSchemas" | "$defs" | "definitions"
        | "paths" | "webhooks" | "responses" | "content" | "headers" | "encoding" | "callbacks"
        | "variables" => Key::Names,
        "components" => Key::Components,
        "example" | "examples" | "default" | "enum" | "const" | "dependentRequired" | "mapping"
        | "security" | "scopes" | "links" => Key::Data,
        _ if name.starts_with("x-") => Key::Data,
        _ => Key::Walk,
    }
}

/// Rewrites every schema-like object below `value`: an object's keys are keywords, except
/// where [`key`] says its parent's key makes them names or data.
fn walk(value: &mut Value) {
    match value {
        Value::Object(map) => {
            schema(map);
            for (name, child) in map.iter_mut() {
                descend(name, child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

fn descend(name: &str, child: &mut Value) {
    match (key(name), child) {
        (Key::Names, Value::Object(named)) => named.values_mut().for_each(walk),
        (Key::Components, Value::Object(sections)) => {
            for (section, named) in sections.iter_mut() {
                match (key(section), named) {
                    (Key::Data, _) => {}
                    (_, Value::Object(named)) => named.values_mut().for_each(walk),
                    (_, other) => walk(other),
                }
            }
        }
        (Key::Data, _) => {}
        (_, child) => walk(child),
    }
}

fn is_null_type(value: &Value) -> bool {
    value.get("type") == Some(&json!("null"))
}

fn schema(map: &mut Map<String, Value>) {
    // type: [T, "null"]
    if let Some(Value::Array(types)) = map.get("type").cloned() {
        let others: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if others.len() < types.len() {
            map.insert("nullable".into(), json!(true));
        }
        if let [single] = others.as_slice() {
            map.insert("type".into(), single.clone());
        } else {
            map.remove("type");
        }
    }
    // oneOf / anyOf [X, {type: null}]
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(options)) = map.get(key).cloned() else {
            continue;
        };
        if !options.iter().any(is_null_type) {
            continue;
        }
        let rest: Vec<Value> = options.into_iter().filter(|o| !is_null_type(o)).collect();
        map.remove(key);
        map.insert("nullable".into(), json!(true));
        match rest.as_slice() {
            [Value::Object(only)] if only.contains_key("$ref") => {
                map.insert("allOf".into(), json!([only]));
            }
            [Value::Object(only)] => {
                for (k, v) in only {
                    map.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            _ => {
                map.insert(key.into(), Value::Array(rest));
            }
        }
    }
    // $ref with siblings
    if map.contains_key("$ref") && map.len() > 1 {
        let reference = map.remove("$ref").unwrap();
        map.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), json!([value]));
    }
    if let Some(Value::Array(examples)) = map.get("examples").cloned() {
        map.remove("examples");
        if let Some(first) = examples.into_iter().next() {
            map.insert("example".into(), first);
        }
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Number(n)) = map.get(exclusive).cloned() {
            map.insert(bound.into(), Value::Number(n));
            map.insert(exclusive.into(), json!(true));
        }
    }
    map.remove("propertyNames");
}

/// One media type per request and response body, for the generator; and an optional
/// parameter is not also nullable (progenitor would make it `Option<Option<T>>`).
fn media_types(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let optional_parameter =
                map.contains_key("in") && map.get("required") != Some(&json!(true));
            if optional_parameter {
                if let Some(Value::Object(schema)) = map.get_mut("schema") {
                    schema.remove("nullable");
                    if let Some(Value::Array(types)) = schema.get("type").cloned() {
                        let others: Vec<Value> =
                            types.into_iter().filter(|t| t != "null").collect();
                        if let [single] = others.as_slice() {
                            schema.insert("type".into(), single.clone());
                        }
                    }
                }
            }
            if let Some(Value::Object(content)) = map.get_mut("content") {
                if let Some(problem) = content.remove("application/problem+json") {
                    content.entry("application/json").or_insert(problem);
                }
                if content.contains_key("application/json") {
                    content.remove("text/csv");
                }
            }
            // Parameters and bodies are never inside a schema or data, and there `in` or
            // `content` would be a property's name or a value.
            for (name, child) in map.iter_mut() {
                match (key(name), child) {
                    (Key::Data | Key::Components, _) => {}
                    _ if name == "schema" => {}
                    (Key::Names, Value::Object(named)) => named.values_mut().for_each(media_types),
                    (_, child) => media_types(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(media_types),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(schema: Value) -> Value {
        rewrite(json!({"openapi": "3.1.0", "components": {"schemas": {"S": schema}}}))["components"]
            ["schemas"]["S"]
            .clone()
    }

    #[test]
    fn the_version_and_license_identifier() {
        let doc = rewrite(
            json!({"openapi": "3.1.0", "info": {"license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}}}),
        );
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["license"], json!({"name": "Apache-2.0"}));
    }

    #[test]
    fn nullable_type_arrays() {
        assert_eq!(
            rewritten(json!({"type": ["string", "null"], "format": "email"})),
            json!({"type": "string", "format": "email", "nullable": true})
        );
        assert_eq!(
            rewritten(json!({"type": ["integer"]})),
            json!({"type": "integer"})
        );
    }

    #[test]
    fn nullable_one_of_with_a_reference() {
        assert_eq!(
            rewritten(json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Lead"}]})),
            json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/Lead"}]})
        );
        assert_eq!(
            rewritten(json!({"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]})),
            json!({"nullable": true, "type": "string", "format": "date"})
        );
    }

    #[test]
    fn references_with_siblings() {
        assert_eq!(
            rewritten(json!({"$ref": "#/components/schemas/X", "description": "d"})),
            json!({"allOf": [{"$ref": "#/components/schemas/X"}], "description": "d"})
        );
        assert_eq!(
            rewritten(json!({"$ref": "#/components/schemas/X"})),
            json!({"$ref": "#/components/schemas/X"})
        );
    }

    #[test]
    fn const_examples_bounds_and_property_names() {
        assert_eq!(rewritten(json!({"const": "a"})), json!({"enum": ["a"]}));
        assert_eq!(
            rewritten(json!({"examples": ["x", "y"]})),
            json!({"example": "x"})
        );
        assert_eq!(
            rewritten(json!({"exclusiveMinimum": 0})),
            json!({"minimum": 0, "exclusiveMinimum": true})
        );
        assert_eq!(
            rewritten(json!({"type": "object", "propertyNames": {"type": "string"}})),
            json!({"type": "object"})
        );
    }

    #[test]
    fn property_names_are_names_not_keywords() {
        let properties = json!({
            "const": {"type": "string"},
            "propertyNames": {"type": "array", "items": {"type": "string"}},
            "examples": {"type": "array", "items": {"type": "string"}},
            "exclusiveMinimum": {"type": "integer"},
            "$ref": {"type": "string"},
            "type": {"type": ["string", "null"]}
        });
        assert_eq!(
            rewritten(json!({"type": "object", "properties": properties})),
            json!({"type": "object", "properties": {
                "const": {"type": "string"},
                "propertyNames": {"type": "array", "items": {"type": "string"}},
                "examples": {"type": "array", "items": {"type": "string"}},
                "exclusiveMinimum": {"type": "integer"},
                "$ref": {"type": "string"},
                "type": {"type": "string", "nullable": true}
            }})
        );
        // The same names as keys of patternProperties and $defs.
        let kept = rewritten(json!({"patternProperties": {"const": {"type": "string"}},
            "$defs": {"propertyNames": {"type": "string"}}}));
        assert_eq!(
            kept["patternProperties"],
            json!({"const": {"type": "string"}})
        );
        assert_eq!(kept["$defs"], json!({"propertyNames": {"type": "string"}}));
    }

    #[test]
    fn schema_names_are_names_not_keywords() {
        let doc = rewrite(json!({"openapi": "3.1.0", "components": {"schemas": {
            "const": {"type": "string"},
            "propertyNames": {"type": "object"}
        }}}));
        assert_eq!(
            doc["components"]["schemas"],
            json!({"const": {"type": "string"}, "propertyNames": {"type": "object"}})
        );
    }

    #[test]
    fn examples_are_data_not_schemas() {
        let example = json!({"const": "x", "type": ["string", "null"], "$ref": "a", "b": 1});
        assert_eq!(
            rewritten(json!({"type": "object", "example": example.clone()})),
            json!({"type": "object", "example": example.clone()})
        );
        assert_eq!(
            rewritten(json!({"type": "object", "examples": [example.clone()]})),
            json!({"type": "object", "example": example.clone()})
        );
        assert_eq!(
            rewritten(json!({"default": example.clone(), "enum": [example.clone()]})),
            json!({"default": example.clone(), "enum": [example.clone()]})
        );
        let doc = rewrite(
            json!({"openapi": "3.1.0", "paths": {"/x": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {"type": "object"},
                    "examples": {"one": {"value": example.clone()}}}}}
            }}}}}),
        );
        assert_eq!(
            doc["paths"]["/x"]["get"]["responses"]["200"]["content"]["application/json"]
                ["examples"]["one"]["value"],
            example
        );
    }

    #[test]
    fn optional_parameters_are_not_also_nullable() {
        let doc = rewrite(
            json!({"openapi": "3.1.0", "paths": {"/x": {"patch": {"parameters": [
                {"name": "If-Match", "in": "header", "required": false, "schema": {"type": ["string", "null"]}},
                {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}
            ]}}}}),
        );
        let parameters = &doc["paths"]["/x"]["patch"]["parameters"];
        assert_eq!(parameters[0]["schema"], json!({"type": "string"}));
        assert_eq!(parameters[1]["schema"], json!({"type": "integer"}));
        // Properties named `in` and `schema` do not make a parameter.
        let body = json!({"type": "object", "properties": {
            "in": {"type": "string"}, "schema": {"type": ["string", "null"]}}});
        let doc = rewrite(
            json!({"openapi": "3.1.0", "paths": {"/x": {"post": {"requestBody": {"content": {
                "application/json": {"schema": body}}}}}}}),
        );
        assert_eq!(
            doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["properties"]["schema"],
            json!({"type": "string", "nullable": true})
        );
    }

    #[test]
    fn one_media_type_per_body() {
        let doc = rewrite(
            json!({"openapi": "3.1.0", "paths": {"/x": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {}}, "text/csv": {"schema": {"type": "string"}}}},
                "404": {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }}}}}),
        );
        let responses = &doc["paths"]["/x"]["get"]["responses"];
        assert_eq!(
            responses["200"]["content"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["application/json"]
        );
        assert_eq!(
            responses["404"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
}
