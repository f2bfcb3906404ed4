//! Checks of the shipped `wrangler.toml`: what a deployment without `--env` would ship.

const WRANGLER_TOML: &str = include_str!("../../wrangler.toml");

/// The value of `key = "..."` on `line`, inline tables included.
fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key} = \""))? + key.len() + 4;
    let rest = &line[start..];
    Some(&rest[..rest.find('"')?])
}

/// `(section, ALLOWED_ORIGINS)` for the top level and every environment.
fn allowed_origins() -> Vec<(String, String)> {
    let mut section = String::from("top level");
    let mut out = Vec::new();
    for line in WRANGLER_TOML.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
        }
        if let Some(v) = value_of(line, "ALLOWED_ORIGINS") {
            let name = if section == "vars" {
                "top level"
            } else {
                section.as_str()
            };
            out.push((name.to_owned(), v.to_owned()));
        }
    }
    out
}

#[test]
fn a_deploy_without_env_allows_no_local_or_wildcard_origin() {
    let origins = allowed_origins();
    let names: Vec<&str> = origins.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "top level",
            "env.development",
            "env.staging",
            "env.production"
        ],
        "{origins:?}"
    );
    for (section, value) in &origins {
        if section == "env.development" {
            continue;
        }
        for origin in value.split(',').map(str::trim) {
            assert!(
                !origin.contains("localhost") && !origin.contains("127.0.0.1") && origin != "*",
                "{section} allows {origin:?}"
            );
            assert!(
                origin.starts_with("https://"),
                "{section} allows {origin:?}"
            );
        }
    }
}

#[test]
fn no_deployed_environment_turns_on_development_faults() {
    assert!(!WRANGLER_TOML.contains("TESSERA_DEV_FAULTS"));
}

#[test]
fn plans_are_stated_once() {
    assert!(
        !WRANGLER_TOML.contains("PLANS ="),
        "plans live in relay-worker/plans.json"
    );
}

#[test]
fn every_environment_writes_metrics_to_analytics_engine() {
    let mut section = String::from("top level");
    let mut with_metrics = Vec::new();
    for line in WRANGLER_TOML.lines().map(str::trim) {
        if line.starts_with("[env.") {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
        }
        let declares = line.starts_with("analytics_engine_datasets")
            && line.contains(r#"binding = "METRICS""#);
        let top_level = line == r#"binding = "METRICS""# && section == "top level";
        if declares || top_level {
            with_metrics.push(section.clone());
        }
    }
    assert_eq!(
        with_metrics,
        [
            "top level",
            "env.development",
            "env.staging",
            "env.production"
        ],
        "wrangler.toml must bind METRICS everywhere: bindings are not inherited by environments"
    );
}
