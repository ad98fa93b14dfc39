//! Answers for requests no route took: 405 with `Allow` when the path exists under another
//! method, 404 otherwise. The route table is the OpenAPI document's, so the two cannot disagree.

use actix_web::dev::ResourceDef;
use actix_web::{web, HttpRequest, HttpResponse};

use super::problem::ApiError;

pub struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_document(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable(routes)
    }

    /// The methods a path answers, if it is a path of the API.
    pub fn methods_for(&self, path: &str) -> Option<&[&'static str]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

pub async fn not_matched(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    Err(match routes.methods_for(req.path()) {
        Some(methods) => ApiError::MethodNotAllowed {
            allow: methods.join(", "),
        },
        None => ApiError::NotFound(format!("no route answers {}", req.path())),
    })
}
