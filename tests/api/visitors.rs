//! Visitor passes: a resident registers a visitor for their compound; while the pass is valid
//! and not revoked, the visitor's check-in there is admitted and the visit names the host.

use chrono::Duration;
use serde_json::json;

use crate::helpers::{ago, TestApp};

async fn a_registered_visitor_is_admitted_with_their_host_until_the_pass_ends(app: TestApp) {
    let admin = app.admin().await;
    let made = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C1", "name": "瑞祥小区", "kind": "residential_compound", "gates": ["北门"]}),
        )
        .await;
    let code = made.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.import_residents("RH,付秀,19900000960,C1,1栋,402,H1,\n")
        .await;
    let (host, _) = app.resident("19900000960").await;
    let (visitor, vid) = app.resident("19900000961").await;
    let (late, _) = app.resident("19900000962").await;
    let (stranger, _) = app.resident("19900000963").await;
    let pass = app
        .post(
            "/api/v1/visitors",
            &host,
            &json!({"name": "王芳", "phone": "19900000961", "relation": "女儿",
                    "arrival": ago(120).to_rfc3339(), "valid_hours": 12}),
        )
        .await;
    let expired = app
        .post(
            "/api/v1/visitors",
            &host,
            &json!({"name": "李强", "phone": "19900000962", "relation": "护工",
                    "arrival": (ago(0) - Duration::hours(23)).to_rfc3339(), "valid_hours": 2}),
        )
        .await;
    let unhosted = app
        .post(
            "/api/v1/visitors",
            &stranger,
            &json!({"name": "赵六", "phone": "19900000964", "relation": "朋友"}),
        )
        .await;
    assert_eq!(pass.status, 201, "{}", pass.body);
    assert_eq!(expired.status, 201, "{}", expired.body);
    assert_eq!(
        unhosted.status, 400,
        "a visitor needs a host with a home: {}",
        unhosted.body
    );

    let admitted = app.scan_at(&visitor, &code, "in", ago(60)).await;
    let too_late = app.scan_at(&late, &code, "in", ago(60)).await;
    // Backdated into the pass's hours: the pass is over by the server's clock.
    let backdated = app
        .scan_at(&late, &code, "in", ago(0) - Duration::hours(22))
        .await;
    let refused = app.scan_at(&stranger, &code, "in", ago(60)).await;
    let out = app.scan_at(&visitor, &code, "out", ago(50)).await;
    let pass_id = pass.body["id"].as_str().unwrap_or_default().to_owned();
    let revoked = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/visitors/{pass_id}")))
                .bearer_auth(&admin),
        )
        .await;
    let after = app.scan_at(&visitor, &code, "in", ago(40)).await;

    assert_eq!(admitted.body["decision"], "admitted", "{}", admitted.body);
    for denied in [&too_late, &backdated, &refused, &after] {
        assert_eq!(denied.body["reason"], "not_a_resident", "{}", denied.body);
    }
    assert_eq!(out.body["decision"], "admitted");
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body["revoked"], true);
    let visits = app.visits_of(&vid).await;
    assert_eq!(visits.len(), 1, "{visits:?}");
    assert_eq!(
        visits[0]["host"], "RH",
        "the visit names the host: {visits:?}"
    );
    let csv = app
        .client
        .get(app.url(&format!("/api/v1/trace/residents/{vid}/visits")))
        .query(&[("from", (ago(0) - Duration::days(1)).to_rfc3339())])
        .header("accept", "text/csv")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(
        csv.lines().next().is_some_and(|h| h.ends_with(",host")),
        "{csv}"
    );
    assert!(
        csv.lines().nth(1).is_some_and(|r| r.ends_with(",RH")),
        "{csv}"
    );
    let ancient = app
        .post(
            "/api/v1/visitors",
            &host,
            &json!({"name": "王芳", "phone": "19900000961", "relation": "女儿",
                    "arrival": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(ancient.status, 400, "{}", ancient.body);
}

async fn a_pass_stops_admitting_once_its_host_has_moved_out(app: TestApp) {
    let admin = app.admin().await;
    let made = app
        .post(
            "/api/v1/venues",
            &admin,
            &json!({"id": "C1", "name": "瑞祥小区", "kind": "residential_compound",
                    "gates": ["北门"], "entry_policy": "residents_only"}),
        )
        .await;
    let here = made.body["codes"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.venue("C2", "residential_compound").await;
    app.import_residents("RH,付秀,19900000970,C1,1栋,402,H1,\n")
        .await;
    let (host, _) = app.resident("19900000970").await;
    let (visitor, _) = app.resident("19900000971").await;
    let pass = app
        .post(
            "/api/v1/visitors",
            &host,
            &json!({"name": "王芳", "phone": "19900000971", "relation": "女儿",
                    "arrival": ago(120).to_rfc3339(), "valid_hours": 12}),
        )
        .await;
    assert_eq!(pass.status, 201, "{}", pass.body);
    let before = app.scan_at(&visitor, &here, "in", ago(60)).await;
    app.scan_at(&visitor, &here, "out", ago(55)).await;

    // The host moves to another compound.
    let moved = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone,home,building,room,household,tags\n\
             RH,付秀,19900000970,C2,2栋,101,H1,\n",
        )
        .await;
    assert_eq!(moved.body["updated"], 1, "{}", moved.body);
    let after = app.scan_at(&visitor, &here, "in", ago(50)).await;

    assert_eq!(before.body["decision"], "admitted", "{}", before.body);
    assert_eq!(after.body["reason"], "not_a_resident", "{}", after.body);
}

async fn a_home_must_be_a_registered_compound(app: TestApp) {
    app.venue("C1", "residential_compound").await;
    app.venue("S1", "shop").await;
    let imported = app
        .import_csv(
            "/api/v1/residents/import",
            "resident_id,name,phone,home,building,room,household,tags\n\
             R1,付秀,19900000980,C1,1栋,402,H1,\n\
             R2,向强,19900000981,S1,,,H2,\n\
             R3,王芳,19900000982,C9,,,H3,\n\
             R4,李强,19900000983,,,,,\n",
        )
        .await;

    assert_eq!(imported.body["created"], 2, "{}", imported.body);
    let errors: Vec<(u64, String)> = imported.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].0 == 3 && errors[0].1.contains("shop"),
        "{errors:?}"
    );
    assert!(
        errors[1].0 == 4 && errors[1].1.contains("no venue C9"),
        "{errors:?}"
    );
}

