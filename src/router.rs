//! The router: one table of every route the server answers ([`PATHS`]), one function that looks a
//! request up in it ([`recognize`]), and one `match` that calls the handler ([`route`]).
//!
//! The table is the only way in: a route missing from it is never reached, so `openapi.yaml`
//! can be checked against it (`tests/it/api/openapi.rs`). Adding a route is a [`Route`] variant, a
//! row in [`PATHS`] and an arm in [`route`] (the compiler insists on the arm).
//!
//! Each route also names itself for metrics (a fixed label, never the raw path, so label
//! cardinality stays bounded whatever clients send).

use std::net::IpAddr;
use std::sync::Arc;

use http::{Method, Request};

use crate::analytics::Visit;

use crate::api::{self, ApiRoute};
use crate::http::{HttpError, Resp, empty};
use crate::server::body::ReqBody;
use crate::state::AppState;
use crate::store::LinkKind;
use crate::{ops, origin};

/// Every handler the router can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Origin,
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
    RedirectLink,
    PaymentLink,
    CallbackLink,
    BeaconLink,
    /// Everything under `/accesstoken`, `/qr/v1` and `/webhooks/v1`: [`api::handle`].
    Api(ApiRoute),
}

impl Route {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Route::Origin => "origin",
            Route::Healthz => "healthz",
            Route::Readyz => "readyz",
            Route::Metrics => "metrics",
            Route::OpenApi => "openapi",
            Route::RedirectLink => "link_redirect",
            Route::PaymentLink => "link_payment",
            Route::CallbackLink => "link_callback",
            Route::BeaconLink => "link_beacon",
            Route::Api(api) => api.label(),
        }
    }

    /// Whether errors on this route are the API's JSON problem documents.
    pub fn is_api(self) -> bool {
        matches!(self, Route::Api(_))
    }
}

/// One path template and the methods it takes.
#[derive(Debug, PartialEq, Eq)]
pub struct PathSpec {
    /// Literal segments, or `{name}` for exactly one non-empty segment.
    pub template: &'static str,
    /// The `Allow` header for a 405 on this path (the methods below, in order).
    pub allow: &'static str,
    pub methods: &'static [(Method, Route)],
}

