//! Request extractors that turn raw input into typed, validated values or a Problem naming the
//! field: JSON bodies (size limit, content type, unknown fields refused, `validator` rules) and
//! query strings (the same rules).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use super::problem::{ApiError, FieldError};
use crate::domain::{rule, Email, Mobile, PersonName};

/// The largest JSON body accepted by default.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body, deserialised and validated. `LIMIT` is the largest body accepted, in bytes.
pub struct ValidJson<T, const LIMIT: usize = JSON_LIMIT>(pub T);

impl<T, const LIMIT: usize> FromRequest for ValidJson<T, LIMIT>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_headers(req, LIMIT);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::BadRequest(format!("cannot read the body: {e}")))?;
                if body.len() + chunk.len() > LIMIT {
                    return Err(too_large(LIMIT));
                }
                body.extend_from_slice(&chunk);
            }
            let value: T = parse_json(&body)?;
            validate(&value)?;
            Ok(ValidJson(value))
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge {
        detail: format!("the request body is over the limit of {limit} bytes"),
    }
}

fn check_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "the body must be JSON (`Content-Type: application/json`)".into(),
        ))
    }
}

/// Malformed JSON is 400; well-formed JSON of the wrong shape (an unknown or missing field, a
/// wrong type) is 422 naming the field.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object; serde would also read a struct from an array.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
    {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            shape_error(&path, &inner.to_string())
        } else {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// A query string, deserialised and validated.
pub struct ValidQuery<T>(pub T);

impl<T> FromRequest for ValidQuery<T>
where
    T: DeserializeOwned + Validate,
{
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ValidQuery))
    }
}

fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let value: T = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        shape_error(&path, &error.into_inner().to_string())
    })?;
    validate(&value)?;
    Ok(value)
}

/// Names the field of a shape error: from the path, or from serde's message when the error is
/// about the object itself ("unknown field `x`", "missing field `x`").
fn shape_error(path: &str, message: &str) -> ApiError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let quoted = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"));
    let field = match (path, quoted) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        // serde_path_to_error records an unknown field's name twice (`a.b.b`).
        (path, Some(name)) if message.starts_with("unknown field") => {
            match path.strip_suffix(&format!(".{name}")) {
                Some(once) if once == name || once.ends_with(&format!(".{name}")) => {
                    once.to_owned()
                }
                _ => path.to_owned(),
            }
        }
        (path, _) => path.to_owned(),
    };
    let message = if message.starts_with("unknown field") {
        "is not a field of this request".to_owned()
    } else {
        message
    };
    ApiError::Validation(vec![FieldError::new(field, message)])
}

/// Runs the `validator` rules and reports every refused field at once.
pub fn validate<T: Validate>(value: &T) -> Result<(), ApiError> {
    value.validate().map_err(|errors| {
        let mut fields = Vec::new();
        flatten(&errors, "", &mut fields);
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Validation(fields)
    })
}

/// Struct-level rules (`#[validate(schema(...))]`) report under `__all__`; by convention
/// their error code is the name of the field they are about.
fn flatten(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for (field, kind) in errors.errors() {
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let name = if field == "__all__" {
                        join(&error.code)
                    } else {
                        join(field)
                    };
                    out.push(FieldError::new(name, describe(error)));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, &join(field), out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(inner, &format!("{}[{index}]", join(field)), out);
                }
            }
        }
    }
}

fn describe(error: &validator::ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |name: &str| error.params.get(name).map(|v| v.to_string());
    match error.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must have {min} to {max} items or characters"),
            (None, Some(max)) => format!("must have at most {max} items or characters"),
            (Some(min), None) => format!("must have at least {min} items or characters"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be from {min} to {max}"),
            _ => "is out of range".into(),
        },
        "url" => "must be a valid http or https URL".into(),
        "email" => "must be a valid email address".into(),
        other => other.replace('_', " "),
    }
}

// Field rules shared by the resources' bodies and queries.

/// Free text a person writes (a lead's message, a follow-up's note): up to 2,000 characters,
/// line breaks allowed.
pub fn valid_free_text(raw: &str) -> Result<(), validator::ValidationError> {
    rule(|s| crate::domain::text::multiline(s, 0, 2000), raw)
}

pub fn valid_person_name(raw: &str) -> Result<(), validator::ValidationError> {
    rule(PersonName::parse, raw)
}

pub fn valid_email(raw: &str) -> Result<(), validator::ValidationError> {
    rule(Email::parse, raw)
}

pub fn valid_mobile(raw: &str) -> Result<(), validator::ValidationError> {
    rule(Mobile::parse, raw)
}

/// Parses a field that `validator` has already accepted, naming it if it does not parse.
pub fn parsed<T>(field: &str, result: Result<T, crate::domain::Invalid>) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::field(field, e.0))
}

pub fn parsed_optional<T>(
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, crate::domain::Invalid>,
) -> Result<Option<T>, ApiError> {
    raw.map(|value| parsed(field, parse(value))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[validate(length(min = 1, max = 3))]
        name: String,
        #[allow(dead_code)]
        flag: Option<bool>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        inner: Sample,
    }

    fn fields(error: ApiError) -> Vec<(String, String)> {
        match error {
            ApiError::Validation(list) => list.into_iter().map(|e| (e.field, e.message)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_unknown_missing_and_mistyped_fields() {
        let unknown = fields(parse_json::<Sample>(br#"{"name":"a","dealer_id":"x"}"#).unwrap_err());
        assert_eq!(unknown[0].0, "dealer_id");
        let missing = fields(parse_json::<Sample>(br#"{}"#).unwrap_err());
        assert_eq!(missing[0].0, "name");
        let nested = fields(parse_json::<Outer>(br#"{"inner":{"name":"a","x":1}}"#).unwrap_err());
        assert_eq!(nested[0].0, "inner.x");
        let mistyped = fields(parse_json::<Sample>(br#"{"name":"a","flag":"yes"}"#).unwrap_err());
        assert_eq!(mistyped[0].0, "flag");
    }

    #[test]
    fn only_objects_are_bodies() {
        let array = fields(parse_json::<Outer>(b"[null]").unwrap_err());
        assert_eq!(array[0].0, "body");
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse_json::<Sample>(b"{\"name\":"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Sample>(br#"{"name":"a"} {}"#),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn validation_reports_the_rule() {
        let sample = parse_json::<Sample>(br#"{"name":"abcd"}"#).unwrap();
        let refused = fields(validate(&sample).unwrap_err());
        assert_eq!(
            refused,
            vec![("name".into(), "must have 1 to 3 items or characters".into())]
        );
    }
}
