//! The HTTP face of one simulated cluster: routing by hand over Kubernetes paths, discovery,
//! OpenAPI, GET, LIST (selectors, paging) and WATCH here; writes in `writes`, `patch` and
//! `subresource`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::api::discovery;
use crate::api::openapi_v2;
use crate::api::openapi_v3;
use crate::api::patch;
use crate::api::query::{ListOptions, Query};
use crate::api::responses;
use crate::api::scale;
use crate::api::table::{self, TableOptions};
use crate::api::watch::{WatchRequest, watch_body};
use crate::api::writes::{self, Part};
use crate::store::ClusterStore;
use crate::store::crds;
use crate::store::ids;
use crate::store::resources::{self, ResourceDef};
use crate::store::selector::{FieldSelector, LabelSelector};
use crate::store::stored::Stored;

/// What every request handler of one serving run shares.
pub struct ServerCtx {
    pub store: ClusterStore,
    /// `127.0.0.1:PORT`, for `serverAddressByClientCIDRs`.
    pub address: String,
    pub bookmark_interval: Duration,
    /// Flips to true when this run is stopped; open watches abort on it.
    pub stop: watch::Receiver<bool>,
    /// The programs behind the pods, for port-forward.
    pub services: Arc<crate::services::Services>,
}

pub fn router(ctx: Arc<ServerCtx>) -> Router {
    Router::new()
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/portforward",
            axum::routing::any(crate::api::portforward::handle),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            axum::routing::get(crate::api::logs::handle),
        )
        .fallback(handle)
        .with_state(ctx)
        .layer(axum::middleware::from_fn(crate::host_guard::loopback_only))
}

enum Route<'a> {
    Version,
    Health,
    Api,
    Apis,
    Group(&'a str),
    GroupVersion(&'a str, &'a str),
    Resource(ResourcePath<'a>),
    OpenApiV2,
    OpenApiRoot,
    /// `api/v1`, `apis/apps/v1`.
    OpenApiDoc(String),
    Unknown,
}

struct ResourcePath<'a> {
    group: &'a str,
    version: &'a str,
    namespace: Option<&'a str>,
    plural: &'a str,
    name: Option<&'a str>,
    /// `scale`, `status`, … (only some are served).
    subresource: Option<&'a str>,
}

fn route<'a>(segments: &[&'a str]) -> Route<'a> {
    match segments {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz"] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["api", version] => Route::GroupVersion("", version),
        ["apis", group] => Route::Group(group),
        ["apis", group, version] => Route::GroupVersion(group, version),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", rest @ ..] => Route::OpenApiDoc(rest.join("/")),
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Route::Unknown,
    }
}

fn resource_route<'a>(group: &'a str, version: &'a str, rest: &[&'a str]) -> Route<'a> {
    let (namespace, plural, name, subresource) = match rest {
        [plural] => (None, *plural, None, None),
        [plural, name] => (None, *plural, Some(*name), None),
        ["namespaces", ns, plural] => (Some(*ns), *plural, None, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name), None),
        ["namespaces", ns, plural, name, sub] => (Some(*ns), *plural, Some(*name), Some(*sub)),
        [plural, name, sub] => (None, *plural, Some(*name), Some(*sub)),
        _ => return Route::Unknown,
    };
    Route::Resource(ResourcePath {
        group,
        version,
        namespace,
        plural,
        name,
        subresource,
    })
}

async fn handle(
    State(ctx): State<Arc<ServerCtx>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let route = route(&segments);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let response = if let Route::Resource(path) = &route {
        let request = ResourceRequest {
            method: &method,
            raw_query: uri.query(),
            content_type,
            accept,
            body: &body,
        };
        serve_resource(&ctx, path, &request)
    } else if matches!(route, Route::Unknown) {
        responses::no_route()
    } else if method != Method::GET && method != Method::HEAD {
        responses::method_not_allowed()
    } else {
        match route {
            Route::Version => ok_json(&discovery::version_info()),
            Route::Health => ok_text("ok"),
            Route::Api => ok_json(&discovery::api_versions(&ctx.address)),
            Route::Apis => ok_json(&discovery::api_group_list(&ctx.store)),
            Route::Group(group) => discovery::api_group(&ctx.store, group)
                .map(|doc| ok_json(&doc))
                .unwrap_or_else(responses::no_route),
            Route::GroupVersion(group, version) => {
                discovery::api_resource_list(&ctx.store, group, version)
                    .map(|doc| ok_json(&doc))
                    .unwrap_or_else(responses::no_route)
            }
            Route::OpenApiV2 => openapi_v2(&headers),
            Route::OpenApiRoot => ok_json(&openapi_v3::root(&ctx.store)),
            Route::OpenApiDoc(key) => openapi_v3::group_version(&ctx.store, &key)
                .map(|doc| ok_json(&doc))
                .unwrap_or_else(responses::no_route),
            Route::Resource(_) | Route::Unknown => responses::no_route(),
        }
    };
    tracing::debug!(
        cluster = ctx.store.cluster(),
        %method,
        %uri,
        status = response.status().as_u16(),
        "sim request"
    );
    response
}