/// Every route, hottest first (the image origin is most of the traffic).
pub static PATHS: &[PathSpec] = &[
    PathSpec {
        template: origin::PATH,
        allow: "GET, HEAD",
        methods: &[(Method::GET, Route::Origin), (Method::HEAD, Route::Origin)],
    },
    PathSpec {
        template: "/r/{code}",
        allow: "GET, HEAD",
        methods: &[
            (Method::GET, Route::RedirectLink),
            (Method::HEAD, Route::RedirectLink),
        ],
    },
    PathSpec {
        template: "/p/{code}",
        allow: "GET, HEAD",
        methods: &[
            (Method::GET, Route::PaymentLink),
            (Method::HEAD, Route::PaymentLink),
        ],
    },
    PathSpec {
        // GET only: a scan notifies the merchant, so HEAD (link previews, probes) must not.
        template: "/c/{code}",
        allow: "GET",
        methods: &[(Method::GET, Route::CallbackLink)],
    },
    // The upper-case prefixes of `links::ShortLinkCase::{Host, Upper}`: the same links.
    PathSpec {
        template: "/R/{code}",
        allow: "GET, HEAD",
        methods: &[
            (Method::GET, Route::RedirectLink),
            (Method::HEAD, Route::RedirectLink),
        ],
    },
    PathSpec {
        template: "/P/{code}",
        allow: "GET, HEAD",
        methods: &[
            (Method::GET, Route::PaymentLink),
            (Method::HEAD, Route::PaymentLink),
        ],
    },
    PathSpec {
        template: "/C/{code}",
        allow: "GET",
        methods: &[(Method::GET, Route::CallbackLink)],
    },
    PathSpec {
        // GET only, like `/c/`: a scan notifies the merchant.
        template: "/m/{beaconId}",
        allow: "GET",
        methods: &[(Method::GET, Route::BeaconLink)],
    },
    PathSpec {
        template: "/accesstoken/get",
        allow: "POST",
        methods: &[(Method::POST, Route::Api(ApiRoute::AccessToken))],
    },
    PathSpec {
        template: "/qr/v1",
        allow: "POST",
        methods: &[(Method::POST, Route::Api(ApiRoute::CreatePayment))],
    },
    PathSpec {
        template: "/qr/v1/merchant-redirect",
        allow: "GET, POST",
        methods: &[
            (Method::GET, Route::Api(ApiRoute::ListRedirects)),
            (Method::POST, Route::Api(ApiRoute::CreateRedirect)),
        ],
    },
    PathSpec {
        template: "/qr/v1/merchant-redirect/{id}",
        allow: "GET, PUT, DELETE",
        methods: &[
            (Method::GET, Route::Api(ApiRoute::GetRedirect)),
            (Method::PUT, Route::Api(ApiRoute::UpdateRedirect)),
            (Method::DELETE, Route::Api(ApiRoute::DeleteRedirect)),
        ],
    },
    PathSpec {
        template: "/qr/v1/merchant-redirect/{id}/scans",
        allow: "GET",
        methods: &[(Method::GET, Route::Api(ApiRoute::RedirectScans))],
    },
    PathSpec {
        template: "/qr/v1/merchant-callback",
        allow: "GET",
        methods: &[(Method::GET, Route::Api(ApiRoute::ListCallbacks))],
    },
    PathSpec {
        template: "/qr/v1/merchant-callback/{merchantQrId}",
        allow: "GET, PUT, DELETE",
        methods: &[
            (Method::GET, Route::Api(ApiRoute::GetCallback)),
            (Method::PUT, Route::Api(ApiRoute::PutCallback)),
            (Method::DELETE, Route::Api(ApiRoute::DeleteCallback)),
        ],
    },
    PathSpec {
        template: "/qr/v1/merchant-callback/{merchantQrId}/scans",
        allow: "GET",
        methods: &[(Method::GET, Route::Api(ApiRoute::CallbackScans))],
    },
    PathSpec {
        template: "/qr/v1/merchant-callback/mobilepay/{beaconId}",
        allow: "PUT",
        methods: &[(Method::PUT, Route::Api(ApiRoute::PutBeacon))],
    },
    PathSpec {
        template: "/qr/v1/exchange",
        allow: "POST",
        methods: &[(Method::POST, Route::Api(ApiRoute::ExchangeQr))],
    },
    PathSpec {
        template: "/qr/v1/exchange/customer",
        allow: "POST",
        methods: &[(Method::POST, Route::Api(ApiRoute::ExchangeCustomer))],
    },
    PathSpec {
        template: "/webhooks/v1/webhooks",
        allow: "GET, POST",
        methods: &[
            (Method::GET, Route::Api(ApiRoute::ListWebhooks)),
            (Method::POST, Route::Api(ApiRoute::CreateWebhook)),
        ],
    },
    PathSpec {
        template: "/webhooks/v1/webhooks/{id}",
        allow: "DELETE",
        methods: &[(Method::DELETE, Route::Api(ApiRoute::DeleteWebhook))],
    },
    PathSpec {
        template: "/qr/v1/logos",
        allow: "GET, POST",
        methods: &[
            (Method::GET, Route::Api(ApiRoute::ListLogos)),
            (Method::POST, Route::Api(ApiRoute::CreateLogo)),
        ],
    },
    PathSpec {
        template: "/qr/v1/logos/{id}",
        allow: "DELETE",
        methods: &[(Method::DELETE, Route::Api(ApiRoute::DeleteLogo))],
    },
    PathSpec {
        template: "/qr/v1/style",
        allow: "GET, PUT, DELETE",
        methods: &[
            (Method::GET, Route::Api(ApiRoute::GetStyle)),
            (Method::PUT, Route::Api(ApiRoute::PutStyle)),
            (Method::DELETE, Route::Api(ApiRoute::DeleteStyle)),
        ],
    },
    PathSpec {
        template: "/healthz",
        allow: "GET, HEAD",
        methods: &[
            (Method::GET, Route::Healthz),
            (Method::HEAD, Route::Healthz),
        ],
    },
    PathSpec {
        template: "/readyz",
        allow: "GET, HEAD",
        methods: &[(Method::GET, Route::Readyz), (Method::HEAD, Route::Readyz)],
    },
    PathSpec {
        template: "/metrics",
        allow: "GET",
        methods: &[(Method::GET, Route::Metrics)],
    },
    PathSpec {
        template: "/openapi.yaml",
        allow: "GET, HEAD",
        methods: &[
            (Method::GET, Route::OpenApi),
            (Method::HEAD, Route::OpenApi),
        ],
    },
];

