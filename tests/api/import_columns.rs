//! An import's header names are read without regard to case or surrounding spaces, and a
//! column the import does not know refuses the whole file, naming it and the known ones.

use checkin::domain::{ResidentId, VenueId};

use crate::helpers::TestApp;

async fn a_header_in_another_case_is_read_and_a_misspelt_column_refuses_the_file(app: TestApp) {
    app.venue("C1", "residential_compound").await;
    app.import_residents("R1,付秀,19900000701,C1,1栋,402,H1,\n")
        .await;
    let store = app.store().await;
    let r1 = ResidentId::parse("R1").unwrap_or_else(|e| panic!("{e}"));

    let misspelt = "resident_id,name,phone,buidling\nR1,付秀英,19900000702,2栋\n";
    for path in [
        "/api/v1/residents/import?dry_run=true",
        "/api/v1/residents/import",
    ] {
        let a = app.import_csv(path, misspelt).await;

        assert_eq!(a.status, 400, "{path}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "invalid_input");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("unknown column `buidling`"), "{message}");
        assert!(
            message.contains("building, room, household, tags"),
            "{message}"
        );
    }
    let kept = store.resident(&r1).await.ok().flatten();
    assert_eq!(
        kept.map(|r| (r.name, r.building)),
        Some((Some("付秀".into()), Some("1栋".into()))),
        "nothing of the refused file was written"
    );

    let cased = "Resident_ID,Name, Phone ,BUILDING\nR1,付秀英,19900000702,2栋\n";
    let a = app.import_csv("/api/v1/residents/import", cased).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["updated"], 1, "{}", a.body);
    let read = store.resident(&r1).await.ok().flatten();
    assert_eq!(
        read.map(|r| (r.phone.as_str().to_owned(), r.building, r.room)),
        Some((
            "19900000702".to_owned(),
            Some("2栋".into()),
            Some("402".into())
        )),
        "Phone and BUILDING were read; room, not in the file, stayed"
    );
}

async fn the_venue_import_reads_its_header_by_the_same_rule(app: TestApp) {
    let admin = app.admin().await;
    let store = app.store().await;
    let s1 = VenueId::parse("S1").unwrap_or_else(|e| panic!("{e}"));
    let misspelt = "code,name,kind,gates,comunity\nS1,东门药店,shop,正门,东门社区\n";

    let refused = app.import_csv("/api/v1/venues/import", misspelt).await;
    let cased = app
        .import_csv(
            "/api/v1/venues/import",
            "Code,Name,Kind,Gates,Community\nS1,东门药店,shop,正门,东门社区\n",
        )
        .await;
    let twice = app
        .import_csv(
            "/api/v1/venues/import",
            "code,name,kind,gates,community,Community\nS1,东门药店,shop,正门,东门社区,西门社区\n",
        )
        .await;

    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("unknown column `comunity`"), "{message}");
    assert!(message.contains("community"), "{message}");
    assert_eq!(cased.status, 200, "{}", cased.body);
    assert_eq!(cased.body["created"], 1, "{}", cased.body);
    let venue = store.venue(&s1).await.ok().flatten();
    assert_eq!(venue.and_then(|v| v.community), Some("东门社区".into()));
    assert_eq!(twice.status, 400, "{}", twice.body);
    let message = twice.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("community is named twice"), "{message}");
    assert_eq!(app.get("/api/v1/venues/S1", &admin).await.status, 200);
}

crate::on_both_backends!(
    a_header_in_another_case_is_read_and_a_misspelt_column_refuses_the_file,
    the_venue_import_reads_its_header_by_the_same_rule,
);