async fn a_host_revokes_their_own_pass_and_an_admin_finds_passes_by_phone(app: TestApp) {
    app.venue("C1", "residential_compound").await;
    app.import_residents(
        "RH,付秀,19900000990,C1,1栋,402,H1,\n\
         RO,陆鹏,19900000991,C1,1栋,401,H2,\n",
    )
    .await;
    let (host, _) = app.resident("19900000990").await;
    let (neighbour, _) = app.resident("19900000991").await;
    let pass = app
        .post(
            "/api/v1/visitors",
            &host,
            &json!({"name": "王芳", "phone": "19900000992", "relation": "女儿"}),
        )
        .await;
    let id = pass.body["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/visitors/{id}");

    let by_neighbour = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&neighbour))
        .await;
    let tracer = app.staff("tracer1", "tracer").await;
    let by_tracer = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&tracer))
        .await;
    let anonymous = app.send(app.client.delete(app.url(&path))).await;
    let by_host = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&host))
        .await;
    let admin = app.admin().await;
    let found = app.get("/api/v1/visitors?phone=19900000992", &admin).await;
    let by_resident = app.get("/api/v1/visitors?phone=19900000992", &host).await;
    let audit = app.get("/api/v1/audit", &admin).await;

    assert_eq!(by_neighbour.status, 403, "{}", by_neighbour.body);
    assert_eq!(by_neighbour.body["error"]["code"], "forbidden");
    assert_eq!(
        by_neighbour.body["error"]["message"],
        "this visitor pass is another resident's: only its host or an admin may revoke it"
    );
    assert_eq!(
        by_tracer.status, 403,
        "only an admin of the staff: {}",
        by_tracer.body
    );
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.body["error"]["code"], "unauthorized");
    assert_eq!(by_host.status, 200, "{}", by_host.body);
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["passes"][0]["id"], id.as_str());
    assert_eq!(found.body["passes"][0]["revoked"], true);
    assert_eq!(by_resident.status, 403);
    assert!(audit.body["records"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["action"] == "visitors.list"));

    // A host signed out everywhere is told to sign in again, as on every resident route.
    let out = app
        .post("/api/v1/me/sign-out-everywhere", &host, &json!({}))
        .await;
    assert!(out.status < 300, "{}", out.body);
    let after = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&host))
        .await;
    assert_eq!(after.status, 401, "{}", after.body);
    assert_eq!(after.body["error"]["code"], "unauthorized");
}

crate::on_both_backends!(
    a_host_revokes_their_own_pass_and_an_admin_finds_passes_by_phone,
    a_registered_visitor_is_admitted_with_their_host_until_the_pass_ends,
    a_pass_stops_admitting_once_its_host_has_moved_out,
    a_home_must_be_a_registered_compound,
);