/// Every label [`route`], [`route_reserve`] and [`route_ops`] can report: the routes of
/// [`PATHS`], and the answers given without one. The metrics export each from start-up.
pub fn labels() -> impl Iterator<Item = &'static str> {
    let mut seen = Vec::new();
    for (_, r) in PATHS.iter().flat_map(|spec| spec.methods) {
        if !seen.contains(&r.label()) {
            seen.push(r.label());
        }
    }
    seen.extend(["not_found", "overloaded"]);
    seen.into_iter()
}

/// Why a request matched no route.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    /// The path exists, the method does not.
    MethodNotAllowed(&'static PathSpec),
}

/// Looks a request up in [`PATHS`]; returns the route and the path parameter (still
/// percent-encoded; `""` for routes without one).
///
/// One trailing `/` is ignored, and `/accesstoken/get` matches in any case (the published
/// quick start writes `/accessToken/get`).
pub fn recognize<'p>(method: &Method, path: &'p str) -> Result<(Route, &'p str), Miss> {
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let path = if path.eq_ignore_ascii_case("/accesstoken/get") {
        "/accesstoken/get"
    } else {
        path
    };
    // A path two templates match (`/qr/v1/merchant-callback/mobilepay/scans`: the scans of the
    // QR `mobilepay`, or the beacon `scans`) goes to the one that takes the method.
    let mut miss = Miss::NotFound;
    for spec in PATHS {
        let Some(param) = match_template(spec.template, path) else {
            continue;
        };
        match spec.methods.iter().find(|(m, _)| m == method) {
            Some(&(_, route)) => return Ok((route, param)),
            None if miss == Miss::NotFound => miss = Miss::MethodNotAllowed(spec),
            None => {}
        }
    }
    Err(miss)
}

/// Matches `path` against `template`; `Some(param)` on a match.
fn match_template<'p>(template: &str, path: &'p str) -> Option<&'p str> {
    // The common case (every image request) is a literal path: one comparison, no splitting.
    if template == path && !template.contains('{') {
        return Some("");
    }
    let mut param = "";
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(param),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() {
                    return None;
                }
                param = ps;
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// Routes one request from `peer`; returns the route's metrics label and the response.
pub async fn route(
    state: &Arc<AppState>,
    req: Request<ReqBody>,
    peer: IpAddr,
) -> (&'static str, Resp) {
    // Cheap clones (an enum and a ref-counted URI) so `req` can move into handlers.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let (route, param) = match recognize(&method, uri.path()) {
        Ok(found) => found,
        Err(Miss::NotFound) => return ("not_found", HttpError::NotFound.into_response()),
        Err(Miss::MethodNotAllowed(spec)) => {
            let label = spec.methods.first().map_or("not_found", |(_, r)| r.label());
            let allow = spec.allow;
            return (label, HttpError::MethodNotAllowed { allow }.into_response());
        }
    };
    let res = match route {
        Route::Origin => {
            let now = state.clock.now_unix();
            let res = state
                .origin
                .handle(
                    &state.keyring,
                    &state.metrics,
                    now,
                    &method,
                    &uri,
                    req.headers(),
                )
                .await;
            res.unwrap_or_else(HttpError::into_response)
        }
        Route::Healthz => ops::healthz(),
        Route::Readyz => ops::readyz(state),
        Route::Metrics => ops::metrics(state).await,
        Route::OpenApi => ops::openapi(),
        Route::RedirectLink | Route::PaymentLink | Route::CallbackLink | Route::BeaconLink => {
            // A scan is a GET answered by its redirect or check-in; HEAD (link previews,
            // probes) never counts.
            let visit = (method == Method::GET)
                .then(|| Visit::of(peer, req.headers(), &state.config.scans.trusted_proxies));
            let visit = visit.as_ref();
            match route {
                Route::RedirectLink => {
                    state
                        .links
                        .respond_to(LinkKind::Redirect, param, visit)
                        .await
                }
                Route::PaymentLink => {
                    state
                        .links
                        .respond_to(LinkKind::Payment, param, visit)
                        .await
                }
                Route::CallbackLink => state.links.scan_to(param, visit).await,
                _ => state.links.scan_beacon(param, visit).await,
            }
        }
        Route::Api(api) => api::handle(&state.api, api, param, req).await,
    };
    (route.label(), strip_body_for_head(&method, res))
}

