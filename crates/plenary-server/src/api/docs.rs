//! The `/api/docs` handlers.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenary_auth::{Action, DocContext, DocMode, Principal, Role, authorize};
use plenary_doc::{BaseOrder, Mode, ProposalStatus, Resolution, ResolutionDoc, import_text};
use plenary_history::{
    Comparison, ParagraphAttribution, Point, TimelineEntry, compare as compare_states,
};
use plenary_store::{LogEntry, Version};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Api;
use super::error::{ApiError, ErrorBody};
use crate::connection::{request_token, unix_now, valid_doc_name};

/// Most timeline entries one request returns.
const MAX_TIMELINE: usize = 1_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenQuery {
    /// The JWT, for clients that cannot set `Authorization: Bearer`.
    token: Option<String>,
}

/// Verifies the request's token and, for a document route, that it opens the document.
pub(super) fn principal(
    api: &Api,
    token: Option<String>,
    headers: &HeaderMap,
    doc: Option<&str>,
) -> Result<Principal, ApiError> {
    let token = request_token(token, headers).ok_or_else(|| {
        ApiError::unauthorized("missing token: pass Authorization: Bearer <jwt> or ?token=<jwt>")
    })?;
    let principal = api
        .state
        .verifier
        .current()
        .verify(&token, unix_now())
        .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
    if let Some(doc) = doc
        && !principal.may_open(doc)
    {
        return Err(ApiError::forbidden(format!(
            "your token does not open document {doc}"
        )));
    }
    Ok(principal)
}

/// A resolution document (comment scopes live under `<doc>/comments/…` and are not listed).
fn is_resolution(name: &str) -> bool {
    !name.contains('/')
}

/// A document as listed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DocSummary {
    pub name: String,
    /// The last log position (number of accepted changes).
    pub seq: u64,
}

/// The resolution at a log position, paragraphs labelled against the last version before it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DocView {
    pub name: String,
    pub seq: u64,
    /// The typed view of SPEC §2: `meta`, `paragraphs` (with `label`, `number`), `footnotes`,
    /// `proposals`, `sponsors`.
    #[schema(value_type = Object)]
    pub resolution: Resolution,
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateDoc {
    /// Letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// The plain text of a UN draft to import; empty document when absent.
    pub text: Option<String>,
}

/// `GET /api/docs`: the documents the token opens.
#[utoipa::path(get, path = "/api/docs", params(TokenQuery),
    responses((status = 200, body = Vec<DocSummary>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<DocSummary>>, ApiError> {
    let p = principal(&api, q.token, &headers, None)?;
    let mut out = Vec::new();
    for name in api.state.store.list_docs().await? {
        if is_resolution(&name) && p.may_open(&name) {
            let seq = api.state.store.last_seq(&name).await?;
            out.push(DocSummary { name, seq });
        }
    }
    Ok(Json(out))
}

/// `POST /api/docs`: create a document, optionally importing a draft (chair, secretariat).
#[utoipa::path(post, path = "/api/docs", params(TokenQuery), request_body = CreateDoc,
    responses((status = 201, body = DocSummary), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(api): State<Api>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    Json(body): Json<CreateDoc>,
) -> Result<(StatusCode, Json<DocSummary>), ApiError> {
    if !valid_doc_name(&body.name) || !is_resolution(&body.name) {
        return Err(ApiError::bad_request(
            "a document name is letters, digits, '.', '_' and '-' (at most 200)",
        ));
    }
    let p = principal(&api, q.token, &headers, Some(&body.name))?;
    if !matches!(p.role, Role::Chair | Role::Secretariat) {
        return Err(ApiError::forbidden(
            "only the chair or the secretariat creates documents",
        ));
    }
    if api.state.store.doc_exists(&body.name).await? {
        return Err(ApiError::conflict(format!(
            "document {} already exists",
            body.name
        )));
    }
    let doc = match body.text.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            let imported = import_text(text).map_err(|e| {
                ApiError::bad_request(format!("the text could not be imported: {e}"))
            })?;
            ResolutionDoc::from_resolution(&imported.resolution).map_err(|e| {
                ApiError::bad_request(format!("the text could not be imported: {e}"))
            })?
        }
        None => ResolutionDoc::new(),
    };
    crate::enforcement::within_caps(&doc, &api.state.config.limits)
        .map_err(|e| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e))?;
    let entry = LogEntry {
        update: doc.encode_state(),
        user: p.sub.clone(),
        name: Some(p.name.clone()),
        delegation: p.delegation.clone(),
        at_ms: now_ms(),
        paragraphs: doc
            .resolution()
            .paragraphs
            .into_iter()
            .map(|p| p.id)
            .collect(),
        node: "api".into(),
    };
    let seq = api.state.store.append(&body.name, &entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(DocSummary {
            name: body.name,
            seq,
        }),
    ))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FormatQuery {
    /// `json` (default), `text`, `markdown`, `html`, `akn` (Akoma Ntoso XML) or `docx` (Word).
    format: Option<String>,
}

