//! `dry_run=true` on the CSV imports: the report the import would give, and nothing written.

use serde_json::json;

use crate::helpers::TestApp;

const VENUES: &str = "code,name,kind,community,address,gates,households,parent\n\
    C1,东园小区,residential_compound,东门社区,东园路1号,北门;南门,120,\n\
    C1-B1,东园小区1栋,residential_compound,东门社区,,单元门,,C1\n\
    X1,坏的场所,spaceship,东门社区,,正门,,\n\
    S1,东门药店,shop,东门社区,,正门,,\n\
    S2,楼中楼,shop,东门社区,,正门,,C1-B1\n";

async fn a_dry_run_of_venues_reports_what_the_import_would_and_writes_nothing(app: TestApp) {
    let admin = app.admin().await;

    let dry = app
        .import_csv("/api/v1/venues/import?dry_run=true", VENUES)
        .await;
    let after_dry = app.get("/api/v1/venues", &admin).await;
    let real = app.import_csv("/api/v1/venues/import", VENUES).await;
    let again_dry = app
        .import_csv("/api/v1/venues/import?dry_run=true", VENUES)
        .await;
    let again = app.import_csv("/api/v1/venues/import", VENUES).await;

    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.body["created"], 3, "{}", dry.body);
    assert_eq!(dry.body["updated"], 0);
    let lines: Vec<_> = dry.body["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["line"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(lines, vec![json!(4), json!(6)], "{}", dry.body);
    assert_eq!(after_dry.body["venues"], json!([]), "nothing written");
    assert_eq!(
        real.body, dry.body,
        "the import reports what the dry run did"
    );
    assert_eq!(again_dry.body["created"], 0);
    assert_eq!(again_dry.body["updated"], 3);
    assert_eq!(again.body, again_dry.body);
}

async fn a_dry_run_sees_a_building_an_earlier_row_registers_when_its_compound_becomes_a_checkpoint(
    app: TestApp,
) {
    let header = "code,name,kind,community,address,gates,households,parent\n";
    let compound = format!("{header}C1,东园小区,residential_compound,东门社区,,北门,,\n");
    let imported = app.import_csv("/api/v1/venues/import", compound).await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    // Line 2 registers a building of C1; line 3 would make C1 a checkpoint, which a venue
    // with sub-locations cannot become.
    let file = format!(
        "{header}C1-B1,东园小区1栋,residential_compound,东门社区,,单元门,,C1\n\
         C1,东园小区,checkpoint,东门社区,,北门,,\n"
    );

    let dry = app
        .import_csv("/api/v1/venues/import?dry_run=true", file.clone())
        .await;
    let real = app.import_csv("/api/v1/venues/import", file).await;

    assert_eq!(real.status, 200, "{}", real.body);
    assert_eq!(real.body["errors"][0]["line"], 3, "{}", real.body);
    assert_eq!(
        dry.body, real.body,
        "the dry run reports what the import did"
    );
}

async fn an_import_that_brings_a_gate_back_says_it_rotates_the_venues_codes(app: TestApp) {
    let header = "code,name,kind,community,address,gates,households\n";
    let both = format!("{header}S1,东门药店,shop,东门社区,,东门;西门,\n");
    let east = format!("{header}S1,东门药店,shop,东门社区,,东门,\n");
    let admin = app.admin().await;
    let first = app.import_csv("/api/v1/venues/import", both.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);

    let taken_away = app.import_csv("/api/v1/venues/import", east).await;
    let dry = app
        .import_csv("/api/v1/venues/import?dry_run=true", both.clone())
        .await;
    let after_dry = app.get("/api/v1/venues/S1", &admin).await;
    let back = app.import_csv("/api/v1/venues/import", both).await;
    let after = app.get("/api/v1/venues/S1", &admin).await;

    assert!(
        taken_away.body.get("codes_rotated").is_none(),
        "{}",
        taken_away.body
    );
    assert_eq!(dry.body["codes_rotated"], json!(["S1"]), "{}", dry.body);
    assert_eq!(
        after_dry.body["code_version"], 1,
        "a dry run rotates nothing"
    );
    assert_eq!(
        back.body, dry.body,
        "the import reports what the dry run did"
    );
    assert_eq!(after.body["code_version"], 2, "{}", after.body);
}

async fn a_dry_run_of_residents_reports_what_the_import_would_and_writes_nothing(app: TestApp) {
    app.import_csv("/api/v1/venues/import", VENUES).await;
    let residents = "resident_id,name,phone,home,building,room,household,tags\n\
        R1,付秀英,19900000301,C1,1栋,402,H1,\n\
        R2,付小明,19900000301,C1,1栋,402,H1,\n\
        R3,陆鹏,19900000303,S1,,,,\n\
        R4,王芳,1990000,C1,,,,\n\
        R1,付秀英,19900000305,C1,1栋,402,H1,hubei_return\n\
        R5,李雷,19900000301,C1,2栋,101,H5,\n";

    let dry = app
        .import_csv("/api/v1/residents/import?dry_run=true", residents)
        .await;
    let store = app.store().await;
    let r1_after_dry = store
        .resident(&checkin::domain::ResidentId::parse("R1").unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let real = app.import_csv("/api/v1/residents/import", residents).await;

    assert_eq!(dry.status, 200, "{}", dry.body);
    // R1 created, then written again by line 6 (giving up its phone, which R5 then takes):
    // counted once and warned of; R2's phone is R1's; R3's home is a shop; R4's phone is not
    // a phone.
    assert_eq!(dry.body["created"], 2, "{}", dry.body);
    assert_eq!(dry.body["updated"], 0, "{}", dry.body);
    assert_eq!(dry.body["warnings"][0]["line"], 6, "{}", dry.body);
    let lines: Vec<_> = dry.body["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| e["line"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(lines, vec![json!(3), json!(4), json!(5)], "{}", dry.body);
    assert!(r1_after_dry.is_none(), "nothing written");
    assert_eq!(
        real.body, dry.body,
        "the import reports what the dry run did"
    );
}

crate::on_both_backends!(
    a_dry_run_of_venues_reports_what_the_import_would_and_writes_nothing,
    a_dry_run_of_residents_reports_what_the_import_would_and_writes_nothing,
    an_import_that_brings_a_gate_back_says_it_rotates_the_venues_codes,
    a_dry_run_sees_a_building_an_earlier_row_registers_when_its_compound_becomes_a_checkpoint,
);
