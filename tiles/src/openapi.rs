//! The OpenAPI 3.1 description served at `/api/openapi.json`, made from [`crate::server::ROUTES`] —
//! the same table the authentication reads — so that it lists exactly the served routes.

use serde_json::{json, Map, Value};

use crate::params::{COMMON_KEYS, FILTER_KEYS};
use crate::server::ROUTES;

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES.iter().filter(|r| r.documented) {
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let data_route = route.path.starts_with("/api/")
            && !matches!(
                route.path,
                "/api/openapi.json" | "/api/events" | "/api/version" | "/api/ingest"
            )
            || route.path.starts_with("/tiles/");
        if data_route {
            parameters.extend(FILTER_KEYS.iter().map(|name| {
                json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" },
                        "description": filter_description(name) })
            }));
        }
        parameters.extend(
            COMMON_KEYS
                .iter()
                .map(|name| json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } })),
        );
        let mut operation = json!({
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                "200": { "description": "OK" },
                "400": { "description": "Bad request: the body says which parameter and why" },
                "401": { "description": "No or unknown bearer token" },
                "403": { "description": "The token's role or area does not allow this (or the Host/Origin is not this server's)" },
                "413": { "description": "More work than one request may ask for (the body names the limit)" },
                "500": { "description": "Internal error (details in the server log)" },
                "503": { "description": "Busy (Retry-After) or over its time limit" }
            }
        });
        match route.role() {
            Some(role) => {
                operation["security"] = json!([{ "bearer": [] }]);
                operation["x-fengqiao-role"] = json!(role.code());
            }
            None => operation["security"] = json!([]),
        }
        if route.path.starts_with("/tiles/") && route.path.contains("{z}") {
            operation["responses"]["204"] = json!({ "description": "Empty tile" });
            operation["responses"]["304"] = json!({ "description": "Not modified (ETag)" });
        }
        let entry = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        entry[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Fengqiao 枫桥 — contradiction heat maps",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tiles and analytics over dispute-resolution case records. Roles: monitor (metrics), display (aggregates through the display projection), analyst (+ case lists without personal fields, positions snapped to res-10 cells), admin (+ personal fields, exact positions, ingest, the audit log). See docs/api.md."
        },
        "components": { "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
        "paths": paths,
    })
}

fn filter_description(name: &str) -> &'static str {
    match name {
        "from" => "first day (or time) of the period",
        "to" => "last day of the period, inclusive",
        "category" => "categories (English codes or Chinese names), comma-separated",
        "class" => "case classes, comma-separated",
        "channel" => "intake channels, comma-separated",
        "status" => "statuses, comma-separated",
        "severity" => "severities, comma-separated",
        "unit" => "admin unit code (county, township, village or grid)",
        _ => "",
    }
}
