//! The deploy template routes exactly what the functions serve: every operation of the OpenAPI
//! document and every page, and nothing else (issue 11 keeps this true as routes are added).

use std::collections::BTreeSet;

fn template_routes() -> BTreeSet<(String, String)> {
    let template = include_str!("../../infra/template.yaml");
    template
        .lines()
        .filter_map(|line| {
            let rest = line.split("Method: ").nth(1)?;
            let (method, rest) = rest.split_once(',')?;
            let path = rest.split("Path: \"").nth(1)?.split('"').next()?;
            Some((method.trim().to_string(), path.to_string()))
        })
        .collect()
}

fn served_routes() -> BTreeSet<(String, String)> {
    let document: serde_json::Value =
        serde_json::from_str(gatehouse_openapi::DOCUMENT).expect("the OpenAPI document parses");
    let mut routes: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .expect("operations")
                .keys()
                .map(move |method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect();
    routes.extend(
        gatehouse_pages::PAGE_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string())),
    );
    // The document itself.
    routes.insert(("GET".into(), "/openapi.json".into()));
    routes
}

#[test]
fn the_template_routes_every_operation_and_page_and_nothing_else() {
    let template = template_routes();
    let served = served_routes();
    let missing: Vec<_> = served.difference(&template).collect();
    let extra: Vec<_> = template.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served (OpenAPI document or pages) but not routed by the template: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "routed by the template but served by no function: {extra:?}"
    );
    assert!(template.len() > 60, "{} routes read", template.len());
}
