//! The OpenAPI document: collected from the route table by utoipa-actix-web (so a route cannot
//! escape it), with the bearer scheme and the Problem error responses added to every operation
//! in one place rather than repeated on each handler.

use actix_web::App;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use super::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "POPIA Gateway API",
        description = "The /pi page back end, consent blacklists and change feed that South African \
car dealerships run to meet the Protection of Personal Information Act.\n\n\
Authenticate with `Authorization: Bearer <JWT>` (button *Authorize*). Errors are \
`application/problem+json`. Lists page with `?after=<next>&limit=<1..1000>`.",
    ),
    components(schemas(Problem)),
    modifiers(&SecurityAndErrors),
    tags(
        (name = "dealers", description = "Dealers and their key contacts (admin)"),
        (name = "customers", description = "Core customer records (dealer staff)"),
        (name = "leads", description = "Enquiries worked by salespeople"),
        (name = "pi", description = "The /pi page: verify, look up, correct, withdraw (data subject)"),
        (name = "blacklists", description = "Consent blacklists for operators: pages, changes, CSV, check, pull log"),
        (name = "history", description = "The change feed dealer systems follow"),
        (name = "notifications", description = "Messages sent for the dealer, without bodies"),
        (name = "webhooks", description = "Signed change events (Standard Webhooks 1.0) POSTed to the dealer's endpoints"),
        (name = "follow-ups", description = "What each email asked the dealer to do, by when, and who closed it"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
struct ApiDoc;

/// The document the server serves, built without a database or a running server.
pub fn document() -> Document {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::routes)
        .split_for_parts();
    // `modifiers` ran before the routes were collected: apply them to the whole document.
    SecurityAndErrors.modify(&mut document);
    document
}

pub fn to_yaml(document: &Document) -> String {
    document
        .to_yaml()
        .map(|yaml| quote_yaml11_keys(&yaml))
        .unwrap_or_else(|e| format!("# cannot render the document: {e}\n"))
}

/// Words a YAML 1.1 reader (PyYAML, SnakeYAML inside openapi-generator) takes for booleans.
const YAML11_BOOLEANS: [&str; 22] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
    "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
];

/// Quotes keys and list items that a YAML 1.1 reader would read as booleans (`on` is a
/// property of the blacklist changes, and stands in `required` lists): YAML 1.2 and JSON
/// readers see the same document either way.
fn quote_yaml11_keys(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    // Inside a block scalar (a `|-` description), lines are text, not names.
    let mut text_deeper_than: Option<usize> = None;
    for line in yaml.lines() {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        if text_deeper_than.is_some_and(|at| indent > at || body.is_empty()) {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        text_deeper_than = ["|", "|-", "|+", ">", ">-", ">+"]
            .iter()
            .any(|marker| body.ends_with(&format!(": {marker}")))
            .then_some(indent);
        let item = if body.starts_with("- ") { 2 } else { 0 };
        let (head, rest) = line.split_at(line.len() - body.len() + item);
        let quoted = YAML11_BOOLEANS.iter().find_map(|word| {
            let after = rest.strip_prefix(word)?;
            let key = after == ":" || after.starts_with(": ");
            let list_item = item == 2 && after.is_empty();
            (key || list_item).then(|| format!("'{word}'{after}"))
        });
        out.push_str(head);
        out.push_str(quoted.as_deref().unwrap_or(rest));
        out.push('\n');
    }
    out
}

pub fn to_json(document: &Document) -> String {
    document
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the document: {e}\"}}"))
}

struct SecurityAndErrors;

impl Modify for SecurityAndErrors {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (path, item) in document.paths.paths.iter_mut() {
            // Starting and confirming a verification is how a data subject gets a token.
            let secured = path.starts_with("/v1/") && !path.contains("/pi/verifications");
            let has_params = path.contains('{');
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                add_errors(operation, path.starts_with("/v1/"), secured, has_params);
            }
        }
    }
}

fn add_errors(operation: &mut Operation, path_is_api: bool, secured: bool, has_params: bool) {
    let mut codes: Vec<(&str, &str)> = vec![
        (
            "500",
            "An unexpected error; the cause is logged, not returned",
        ),
        (
            "503",
            "The database is unavailable; retry after `Retry-After` seconds",
        ),
    ];
    if secured {
        operation.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        codes.extend([
            ("401", "Missing, invalid or expired bearer token"),
            ("403", "The token's role may not use this operation"),
        ]);
    }
    if path_is_api {
        codes.extend([
            ("400", "Malformed request (JSON syntax, path or query)"),
            ("422", "A field was refused; `errors` names each one"),
        ]);
    }
    if has_params {
        codes.push(("404", "No such resource, or not one this token may see"));
    }
    if operation.request_body.is_some() {
        codes.extend([
            ("413", "The request body is too large"),
            ("415", "The body is not JSON"),
        ]);
    }
    for (code, description) in codes {
        operation
            .responses
            .responses
            .entry(code.to_owned())
            .or_insert_with(|| problem_response(description).into());
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_booleans_are_quoted_where_they_are_names() {
        let yaml = "properties:\n  on:\n    type: string\n  one: 1\nrequired:\n- on\n- value\nx: on\ndescription: |-\n  no: this is text\n  on\nyes: 1\n";
        assert_eq!(
            quote_yaml11_keys(yaml),
            "properties:\n  'on':\n    type: string\n  one: 1\nrequired:\n- 'on'\n- value\nx: on\ndescription: |-\n  no: this is text\n  on\n'yes': 1\n"
        );
    }
}