fn render(name: &str, seq: u64, r: Resolution, format: Option<&str>) -> Result<Response, ApiError> {
    let (ctype, body) = match format.unwrap_or("json") {
        "json" => {
            return Ok(Json(DocView {
                name: name.to_owned(),
                seq,
                resolution: r,
            })
            .into_response());
        }
        "text" => ("text/plain; charset=utf-8", plenary_doc::export_text(&r)),
        "markdown" => (
            "text/markdown; charset=utf-8",
            plenary_doc::export_markdown(&r),
        ),
        "html" => ("text/html; charset=utf-8", plenary_doc::export_html(&r)),
        // The name identifies the work when the draft has no symbol yet.
        "akn" => (
            "application/akn+xml",
            plenary_doc::export_akn_with(
                &r,
                &plenary_doc::AknOptions {
                    document_name: Some(name),
                },
            ),
        ),
        "docx" => {
            let bytes = plenary_doc::export_docx(&r).map_err(|e| {
                tracing::error!(doc = name, error = %e, "docx export failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the .docx could not be written",
                )
            })?;
            // Document names are letters, digits, `.`, `_`, `-` and `/`.
            let file = format!("{}.docx", name.replace('/', "-"));
            return Ok((
                [
                    (header::CONTENT_TYPE, DOCX_TYPE.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}\""),
                    ),
                ],
                bytes,
            )
                .into_response());
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown format {other:?}: use json, text, markdown, html, akn or docx"
            )));
        }
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