fn ok_json(doc: &Value) -> Response {
    responses::json_response(StatusCode::OK, doc.to_string())
}

/// Protobuf when asked for (kubectl before 1.29 asks for nothing else), JSON otherwise.
fn openapi_v2(headers: &HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !accept.contains("protobuf") {
        return ok_json(&openapi_v2::json());
    }
    let mut response = Response::new(axum::body::Body::from(openapi_v2::protobuf()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(openapi_v2::PROTOBUF),
    );
    response
}

fn ok_text(text: &'static str) -> Response {
    let mut response = Response::new(axum::body::Body::from(text));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// What a request to a resource path brings besides the path.
struct ResourceRequest<'a> {
    method: &'a Method,
    raw_query: Option<&'a str>,
    content_type: Option<&'a str>,
    accept: Option<&'a str>,
    body: &'a [u8],
}

fn serve_resource(ctx: &ServerCtx, path: &ResourcePath<'_>, req: &ResourceRequest<'_>) -> Response {
    let (method, content_type, body) = (req.method, req.content_type, req.body);
    let Some(def) = resources::lookup_resource(path.group, path.version, path.plural) else {
        return responses::no_route();
    };
    // A custom kind whose CRD is gone is not served, as on a real server.
    if !crds::served(&ctx.store, def) {
        return responses::no_route();
    }
    if path.namespace.is_some() && !def.namespaced {
        return responses::no_route();
    }
    let query = match Query::parse(req.raw_query) {
        Ok(q) => q,
        Err(message) => return responses::bad_request(&message),
    };
    let ns = path.namespace;
    let read = *method == Method::GET || *method == Method::HEAD;
    // Reads answer a Table when asked for one (kubectl get); writes answer the object.
    let table = if read {
        match table::negotiate(req.accept, &query) {
            Ok(table) => table,
            Err(message) => return responses::bad_request(&message),
        }
    } else {
        None
    };
    let Some(name) = path.name else {
        return match *method {
            _ if read => {
                list_or_watch(ctx, def, ns, &query, table).unwrap_or_else(ListError::into_response)
            }
            Method::POST => writes::create(ctx, def, ns, &query, content_type, body),
            Method::DELETE => writes::delete_collection(ctx, def, ns, &query, body),
            _ => responses::method_not_allowed(),
        };
    };
    if def.namespaced && ns.is_none() {
        return responses::no_route();
    }
    match (path.subresource, method.clone()) {
        (None | Some("status"), _) if read => get_one(ctx, def, ns, name, table),
        (None, Method::PUT) => {
            writes::replace(ctx, def, ns, name, Part::Main, &query, content_type, body)
        }
        (None, Method::PATCH) => {
            patch::patch(ctx, def, ns, name, Part::Main, &query, content_type, body)
        }
        (None, Method::DELETE) => writes::delete_one(ctx, def, ns, name, &query, body),
        (Some("status"), Method::PUT) => {
            writes::replace(ctx, def, ns, name, Part::Status, &query, content_type, body)
        }
        (Some("status"), Method::PATCH) => {
            patch::patch(ctx, def, ns, name, Part::Status, &query, content_type, body)
        }
        (Some("scale"), _) if def.scalable() && read => scale::get_scale(ctx, def, ns, name),
        (Some("scale"), Method::PUT | Method::PATCH) if def.scalable() => {
            scale::write_scale(ctx, def, ns, name, method, &query, content_type, body)
        }
        (None | Some("status"), _) => responses::method_not_allowed(),
        (Some("scale"), _) if def.scalable() => responses::method_not_allowed(),
        // log, exec, attach … are not served (portforward has its own route above).
        (Some(_), _) => responses::no_route(),
    }
}

fn get_one(
    ctx: &ServerCtx,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    table: Option<TableOptions>,
) -> Response {
    let (kind, info) = ctx.store.kind_for(def);
    match (ctx.store.get_stored(kind, ns.unwrap_or(""), name), table) {
        (Some(obj), None) => responses::json_response(StatusCode::OK, obj.typed_json()),
        (Some(obj), Some(opts)) => {
            let metadata = json!({"resourceVersion": obj.rv.to_string()});
            let now = chrono::Utc::now();
            let body = table::table_json(&info, &[&obj], &metadata, opts, true, now);
            responses::json_response(StatusCode::OK, body)
        }
        (None, _) => responses::not_found_in(def, name),
    }
}

/// Why a list or watch request is refused before any work.
enum ListError {
    BadRequest(String),
    ContinueExpired,
}

impl ListError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(message) => responses::bad_request(&message),
            Self::ContinueExpired => responses::continue_expired(),
        }
    }
}

