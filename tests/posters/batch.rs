//! A district-sized batch: 459 posters (153 venues x 3 gates) in one PDF.
//! Ignored by default (tens of seconds in a debug build); run it with
//! `cargo test --test posters -- --ignored --nocapture` to see the timings.

use std::time::Instant;

use checkin::posters::{render_pdf_with_progress, render_png, PosterSpec};

use crate::helpers::{code, spec};

/// Common hanzi for made-up venue names (so the font subset is realistic).
const HANZI: &str = "瑞祥和平安康乐福寿华新东西南北中金银河山水林园花苑庭府城里坊村街路巷\
                     明光阳春秋景泰丰盛兴隆嘉宝龙凤翠竹松柏桂兰梅荷湖海星月云天";

fn venue_name(i: usize) -> String {
    let chars: Vec<char> = HANZI.chars().collect();
    let pick = |k: usize| chars[(i * 7 + k * 13 + i / 5) % chars.len()];
    let kind = [
        "小区",
        "家园",
        "花园",
        "农贸市场",
        "超市",
        "社区卫生服务中心",
    ][i % 6];
    format!("{}{}{}{kind}", pick(1), pick(2), pick(3))
}

#[test]
#[ignore = "a timing run; see the module doc"]
fn a_459_page_batch_pdf_is_reasonable_in_time_and_size() {
    let code = code();
    let started = Instant::now();
    render_png(&spec(&code)).expect("renders");
    println!("one PNG: {:?}", started.elapsed());

    let names: Vec<(String, String)> = (0..153)
        .flat_map(|v| ["北门", "南门", "东侧门"].map(|g| (venue_name(v), g.to_owned())))
        .collect();
    let specs: Vec<PosterSpec<'_>> = names
        .iter()
        .map(|(venue, gate)| PosterSpec {
            venue_name: venue,
            gate,
            ..spec(&code)
        })
        .collect();
    assert_eq!(specs.len(), 459);
    let started = Instant::now();
    let mut pages_done_at = None;
    let pdf = render_pdf_with_progress(&specs, &mut |done, total| {
        if done == total {
            pages_done_at = Some(started.elapsed());
        }
    })
    .expect("renders");
    let total = started.elapsed();
    println!(
        "459-page PDF: {total:?} ({:?} for the pages), {:.2} MB",
        pages_done_at.unwrap_or_default(),
        pdf.len() as f64 / 1e6
    );
    assert!(pdf.len() < 20_000_000, "{} bytes", pdf.len());
}
