//! The storage conformance suite: every behaviour of the `Store` trait, checked against each
//! backend (the embedded SQLite store in a temporary directory; Redis under a fresh random
//! key prefix on `CHECKIN_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`; and a Redis
//! Cluster on `CHECKIN_TEST_REDIS_CLUSTER_URL`, which `scripts/test` starts), plus a few
//! checks that only make sense for one Redis or for a cluster.
//!
//! Each behaviour is one `async fn` in [`behaviours`] taking the store (`&dyn Store`, or the
//! whole [`helpers::Backend`] when it must reopen the store); `conformance!` turns each into
//! one test per backend, `embedded::NAME`, `redis::NAME` and `cluster::NAME`.

mod behaviours;
mod cluster_only;
mod fixtures;
mod helpers;
mod redis_only;

/// Generates `mod embedded`, `mod redis` and `mod cluster` (a three-master Redis Cluster), each with one `#[tokio::test]` per behaviour. A
/// test sets its backend up, runs the behaviour, and always cleans up (the Redis prefix's keys
/// are deleted even when the behaviour panics) before reporting the outcome.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    let backend = crate::helpers::Backend::embedded().await;
                    let outcome = crate::helpers::catch(crate::behaviours::$name(backend.arg())).await;
                    backend.finish(outcome).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    let backend = crate::helpers::Backend::redis().await;
                    let outcome = crate::helpers::catch(crate::behaviours::$name(backend.arg())).await;
                    backend.finish(outcome).await;
                }
            )*
        }
        mod cluster {
            $(
                #[tokio::test]
                async fn $name() {
                    let backend = crate::helpers::Backend::cluster().await;
                    let outcome = crate::helpers::catch(crate::behaviours::$name(backend.arg())).await;
                    backend.finish(outcome).await;
                }
            )*
        }
    };
}

conformance! {
    an_alert_is_claimed_by_one_claim_at_a_time_and_settled_only_by_the_claim_holding_it,
    alerts_are_claimed_oldest_due_first_up_to_the_limit,
    ping_succeeds,
    reading_what_was_never_written_gives_nothing,
    a_put_venue_then_get_returns_the_same_venue,
    a_venue_is_inserted_once_even_by_concurrent_inserts,
    audit_records_are_kept_and_read_back_by_time_window,
    a_venue_is_replaced_only_at_the_expected_revision,
    venues_are_listed_in_id_order,
    sub_locations_are_listed_under_their_parent,
    a_put_resident_then_get_returns_the_same_resident_by_id_and_by_phone,
    a_phone_already_used_by_another_resident_is_refused,
    changing_a_residents_phone_frees_the_old_phone,
    residents_are_listed_by_home_and_follow_a_move,
    a_persons_state_carries_their_registration,
    visitor_passes_are_found_by_phone_and_replaced_by_id,
    a_visitor_pass_is_purged_once_its_validity_ended_before_the_cutoff,
    a_put_staff_then_get_returns_the_same_account,
    a_staff_account_is_added_only_under_a_new_username,
    an_otp_can_be_taken_only_once,
    a_new_otp_replaces_the_pending_one,
    a_code_put_back_after_a_wrong_try_does_not_replace_a_newer_one,
    an_otp_past_its_expiry_is_still_returned_for_the_caller_to_judge,
    a_first_commit_opens_a_visit_and_bumps_the_version,
    a_commit_with_a_stale_version_is_refused_and_writes_nothing,
    a_commit_removes_the_visits_it_names_everywhere_and_never_lowers_the_latest_scan_time,
    concurrent_commits_on_the_same_version_let_exactly_one_through,
    an_idempotency_record_is_read_back_with_the_person_state,
    a_persons_state_is_read_with_a_venue_as_each_is_read_alone,
    scan_events_are_kept_in_the_order_recorded_denied_ones_included,
    a_venues_newest_scans_are_listed_newest_first,
    a_venues_events_are_read_by_scan_time_for_the_venues_asked,
    an_open_visit_shows_in_presence_until_closed,
    a_check_in_elsewhere_moves_presence_to_the_new_venue,
    a_visit_closed_by_timeout_leaves_presence_to_the_next_visit_at_the_same_venue,
    visits_are_returned_for_a_window_by_resident_and_by_venue,
    a_rewritten_visit_replaces_the_stored_one,
    presence_follows_the_open_visit_whatever_the_order_of_the_changed_visits,
    data_survives_reopening_the_store,
    a_purge_removes_visits_events_and_audit_records_past_retention_and_keeps_the_rest,
    alerts_are_written_with_their_scan_read_by_time_and_purged_with_visits,
    imported_visits_are_read_back_like_committed_ones,
    a_large_import_is_written_whole,
    an_import_with_an_open_visit_is_refused_and_writes_nothing,
    vehicle_passes_are_read_by_checkpoint_and_by_plate_in_a_window_oldest_first,
    a_vehicle_pass_added_again_under_its_id_keeps_the_first,
    vehicle_passes_are_purged_with_visits,
}
