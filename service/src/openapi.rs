//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "verity", description = "Verify suspect video (C2PA credentials, watermarks, the synthetic-video classifier), sign video, and resolve soft bindings (the C2PA Soft Binding Resolution API)."),
    paths(
        routes::verify::verify,
        routes::jobs::create, routes::jobs::get, routes::jobs::list, routes::jobs::delete,
        routes::sign::sign,
        routes::resolution::by_binding_get, routes::resolution::by_binding_post,
        routes::resolution::by_content, routes::resolution::manifest,
        routes::resolution::supported, routes::resolution::well_known,
        routes::resolution::capabilities, routes::resolution::status,
        routes::health::healthz, routes::health::readyz, routes::health::metrics,
    ),
    modifiers(&Bearer),
)]
#[derive(Debug)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an API key from `verity serve keys create`"))
                    .build(),
            ),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
