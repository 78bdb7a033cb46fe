//! A query parameter that is missing, unknown or not of its type is a 400 in the contract's
//! error shape, whose message names the parameter and says what was wrong.

use crate::helpers::TestApp;

async fn a_bad_or_missing_query_parameter_is_named_in_a_400(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    let cases = [
        ("/api/v1/visitors", "phone", "required"),
        (
            "/api/v1/venues/S1/recent-scans?limit=lots",
            "limit",
            "whole number",
        ),
        (
            "/api/v1/trace/residents/R1/contacts?exclude_home=maybe",
            "exclude_home",
            "true or false",
        ),
        (
            "/api/v1/venues/S1/recent-scans?limit=5&limit=6",
            "limit",
            "twice",
        ),
    ];
    for (path, parameter, what) in cases {
        let a = app.get(path, &admin).await;

        assert_eq!(a.status, 400, "{path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "invalid_input", "{path}");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{parameter}: ")),
            "{path}: {message}"
        );
        assert!(message.contains(what), "{path}: {message}");
        assert!(!message.contains("deserialize"), "{path}: {message}");
    }
    let csv = "code,name,kind,community,address,gates,households\nS2,东门药店,shop,,,正门,\n";
    for (query, message) in [
        ("dry_run=yes", "dry_run: must be true or false"),
        (
            "dryrun=true",
            "dryrun: unknown query parameter, expected `dry_run`",
        ),
    ] {
        let a = app
            .import_csv(&format!("/api/v1/venues/import?{query}"), csv)
            .await;

        assert_eq!(a.status, 400, "{query}: {}", a.body);
        assert_eq!(a.body["error"]["message"], message, "{query}");
    }
    assert_eq!(app.get("/api/v1/venues/S2", &admin).await.status, 404);
}

/// A misspelt parameter would otherwise be dropped and its default used: a tracer's
/// `buffer_minute=15` would silently give the contacts of a zero buffer.
async fn an_unknown_query_parameter_is_refused_and_named(app: TestApp) {
    app.venue("S1", "shop").await;
    let admin = app.admin().await;
    for (path, parameter) in [
        (
            "/api/v1/trace/residents/R1/contacts?buffer_minute=15",
            "buffer_minute",
        ),
        ("/api/v1/venues/S1/recent-scans?gat=北门", "gat"),
        (
            "/api/v1/trace/venues/S1/visits?form=2020-02-16T00:00:00Z",
            "form",
        ),
        ("/api/v1/reports/daily?dat=2020-02-16", "dat"),
        ("/api/v1/alerts?too=2020-02-16T00:00:00Z", "too"),
    ] {
        let a = app.get(path, &admin).await;

        assert_eq!(a.status, 400, "{path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "invalid_input", "{path}");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{parameter}: unknown query parameter")),
            "{path}: {message}"
        );
    }
    let known = app
        .get("/api/v1/venues/S1/recent-scans?gate=北门", &admin)
        .await;
    assert_eq!(known.status, 200, "{}", known.body);
}

crate::on_both_backends!(
    a_bad_or_missing_query_parameter_is_named_in_a_400,
    an_unknown_query_parameter_is_refused_and_named,
);