/// The media type of a Word document.
const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// `GET /api/docs/{doc}`: the current document, as JSON or exported.
#[utoipa::path(get, path = "/api/docs/{doc}", params(("doc" = String, Path), FormatQuery, TokenQuery),
    responses((status = 200, body = DocView, description = "JSON, or the export as text/markdown/html/xml/docx"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn get_doc(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(f): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let _slot = api.gate.enter(&doc)?;
    let seq = api.history.resolve(&doc, &Point::Current).await?;
    let r = api.history.resolution_at(&doc, seq).await?;
    render(&doc, seq, r, f.format.as_deref())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TimelineQuery {
    /// Entries after this log position (default 0).
    after: Option<u64>,
    /// At most this many (default and maximum 1000).
    limit: Option<usize>,
}

/// `GET /api/docs/{doc}/timeline`: who changed which paragraphs when.
#[utoipa::path(get, path = "/api/docs/{doc}/timeline", params(("doc" = String, Path), TimelineQuery, TokenQuery),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn timeline(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(t): Query<TimelineQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let limit = t.limit.unwrap_or(MAX_TIMELINE).clamp(1, MAX_TIMELINE);
    Ok(Json(
        api.history
            .timeline(&doc, t.after.unwrap_or(0), limit)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PointQuery {
    /// After this log entry.
    seq: Option<u64>,
    /// As it stood at this time (ms since the Unix epoch).
    at_ms: Option<i64>,
    /// At this named version.
    version: Option<String>,
}

/// `GET /api/docs/{doc}/state`: the document as it stood at a point (default: now).
#[utoipa::path(get, path = "/api/docs/{doc}/state", params(("doc" = String, Path), PointQuery, FormatQuery, TokenQuery),
    responses((status = 200, body = DocView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn state_at(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(pq): Query<PointQuery>,
    Query(f): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let _slot = api.gate.enter(&doc)?;
    let point = match (pq.seq, pq.at_ms, pq.version) {
        (Some(s), None, None) => Point::Seq(s),
        (None, Some(t), None) => Point::Time(t),
        (None, None, Some(v)) => Point::Version(v),
        (None, None, None) => Point::Current,
        _ => {
            return Err(ApiError::bad_request(
                "give at most one of seq, at_ms and version",
            ));
        }
    };
    let seq = api.history.resolve(&doc, &point).await?;
    let r = api.history.resolution_at(&doc, seq).await?;
    render(&doc, seq, r, f.format.as_deref())
}

/// A named version.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VersionView {
    pub name: String,
    pub seq: u64,
    pub at_ms: i64,
    pub by: String,
    /// On the last version only: its paragraph order (`{"paragraphs": [{"id", "kind",
    /// "level"}]}`), the base the provisional labels (OP3bis) are computed against.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub base_order: Option<BaseOrder>,
}

impl From<Version> for VersionView {
    fn from(v: Version) -> Self {
        VersionView {
            name: v.name,
            seq: v.seq,
            at_ms: v.at_ms,
            by: v.by,
            base_order: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NameVersion {
    /// e.g. `Rev.1`, `as orally revised`.
    pub name: String,
}

/// `GET /api/docs/{doc}/versions`.
#[utoipa::path(get, path = "/api/docs/{doc}/versions", params(("doc" = String, Path), TokenQuery),
    responses((status = 200, body = Vec<VersionView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn versions(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let vs = api.history.versions(&doc).await?;
    let mut out: Vec<VersionView> = vs.into_iter().map(VersionView::from).collect();
    if let Some(last) = out.last_mut() {
        // Materializes the state at the last version once (History caches base orders).
        let _slot = api.gate.enter(&doc)?;
        last.base_order = api.history.base_order_at(&doc, last.seq).await?;
    }
    Ok(Json(out))
}

fn doc_context(r: &Resolution) -> DocContext {
    DocContext {
        mode: match r.meta.mode {
            Mode::Open => DocMode::Open,
            Mode::Negotiation => DocMode::Negotiation,
        },
        observers_may_comment: false,
    }
}

/// `POST /api/docs/{doc}/versions`: name the current log position (chair, secretariat).
#[utoipa::path(post, path = "/api/docs/{doc}/versions", params(("doc" = String, Path), TokenQuery),
    request_body = NameVersion,
    responses((status = 201, body = VersionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn name_version(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    Json(body): Json<NameVersion>,
) -> Result<(StatusCode, Json<VersionView>), ApiError> {
    let p = principal(&api, q.token, &headers, Some(&doc))?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request(
            "a version name is 1 to 200 characters",
        ));
    }
    let seq = api.history.resolve(&doc, &Point::Current).await?;
    let current = api.history.resolution_at(&doc, seq).await?;
    if let Some(denial) = authorize(&p, &Action::NameVersion, &doc_context(&current)).denial() {
        return Err(ApiError::forbidden(denial.message.clone()));
    }
    let v = Version {
        name: name.to_owned(),
        seq,
        at_ms: now_ms(),
        by: p.sub.clone(),
    };
    api.state.store.name_version(&doc, &v).await?;
    // Every open page learns it live: the server writes meta `revision` as the namer's change.
    if let Err(e) = api
        .state
        .rooms
        .write_revision(&api.state, &doc, &p, &v.name)
        .await
    {
        tracing::warn!(doc = %doc, error = %e, "version named; open pages not told");
    }
    Ok((StatusCode::CREATED, Json(v.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CompareQuery {
    /// A log position or a version name.
    from: String,
    /// A log position, a version name or `current` (default).
    to: Option<String>,
}

/// A comparison and the positions it compared.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CompareView {
    pub from_seq: u64,
    pub to_seq: u64,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// `GET /api/docs/{doc}/compare`: two points paragraph by paragraph, matched by id.
#[utoipa::path(get, path = "/api/docs/{doc}/compare", params(("doc" = String, Path), CompareQuery, TokenQuery),
    responses((status = 200, body = CompareView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn compare(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(c): Query<CompareQuery>,
    headers: HeaderMap,
) -> Result<Json<CompareView>, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let _slot = api.gate.enter(&doc)?;
    let from_seq = api.history.resolve(&doc, &Point::parse(&c.from)).await?;
    let to = c.to.unwrap_or_else(|| "current".into());
    let to_seq = api.history.resolve(&doc, &Point::parse(&to)).await?;
    let old = api.history.resolution_at(&doc, from_seq).await?;
    let new = api.history.resolution_at(&doc, to_seq).await?;
    Ok(Json(CompareView {
        from_seq,
        to_seq,
        comparison: compare_states(&old, &new),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AtQuery {
    /// A log position, a version name or `current` (default).
    at: Option<String>,
}

/// Authorship of every paragraph's text at a point.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttributionView {
    pub seq: u64,
    pub paragraphs: Vec<ParagraphAttribution>,
}

/// `GET /api/docs/{doc}/attribution`: who wrote which runs of each paragraph.
#[utoipa::path(get, path = "/api/docs/{doc}/attribution", params(("doc" = String, Path), AtQuery, TokenQuery),
    responses((status = 200, body = AttributionView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn attribution(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(a): Query<AtQuery>,
    headers: HeaderMap,
) -> Result<Json<AttributionView>, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let _slot = api.gate.enter(&doc)?;
    let at = a.at.unwrap_or_else(|| "current".into());
    let seq = api.history.resolve(&doc, &Point::parse(&at)).await?;
    let paragraphs = api.history.attribution(&doc, seq).await?;
    Ok(Json(AttributionView { seq, paragraphs }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ProposalQuery {
    /// Only proposals in this status: `pending`, `accepted`, `rejected`, `withdrawn`.
    status: Option<String>,
}

/// `GET /api/docs/{doc}/proposals`: the document's proposals, in order of submission.
#[utoipa::path(get, path = "/api/docs/{doc}/proposals", params(("doc" = String, Path), ProposalQuery, TokenQuery),
    responses((status = 200, body = Vec<Object>, description = "Proposals as in SPEC §2"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn proposals(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(pq): Query<ProposalQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let _slot = api.gate.enter(&doc)?;
    let status: Option<ProposalStatus> = match pq.status {
        None => None,
        Some(s) => Some(
            serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| {
                ApiError::bad_request(format!(
                    "unknown status {s:?}: pending, accepted, rejected or withdrawn"
                ))
            })?,
        ),
    };
    let seq = api.history.resolve(&doc, &Point::Current).await?;
    let r = api.history.resolution_at(&doc, seq).await?;
    let list: Vec<_> = r
        .proposals
        .into_iter()
        .filter(|p| status.is_none_or(|s| p.status == s))
        .collect();
    Ok(Json(list).into_response())
}

/// One drafting finding (SPEC §2).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FindingView {
    pub paragraph_id: String,
    /// How the paragraph is cited: `PP2`, `OP3(b)`, `OP3bis`.
    pub label: String,
    /// `empty`, `italic-opening` or `ending`.
    pub rule: String,
    /// The rule the paragraph breaks.
    pub message: String,
    /// The finding in plain words, as the editor and `plenary check` show it:
    /// `PP2 does not open in italics: a preambular paragraph opens with an italic participle.`
    pub sentence: String,
}

impl From<&plenary_doc::checks::Finding> for FindingView {
    fn from(f: &plenary_doc::checks::Finding) -> Self {
        use plenary_doc::checks::Rule;
        FindingView {
            paragraph_id: f.paragraph_id.clone(),
            label: f.label.clone(),
            rule: match f.rule {
                Rule::Empty => "empty",
                Rule::ItalicOpening => "italic-opening",
                Rule::Ending => "ending",
            }
            .to_owned(),
            message: f.message.clone(),
            sentence: f.sentence(),
        }
    }
}

/// The drafting checks of the document at a log position.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChecksView {
    pub seq: u64,
    /// In document order; empty when the draft passes every check.
    pub findings: Vec<FindingView>,
}

/// `GET /api/docs/{doc}/checks`: the drafting checks of the current document (any reader).
#[utoipa::path(get, path = "/api/docs/{doc}/checks", params(("doc" = String, Path), TokenQuery),
    responses((status = 200, body = ChecksView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn checks(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Json<ChecksView>, ApiError> {
    principal(&api, q.token, &headers, Some(&doc))?;
    let _slot = api.gate.enter(&doc)?;
    let seq = api.history.resolve(&doc, &Point::Current).await?;
    let r = api.history.resolution_at(&doc, seq).await?;
    let findings = plenary_doc::checks::check(&r)
        .iter()
        .map(FindingView::from)
        .collect();
    Ok(Json(ChecksView { seq, findings }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CompilationQuery {
    /// `json` (default), `text` or `html` (a standalone page).
    format: Option<String>,
}

/// The compilation text of the document at a log position.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CompilationView {
    pub seq: u64,
    /// Per paragraph (and per proposed new paragraph, right after its anchor): `paragraphId`
    /// (null for a proposed one), `label`, `text`, and `alternatives`, the pending proposals
    /// (`proposalId`, `action`, `attribution` such as `FRA on behalf of EU, supported by CAN`,
    /// `delegation`, `onBehalfOf`, `supporters`, `text`).
    #[schema(value_type = Vec<Object>)]
    pub paragraphs: Vec<plenary_doc::compilation::CompiledParagraph>,
    /// The footnotes with pending amendments, after the paragraphs: `footnoteId`, `label`
    /// (`Footnote 2`), `text`, `alternatives` (as for paragraphs). Absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub footnotes: Vec<plenary_doc::compilation::CompiledFootnote>,
}

/// `GET /api/docs/{doc}/compilation`: the compilation text of the current document (any
/// reader): each paragraph with its pending proposals as bracketed alternatives attributed to
/// their delegations.
#[utoipa::path(get, path = "/api/docs/{doc}/compilation",
    params(("doc" = String, Path), CompilationQuery, TokenQuery),
    responses((status = 200, body = CompilationView, description = "JSON, or the compilation as text or an HTML page"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn compilation(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(f): Query<CompilationQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    use plenary_doc::compilation::{compile, render_html, render_plain};
    principal(&api, q.token, &headers, Some(&doc))?;
    // Refused before any replay: a bad format costs nothing.
    let format = f.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "text" | "html") {
        return Err(ApiError::bad_request(format!(
            "unknown format {format:?}: use json, text or html"
        )));
    }
    let _slot = api.gate.enter(&doc)?;
    let seq = api.history.resolve(&doc, &Point::Current).await?;
    let r = api.history.resolution_at(&doc, seq).await?;
    let c = compile(&r);
    Ok(match format.as_str() {
        "text" => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            render_plain(&c),
        )
            .into_response(),
        "html" => {
            let title = r
                .meta
                .title
                .as_deref()
                .or(r.meta.symbol.as_deref())
                .unwrap_or(&doc);
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                render_html(&c, title),
            )
                .into_response()
        }
        _ => Json(CompilationView {
            seq,
            paragraphs: c.paragraphs,
            footnotes: c.footnotes,
        })
        .into_response(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TrackedQuery {
    /// What the changes are tracked against: a version name (`Rev.1`) or a log position.
    base: Option<String>,
    /// Up to which point: a version name, a log position or `current` (default), as for
    /// `/compare`'s `to`.
    to: Option<String>,
}

/// Most log entries read to credit whole-paragraph deletions and moves in a tracked export
/// (the last writer of each paragraph). Beyond them, only the latest are read: a paragraph
/// last changed earlier than that is credited to the requester. Reading is the cost here
/// (250 entries a page), so this keeps a request as bounded as a replay.
const MAX_TRACKED_ENTRIES: u64 = 5_000;

/// `GET /api/docs/{doc}/tracked?base=…[&to=…]`: the current document (or the document at
/// `to`) as Word with tracked changes against a base (any reader), the way a revised draft is
/// circulated. Each insertion is
/// credited to whoever wrote it (`user (Delegation)`, from the attribution), a paragraph
/// deleted or moved whole to whoever last changed it, and what history does not attribute
/// (header lines, footnotes, deletions inside a paragraph) to the requester.
#[utoipa::path(get, path = "/api/docs/{doc}/tracked", params(("doc" = String, Path), TrackedQuery, TokenQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            description = "The .docx, as an attachment"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "No such document, version or position"),
        (status = 429, body = ErrorBody, description = "Too many history requests on this document; see Retry-After"),
        (status = 503, body = ErrorBody, description = "History being indexed; see Retry-After")),
    security(("bearer" = [])))]
pub(crate) async fn tracked(
    State(api): State<Api>,
    Path(doc): Path<String>,
    Query(q): Query<TokenQuery>,
    Query(t): Query<TrackedQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    use plenary_doc::pairing::PairBy;
    use plenary_doc::{TrackedOptions, export_docx_tracked_with};
    use plenary_history::iso8601;
    let p = principal(&api, q.token, &headers, Some(&doc))?;
    let base = t
        .base
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "give the base to track changes against: ?base=<version name or log position>",
            )
        })?
        .to_owned();
    let to =
        t.to.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "current")
            .map(str::to_owned);
    let _slot = api.gate.enter(&doc)?;
    // Resolved as /compare resolves `from` and `to`: a number is a log position, else a version.
    let until = to.as_deref().map_or(Point::Current, Point::parse);
    let inputs = api
        .history
        .tracked_between(&doc, &Point::parse(&base), &until, MAX_TRACKED_ENTRIES)
        .await?;
    let author = match &p.delegation {
        Some(d) if !d.is_empty() => format!("{} ({d})", p.name),
        _ => p.name.clone(),
    };
    let date = iso8601(now_ms());
    // The word diffs are CPU work: off the async workers, still inside this request's slot.
    let written = tokio::task::spawn_blocking(move || {
        export_docx_tracked_with(
            &inputs.old,
            &inputs.new,
            &TrackedOptions {
                author: &author,
                date: &date,
                pair_by: PairBy::Id,
                authors: Some(&inputs.authors),
            },
        )
    })
    .await;
    let bytes = match written {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            tracing::error!(doc, error = %e, "tracked docx export failed");
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the .docx could not be written",
            ));
        }
        Err(e) => {
            tracing::error!(doc, error = %e, "tracked docx export panicked");
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the .docx could not be written",
            ));
        }
    };
    let file = match &to {
        Some(to) => format!(
            "{doc}-{}-tracked-against-{}.docx",
            file_safe(to),
            file_safe(&base)
        ),
        None => format!("{doc}-tracked-against-{}.docx", file_safe(&base)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, DOCX_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A version name as it may stand in a file name (and a header value): letters, digits, `.`,
/// `_` and `-`, anything else a `-`, at most 60 characters.
fn file_safe(name: &str) -> String {
    name.chars()
        .take(60)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}
