//! Writing a laid-out poster as a standalone SVG document.
//!
//! Coordinates are the PNG's pixels (viewBox `0 0 1240 1754`) on a page
//! declared as 210 mm x 297 mm. Each distinct glyph is defined once in
//! `<defs>` as a path in font units (y up) and placed with `<use>` inside a
//! group that scales and flips it, so the document needs no font and stays
//! small (tens of kB). The QR code is one `crispEdges` path of module-sized
//! rectangles (quiet zone left white).

use std::collections::BTreeMap;
use std::fmt::Write;

use ab_glyph::{Font, FontRef, OutlineCurve, Point};
use qrcode::Color;

use super::font::units_per_em;
use super::layout::{Plan, QrPlacement, PAGE_HEIGHT, PAGE_WIDTH};

/// Renders `plan` as an SVG document.
pub(crate) fn render(plan: &Plan, font: &FontRef<'_>) -> String {
    let mut body = String::new();
    let mut glyphs: BTreeMap<u16, String> = BTreeMap::new();

    for rule in &plan.rules {
        let _ = writeln!(
            body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
            rule.x,
            rule.y,
            rule.w,
            rule.h,
            grey(rule.shade)
        );
    }

    body.push_str(&qr_path(&plan.qr));

    let upem = units_per_em(font);
    for line in &plan.texts {
        let s = line.em / upem;
        let _ = writeln!(
            body,
            r#"<g fill="{}" transform="translate({} {}) scale({} {})">"#,
            grey(line.shade),
            num(line.x),
            num(line.baseline),
            s,
            -s
        );
        let mut pen = 0.0f32;
        for c in line.text.chars() {
            let id = font.glyph_id(c);
            if let std::collections::btree_map::Entry::Vacant(slot) = glyphs.entry(id.0) {
                slot.insert(glyph_path(font, id));
            }
            if glyphs.get(&id.0).is_some_and(|d| !d.is_empty()) {
                let _ = writeln!(body, r##"<use xlink:href="#g{}" x="{}"/>"##, id.0, num(pen));
            }
            pen += font.h_advance_unscaled(id);
        }
        body.push_str("</g>\n");
    }

    let mut svg = String::with_capacity(body.len() + glyphs.len() * 600 + 512);
    let _ = writeln!(svg, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1" width="210mm" height="297mm" viewBox="0 0 {PAGE_WIDTH} {PAGE_HEIGHT}">"#
    );
    svg.push_str("<defs>\n");
    for (id, d) in glyphs.iter().filter(|(_, d)| !d.is_empty()) {
        let _ = writeln!(svg, r#"<path id="g{id}" d="{d}"/>"#);
    }
    svg.push_str("</defs>\n");
    let _ = writeln!(
        svg,
        r##"<rect width="{PAGE_WIDTH}" height="{PAGE_HEIGHT}" fill="#fff"/>"##
    );
    svg.push_str(&body);
    svg.push_str("</svg>\n");
    svg
}

/// The dark modules as one path, merging horizontal runs.
fn qr_path(qr: &QrPlacement) -> String {
    let width = qr.code.width();
    let colors = qr.code.to_colors();
    let m = qr.module_px;
    let origin_x = qr.x + QrPlacement::QUIET_ZONE * m;
    let origin_y = qr.y + QrPlacement::QUIET_ZONE * m;
    let mut d = String::new();
    for (row, modules) in colors.chunks(width.max(1)).enumerate() {
        let mut col = 0;
        while col < modules.len() {
            if modules[col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < modules.len() && modules[col] == Color::Dark {
                col += 1;
            }
            let x = origin_x + start as u32 * m;
            let y = origin_y + row as u32 * m;
            let w = (col - start) as u32 * m;
            let _ = write!(d, "M{x} {y}h{w}v{m}h-{w}z");
        }
    }
    format!("<path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"{d}\"/>\n")
}

/// The outline of glyph `id` in font units, y up; empty for blank glyphs.
fn glyph_path(font: &FontRef<'_>, id: ab_glyph::GlyphId) -> String {
    let Some(outline) = font.outline(id) else {
        return String::new();
    };
    let mut d = String::new();
    let mut last: Option<Point> = None;
    for curve in &outline.curves {
        match *curve {
            OutlineCurve::Line(p0, p1) => {
                move_to(&mut d, p0, &mut last);
                let _ = write!(d, "L{} {}", num(p1.x), num(p1.y));
                last = Some(p1);
            }
            OutlineCurve::Quad(p0, p1, p2) => {
                move_to(&mut d, p0, &mut last);
                let _ = write!(
                    d,
                    "Q{} {} {} {}",
                    num(p1.x),
                    num(p1.y),
                    num(p2.x),
                    num(p2.y)
                );
                last = Some(p2);
            }
            OutlineCurve::Cubic(p0, p1, p2, p3) => {
                move_to(&mut d, p0, &mut last);
                let _ = write!(
                    d,
                    "C{} {} {} {} {} {}",
                    num(p1.x),
                    num(p1.y),
                    num(p2.x),
                    num(p2.y),
                    num(p3.x),
                    num(p3.y)
                );
                last = Some(p3);
            }
        }
    }
    if last.is_some() {
        d.push('Z');
    }
    d
}

/// Starts a new contour at `p` unless the path already stands there.
fn move_to(d: &mut String, p: Point, last: &mut Option<Point>) {
    if last.is_none_or(|l| l != p) {
        if last.is_some() {
            d.push('Z');
        }
        let _ = write!(d, "M{} {}", num(p.x), num(p.y));
    }
}

/// `v` rounded to 0.1, without a trailing ".0".
fn num(v: f32) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// CSS colour of a grey level.
fn grey(shade: u8) -> String {
    format!("#{shade:02x}{shade:02x}{shade:02x}")
}