fn list_or_watch(
    ctx: &ServerCtx,
    def: &ResourceDef,
    namespace: Option<&str>,
    query: &Query,
    table: Option<TableOptions>,
) -> Result<Response, ListError> {
    let bad = ListError::BadRequest;
    let opts = ListOptions::from_query(query).map_err(bad)?;
    let labels = LabelSelector::parse(&opts.label_selector).map_err(bad)?;
    let fields = FieldSelector::parse(&opts.field_selector, def.kind).map_err(bad)?;
    let (kind, info) = ctx.store.kind_for(def);
    if opts.watch {
        let req = WatchRequest {
            kind,
            info,
            namespace: namespace.map(str::to_string),
            labels,
            fields,
            start: opts.watch_start(),
            bookmarks: opts.allow_bookmarks,
            timeout: opts.timeout,
            table,
        };
        let body = watch_body(
            ctx.store.clone(),
            req,
            ctx.bookmark_interval,
            ctx.stop.clone(),
        );
        return Ok(responses::json_response(StatusCode::OK, body));
    }

    let resume = match &opts.continue_token {
        Some(token) => Some(ContinueToken::decode(token).ok_or_else(|| {
            ListError::BadRequest(
                "continue key is not valid: incorrect encoded start resourceVersion".into(),
            )
        })?),
        None => None,
    };
    if let Some(token) = &resume
        && ctx.store.check_not_expired(token.rv).is_err()
    {
        return Err(ListError::ContinueExpired);
    }
    let after = resume.as_ref().map(|t| (t.ns.as_str(), t.name.as_str()));
    let (objects, snapshot_rv) = ctx.store.snapshot(kind, namespace, after);
    // Every page of one list reports the first page's version, so a watch started from it
    // replays whatever changed while the client was paging.
    let rv = resume.as_ref().map_or(snapshot_rv, |t| t.rv);
    let limit = opts
        .limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    let mut items: Vec<&Arc<Stored>> = Vec::new();
    let mut remaining = 0u64;
    for obj in objects
        .iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
    {
        if items.len() < limit {
            items.push(obj);
        } else {
            remaining += 1;
        }
    }
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if remaining > 0
        && let Some(last) = items.last()
    {
        let token = ContinueToken {
            rv,
            ns: last.namespace.to_string(),
            name: last.name.to_string(),
        };
        metadata["continue"] = json!(token.encode());
        metadata["remainingItemCount"] = json!(remaining);
    }
    let body = match table {
        Some(opts) => table::table_json(&info, &items, &metadata, opts, true, chrono::Utc::now()),
        None => list_body(
            &format!("{}List", def.kind),
            &info.api_version,
            &metadata,
            &items,
        ),
    };
    Ok(responses::json_response(StatusCode::OK, body))
}

/// `{"kind":"PodList",…,"items":[…]}` by concatenating stored bodies.
pub(super) fn list_body(
    kind: &str,
    api_version: &str,
    metadata: &Value,
    items: &[&Arc<Stored>],
) -> String {
    let size: usize = items.iter().map(|o| o.body.len() + 1).sum();
    let mut out = String::with_capacity(size + 256);
    out.push_str(&format!(
        "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{},\"items\":[",
        Value::from(kind),
        Value::from(api_version),
        metadata
    ));
    for (i, obj) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&obj.body);
    }
    out.push_str("]}");
    out
}

/// Where the next page starts: opaque to clients (hex of a small JSON document).
struct ContinueToken {
    rv: u64,
    ns: String,
    name: String,
}

impl ContinueToken {
    fn encode(&self) -> String {
        let doc = json!({"rv": self.rv, "ns": self.ns, "name": self.name});
        ids::hex_encode(doc.to_string().as_bytes())
    }

    fn decode(token: &str) -> Option<Self> {
        let bytes = ids::hex_decode(token)?;
        let doc: Value = serde_json::from_slice(&bytes).ok()?;
        Some(Self {
            rv: doc.get("rv")?.as_u64()?,
            ns: doc.get("ns")?.as_str()?.to_string(),
            name: doc.get("name")?.as_str()?.to_string(),
        })
    }
}