/// `HEAD` answers carry the headers of `GET` (its `Content-Length` included) and no body.
fn strip_body_for_head(method: &Method, mut res: Resp) -> Resp {
    if method == Method::HEAD {
        if let Some(len) = hyper::body::Body::size_hint(res.body()).exact() {
            res.headers_mut()
                .entry(http::header::CONTENT_LENGTH)
                .or_insert_with(|| http::HeaderValue::from(len));
        }
        *res.body_mut() = empty();
    }
    res
}

/// Routes a request that arrived on a reserve connection (the server is at its connection cap):
/// only the operator endpoints are served, everything else is told to come back later.
pub async fn route_reserve(
    state: &Arc<AppState>,
    req: Request<ReqBody>,
    peer: IpAddr,
) -> (&'static str, Resp) {
    match recognize(req.method(), req.uri().path()) {
        Ok((Route::Healthz | Route::Readyz | Route::Metrics, _)) => route(state, req, peer).await,
        _ => (
            "overloaded",
            HttpError::Overloaded("too many open connections, retry shortly").into_response(),
        ),
    }
}

/// Routes a request that arrived on the operator listener: the operator endpoints only.
pub async fn route_ops(
    state: &Arc<AppState>,
    req: Request<ReqBody>,
    peer: IpAddr,
) -> (&'static str, Resp) {
    match recognize(req.method(), req.uri().path()) {
        Ok((Route::Healthz | Route::Readyz | Route::Metrics, _)) => route(state, req, peer).await,
        _ => ("not_found", HttpError::NotFound.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (method, template) in the table, with the template's parameter filled in.
    fn every_row() -> impl Iterator<Item = (&'static Method, String, Route)> {
        PATHS.iter().flat_map(|spec| {
            spec.methods.iter().map(move |(m, r)| {
                let path = spec
                    .template
                    .split('/')
                    .map(|s| if s.starts_with('{') { "AbCdEfGh12" } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                (m, path, *r)
            })
        })
    }

    #[test]
    fn every_row_is_recognised_as_itself() {
        for (method, path, route) in every_row() {
            assert_eq!(
                recognize(method, &path).map(|(r, _)| r),
                Ok(route),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn allow_lists_exactly_the_methods_of_each_path() {
        for spec in PATHS {
            let methods: Vec<&str> = spec.methods.iter().map(|(m, _)| m.as_str()).collect();
            assert_eq!(spec.allow, methods.join(", "), "{}", spec.template);
        }
    }

    #[test]
    fn parameters_and_misses() {
        assert_eq!(
            recognize(&Method::PUT, "/qr/v1/merchant-redirect/a%20b"),
            Ok((Route::Api(ApiRoute::UpdateRedirect), "a%20b"))
        );
        assert_eq!(
            recognize(&Method::GET, "/r/XyZ1234567"),
            Ok((Route::RedirectLink, "XyZ1234567"))
        );
        assert_eq!(
            recognize(&Method::POST, "/accessToken/get"),
            Ok((Route::Api(ApiRoute::AccessToken), ""))
        );
        assert_eq!(
            recognize(&Method::POST, "/qr/v1/"),
            Ok((Route::Api(ApiRoute::CreatePayment), ""))
        );
        assert_eq!(recognize(&Method::GET, "/r/"), Err(Miss::NotFound));
        assert_eq!(recognize(&Method::GET, "/r/a/b"), Err(Miss::NotFound));
        assert_eq!(
            recognize(&Method::GET, "/qr/v1/merchant-redirect/a/b"),
            Err(Miss::NotFound)
        );
        assert_eq!(recognize(&Method::GET, "/"), Err(Miss::NotFound));
        assert!(matches!(
            recognize(&Method::POST, "/qr/v1/merchant-redirect/x"),
            Err(Miss::MethodNotAllowed(PathSpec {
                allow: "GET, PUT, DELETE",
                ..
            }))
        ));
        assert!(matches!(
            recognize(&Method::DELETE, "/qr-generator/v1"),
            Err(Miss::MethodNotAllowed(PathSpec {
                allow: "GET, HEAD",
                ..
            }))
        ));
    }
}
