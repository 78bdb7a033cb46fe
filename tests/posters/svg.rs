//! The SVG poster, rasterised in-process with `resvg` as a viewer would.

use checkin::posters::render_svg;
use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg::{Options, Tree};

use crate::helpers::{code, decode_all, spec};

#[test]
fn an_svg_poster_decodes_to_the_exact_code_after_rasterising() {
    let code = code();
    let svg = render_svg(&spec(&code)).expect("renders");
    let tree = Tree::from_str(&svg, &Options::default()).expect("resvg parses the SVG");
    // 210 mm x 297 mm at 150 dpi.
    let (width, height) = (1240, 1754);
    let mut pixmap = Pixmap::new(width, height).expect("pixmap");
    pixmap.fill(Color::WHITE);
    let size = tree.size();
    let scale = Transform::from_scale(width as f32 / size.width(), height as f32 / size.height());
    resvg::render(&tree, scale, &mut pixmap.as_mut());
    // Opaque white background, so the premultiplied red channel is the grey.
    let grey = image::GrayImage::from_fn(width, height, |x, y| {
        let p = pixmap.pixel(x, y).map_or(255, |p| p.red());
        image::Luma([p])
    });
    assert_eq!(decode_all(grey), vec![code]);
}
