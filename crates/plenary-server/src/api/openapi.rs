//! The OpenAPI description, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::docs;
use super::error::ErrorBody;
use super::proposals;
use super::session;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Plenary API", description = "Documents, history, versions, compare, attribution, drafting checks, compilation text and tracked-changes Word of Plenary resolutions. Every route takes the WebSocket's JWT (Authorization: Bearer, or ?token=)."),
    paths(docs::list, docs::create, docs::get_doc, docs::timeline, docs::state_at, docs::versions,
        docs::name_version, docs::compare, docs::attribution, docs::proposals,
        docs::checks, docs::compilation, docs::tracked,
        session::ticket, proposals::decide),
    components(schemas(ErrorBody, docs::DocSummary, docs::DocView, docs::CreateDoc, docs::VersionView,
        docs::NameVersion, docs::CompareView, docs::AttributionView,
        docs::ChecksView, docs::FindingView, docs::CompilationView,
        plenary_history::TimelineEntry, plenary_history::Comparison, plenary_history::ParagraphRef,
        plenary_history::MovedParagraph, plenary_history::TextChange, plenary_history::StatusChange,
        plenary_history::FootnoteChange, plenary_history::FootnoteChangeKind, plenary_history::MetaChange,
        plenary_history::WordOp, plenary_history::WordOpKind, plenary_history::ParagraphAttribution,
        plenary_history::AttributedRun,
        session::TicketRequest, session::TicketView,
        proposals::DecisionBody, proposals::DecisionKind, proposals::StaleBody)),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

/// `GET /api/openapi.json` (no token: the description is public).
pub(crate) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
