//! Page layout of a poster: where each line of text, the QR code and the
//! rules go, independent of how they are finally drawn (PNG or SVG).
//!
//! All coordinates are pixels on a portrait A4 page at 150 dpi
//! ([`PAGE_WIDTH`] x [`PAGE_HEIGHT`]), origin top-left, y growing downwards.
//! Text sizes are em sizes in pixels (see [`super::font`]).
//!
//! The page is built in three stacks so that nothing can overlap:
//! the venue name and gate hang from the top margin, community and address
//! stand on the bottom margin, and the QR code with its id and the
//! instruction line is centred in what is left between them. The QR code
//! gets all the height the text does not need (up to [`QR_MAX_SIDE`]), with
//! a whole number of pixels per module so that modules stay crisp.
//!
//! Every text field is fitted by trying, in order, a list of [`Fit`]s (a line
//! count with a range of em sizes), largest size first; lines break between
//! CJK characters and at spaces, never inside a run of Latin letters/digits
//! unless that run alone is wider than the line, never before closing
//! punctuation and never after opening punctuation. A wrapped field keeps
//! the fewest lines that fit, with the breaks that make them most even,
//! preferring breaks at the spaces the text has. A field that fits none of
//! its options is [`PosterError::TextTooLong`], never clipped.

use ab_glyph::FontRef;
use qrcode::{EcLevel, QrCode};

use super::font::{advance_units, units_per_em, EM_BOX_BOTTOM, EM_BOX_TOP};
use super::{PosterError, PosterSpec};

/// Page width in pixels (A4 at 150 dpi).
pub(crate) const PAGE_WIDTH: u32 = 1240;
/// Page height in pixels (A4 at 150 dpi).
pub(crate) const PAGE_HEIGHT: u32 = 1754;
/// Print resolution the page size is meant for, in dots per inch.
pub(crate) const DPI: u32 = 150;

/// Left and right margin for text, in pixels.
const MARGIN_X: f32 = 100.0;
/// Width available to a line of text, in pixels.
const CONTENT_WIDTH: f32 = PAGE_WIDTH as f32 - 2.0 * MARGIN_X;
/// Top of the venue name's em box, in pixels from the top edge.
const TOP: f32 = 110.0;
/// Lowest point (em box bottom) of the last footer line.
const BOTTOM: f32 = PAGE_HEIGHT as f32 - 105.0;
/// Baseline-to-baseline distance of wrapped lines, in em.
const LINE_PITCH: f32 = 1.25;
/// Largest side of the QR image (quiet zone included), in pixels.
pub(crate) const QR_MAX_SIDE: u32 = 940;
/// Modules narrower than this many pixels make level Q give way to level M
/// when M gets wider modules.
const QR_PREFERRED_MODULE_PX: u32 = 6;
/// Narrowest module, in pixels (0.68 mm at 150 dpi), printed at all.
pub(crate) const QR_MIN_MODULE_PX: u32 = 4;
/// Inset of the thin cut frame drawn round the page, in pixels.
pub(crate) const FRAME_INSET: u32 = 40;
/// Thickness of the cut frame, in pixels.
pub(crate) const FRAME_WIDTH: u32 = 2;

/// One way a text field may be set: at most `lines` lines, em size from
/// `max_em` down to `min_em` pixels.
#[derive(Clone, Copy)]
struct Fit {
    lines: usize,
    max_em: f32,
    min_em: f32,
}

const fn fit(lines: usize, max_em: f32, min_em: f32) -> Fit {
    Fit {
        lines,
        max_em,
        min_em,
    }
}

/// Venue name: one line shrinking to 88 px, else two, else three.
const TITLE_FITS: &[Fit] = &[fit(1, 124.0, 88.0), fit(2, 96.0, 56.0), fit(3, 60.0, 40.0)];
const GATE_FITS: &[Fit] = &[fit(1, 76.0, 52.0), fit(2, 52.0, 36.0)];
const CODE_ID_FITS: &[Fit] = &[fit(1, 32.0, 24.0), fit(2, 26.0, 20.0)];
const INSTRUCTION_FITS: &[Fit] = &[fit(1, 46.0, 36.0), fit(2, 42.0, 30.0), fit(3, 32.0, 24.0)];
const FOOTER_FITS: &[Fit] = &[fit(1, 30.0, 24.0), fit(2, 28.0, 22.0), fit(3, 24.0, 20.0)];
/// Step between em sizes tried, in pixels.
const EM_STEP: f32 = 2.0;

/// Grey levels (0 black, 255 white).
const INK: u8 = 0;
const SECONDARY_INK: u8 = 64;
const RULE_INK: u8 = 170;

/// One line of text, placed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextLine {
    /// The characters drawn (whitespace already normalised to single spaces).
    pub text: String,
    /// Left edge of the first glyph's advance box, pixels.
    pub x: f32,
    /// Baseline, pixels from the top edge.
    pub baseline: f32,
    /// Em size, pixels.
    pub em: f32,
    /// Sum of the glyph advances, pixels.
    pub width: f32,
    /// Grey level of the ink.
    pub shade: u8,
}

impl TextLine {
    /// Top of the ideographic em box, pixels.
    #[cfg(test)]
    pub(crate) fn top(&self) -> f32 {
        self.baseline - EM_BOX_TOP * self.em
    }

    /// Bottom of the ideographic em box, pixels.
    #[cfg(test)]
    pub(crate) fn bottom(&self) -> f32 {
        self.baseline + EM_BOX_BOTTOM * self.em
    }
}

/// A filled axis-aligned rectangle, pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub shade: u8,
}

/// The QR code and where its image (quiet zone included) goes.
pub(crate) struct QrPlacement {
    pub code: QrCode,
    /// Left edge of the quiet zone, pixels.
    pub x: u32,
    /// Top edge of the quiet zone, pixels.
    pub y: u32,
    /// Side of one module, pixels.
    pub module_px: u32,
}

impl QrPlacement {
    /// Quiet zone width in modules (4 for a normal QR code).
    pub(crate) const QUIET_ZONE: u32 = 4;

    /// Side of the whole QR image including the quiet zone, pixels.
    #[cfg(test)]
    pub(crate) fn side(&self) -> u32 {
        total_modules(&self.code) * self.module_px
    }
}

/// A fully laid-out poster.
pub(crate) struct Plan {
    pub texts: Vec<TextLine>,
    pub rules: Vec<Rule>,
    pub qr: QrPlacement,
}

/// Lays out `spec` on the page.
///
/// # Errors
/// [`PosterError::TextTooLong`] when a field cannot be set without clipping,
/// [`PosterError::Qr`] when `spec.code` cannot be encoded at all, and
/// [`PosterError::CodeTooLong`] when its modules would be too small to print.
pub(crate) fn plan(spec: &PosterSpec<'_>, font: &FontRef<'_>) -> Result<Plan, PosterError> {
    let title = Block::fit(font, "venue_name", spec.venue_name, TITLE_FITS)?;
    // The gate never outgrows the venue name: at most 80 % of its size.
    let gate_factor = if title.is_empty() {
        1.0
    } else {
        (0.8 * title.em / GATE_FITS[0].max_em).min(1.0)
    };
    let gate_fits: Vec<Fit> = GATE_FITS
        .iter()
        .map(|f| fit(f.lines, f.max_em * gate_factor, f.min_em * gate_factor))
        .collect();
    let gate = Block::fit(font, "gate", spec.gate, &gate_fits)?;
    let code_id = Block::fit(font, "code_id", spec.code_id, CODE_ID_FITS)?;
    let instruction = Block::fit(font, "instruction", spec.instruction, INSTRUCTION_FITS)?;
    let community = Block::fit(font, "community", spec.community.unwrap_or(""), FOOTER_FITS)?;
    let address = Block::fit(font, "address", spec.address.unwrap_or(""), FOOTER_FITS)?;

    let mut texts = Vec::new();
    let mut rules = vec![
        // Thin cut frame round the page.
        Rule {
            x: FRAME_INSET,
            y: FRAME_INSET,
            w: PAGE_WIDTH - 2 * FRAME_INSET,
            h: FRAME_WIDTH,
            shade: RULE_INK,
        },
        Rule {
            x: FRAME_INSET,
            y: PAGE_HEIGHT - FRAME_INSET - FRAME_WIDTH,
            w: PAGE_WIDTH - 2 * FRAME_INSET,
            h: FRAME_WIDTH,
            shade: RULE_INK,
        },
        Rule {
            x: FRAME_INSET,
            y: FRAME_INSET,
            w: FRAME_WIDTH,
            h: PAGE_HEIGHT - 2 * FRAME_INSET,
            shade: RULE_INK,
        },
        Rule {
            x: PAGE_WIDTH - FRAME_INSET - FRAME_WIDTH,
            y: FRAME_INSET,
            w: FRAME_WIDTH,
            h: PAGE_HEIGHT - 2 * FRAME_INSET,
            shade: RULE_INK,
        },
    ];

    // Top stack: venue name, gate.
    let mut y = TOP;
    let mut top_used = false;
    for (block, gap, shade) in [(&title, 0.0, INK), (&gate, 0.5, INK)] {
        if block.is_empty() {
            continue;
        }
        if top_used {
            y += gap * block.em;
        }
        y = block.place(&mut texts, y, shade);
        top_used = true;
    }
    let top_end = if top_used { y } else { TOP - 40.0 };

    // Bottom stack: community, address, standing on BOTTOM.
    let footer: Vec<&Block> = [&community, &address]
        .into_iter()
        .filter(|b| !b.is_empty())
        .collect();
    let footer_gap = 14.0;
    let footer_height: f32 = footer.iter().map(|b| b.height()).sum::<f32>()
        + footer_gap * footer.len().saturating_sub(1) as f32;
    let middle_bottom = if footer.is_empty() {
        BOTTOM
    } else {
        let mut fy = BOTTOM - footer_height;
        let rule_y = fy - 32.0;
        rules.push(Rule {
            x: MARGIN_X as u32,
            y: rule_y.round() as u32,
            w: CONTENT_WIDTH as u32,
            h: 2,
            shade: RULE_INK,
        });
        for (i, block) in footer.iter().enumerate() {
            if i > 0 {
                fy += footer_gap;
            }
            fy = block.place(&mut texts, fy, SECONDARY_INK);
        }
        rule_y - 20.0
    };

    // Middle stack: QR (its quiet zone is white space already), code id,
    // instruction; centred between the other two stacks.
    let middle_top = top_end + 24.0;
    let code_id_gap = 6.0;
    let instruction_gap = 0.7 * instruction.em;
    let mut fixed = 0.0;
    if !code_id.is_empty() {
        fixed += code_id_gap + code_id.height();
    }
    if !instruction.is_empty() {
        fixed += instruction_gap + instruction.height();
    }
    let room = (middle_bottom - middle_top - fixed).floor();
    let side_max = room.min(QR_MAX_SIDE as f32).max(0.0) as u32;
    let (code, module_px) = choose_qr(spec.code, side_max)?;
    let side = total_modules(&code) * module_px;
    let stack = side as f32 + fixed;
    let qr_top = (middle_top + ((middle_bottom - middle_top) - stack) / 2.0).round();
    let qr = QrPlacement {
        code,
        x: (PAGE_WIDTH - side) / 2,
        y: qr_top.max(0.0) as u32,
        module_px,
    };
    let mut y = qr_top + side as f32;
    if !code_id.is_empty() {
        y = code_id.place(&mut texts, y + code_id_gap, SECONDARY_INK);
    }
    if !instruction.is_empty() {
        instruction.place(&mut texts, y + instruction_gap, INK);
    }

    Ok(Plan { texts, rules, qr })
}

/// Modules across the QR image, quiet zone included.
fn total_modules(code: &QrCode) -> u32 {
    code.width() as u32 + 2 * QrPlacement::QUIET_ZONE
}

/// Encodes `data` at level Q, or at level M when that gives visibly larger
/// modules in `side_max` pixels, and picks the module size.
fn choose_qr(data: &str, side_max: u32) -> Result<(QrCode, u32), PosterError> {
    let module_px = |code: &QrCode| side_max / total_modules(code);
    let q = match QrCode::with_error_correction_level(data, EcLevel::Q) {
        Ok(code) => {
            let px = module_px(&code);
            if px >= QR_PREFERRED_MODULE_PX {
                return Ok((code, px));
            }
            Some((code, px))
        }
        Err(qrcode::types::QrError::DataTooLong) => None,
        Err(e) => return Err(PosterError::Qr(e)),
    };
    let m = QrCode::with_error_correction_level(data, EcLevel::M)?;
    let m_px = module_px(&m);
    let (code, px) = match q {
        Some((q, q_px)) if q_px >= m_px => (q, q_px),
        _ => (m, m_px),
    };
    if px < QR_MIN_MODULE_PX {
        return Err(PosterError::CodeTooLong {
            len: data.len(),
            modules: code.width() as u32,
        });
    }
    Ok((code, px))
}

/// A text field set in lines at one em size.
struct Block {
    em: f32,
    /// Line text and its width in pixels.
    lines: Vec<(String, f32)>,
}

impl Block {
    /// Fits `text` into [`CONTENT_WIDTH`] by the first of `fits` that works.
    /// Empty (or all-whitespace) text gives an empty block.
    fn fit(
        font: &FontRef<'_>,
        field: &'static str,
        text: &str,
        fits: &[Fit],
    ) -> Result<Block, PosterError> {
        let pieces = pieces(font, text);
        if pieces.is_empty() {
            return Ok(Block {
                em: 0.0,
                lines: Vec::new(),
            });
        }
        let upem = units_per_em(font);
        let space = advance_units(font, ' ');
        for f in fits {
            let mut em = f.max_em;
            while em >= f.min_em - 1e-3 {
                let max_units = CONTENT_WIDTH * upem / em;
                if let Some(lines) = wrap(&pieces, max_units, space, f.lines, upem) {
                    let lines = lines.into_iter().map(|(t, u)| (t, u * em / upem)).collect();
                    return Ok(Block { em, lines });
                }
                em -= EM_STEP;
            }
        }
        Err(PosterError::TextTooLong {
            field,
            text: text.to_owned(),
        })
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Height from the first line's em-box top to the last line's em-box
    /// bottom, pixels.
    fn height(&self) -> f32 {
        if self.lines.is_empty() {
            return 0.0;
        }
        ((self.lines.len() - 1) as f32 * LINE_PITCH + EM_BOX_TOP + EM_BOX_BOTTOM) * self.em
    }

    /// Places the lines, centred, with the first em box top at `top`;
    /// returns the last em box bottom.
    fn place(&self, out: &mut Vec<TextLine>, top: f32, shade: u8) -> f32 {
        let mut baseline = top + EM_BOX_TOP * self.em;
        for (text, width) in &self.lines {
            out.push(TextLine {
                text: text.clone(),
                x: ((PAGE_WIDTH as f32 - width) / 2.0).round(),
                baseline: baseline.round(),
                em: self.em,
                width: *width,
                shade,
            });
            baseline += LINE_PITCH * self.em;
        }
        top + self.height()
    }
}

/// An unbreakable run of characters with the advance of each, font units.
#[derive(Debug, Clone)]
struct Piece {
    chars: Vec<(char, f32)>,
    units: f32,
    /// A space separates this piece from the previous one (a break there
    /// costs nothing).
    space_before: bool,
}

/// A character that belongs to a word not to be broken (Latin, digits,
/// ASCII symbols, Greek, Cyrillic...).
fn is_word_char(c: char) -> bool {
    c.is_ascii_graphic() || (c.is_alphanumeric() && (c as u32) < 0x2E80)
}

/// Punctuation that must not start a line.
fn is_closing(c: char) -> bool {
    "，。、：；！？）》」』】〕〉…·・%,.;:!?)]}’”～".contains(c)
}

/// Punctuation that must not end a line.
fn is_opening(c: char) -> bool {
    "（《「『【〔〈‘“([{".contains(c)
}

/// Splits `text` into unbreakable pieces. Runs of whitespace are spaces
/// between pieces; leading and trailing whitespace is dropped.
fn pieces(font: &FontRef<'_>, text: &str) -> Vec<Piece> {
    let space = advance_units(font, ' ');
    let mut out: Vec<Piece> = Vec::new();
    for (w, word) in text.split_whitespace().enumerate() {
        let mut prev: Option<char> = None;
        for c in word.chars() {
            let joins = match prev {
                Some(p) => (is_word_char(p) && is_word_char(c)) || is_closing(c) || is_opening(p),
                // Closing punctuation after a space stays with the word
                // before it rather than starting a line ("开始 · 结束").
                None if w > 0 && is_closing(c) => {
                    if let Some(piece) = out.last_mut() {
                        piece.chars.push((' ', space));
                        piece.units += space;
                    }
                    true
                }
                None => false,
            };
            let u = advance_units(font, c);
            match out.last_mut() {
                Some(piece) if joins => {
                    piece.chars.push((c, u));
                    piece.units += u;
                }
                _ => out.push(Piece {
                    chars: vec![(c, u)],
                    units: u,
                    space_before: prev.is_none() && w > 0,
                }),
            }
            prev = Some(c);
        }
    }
    out
}

/// Tolerance for width comparisons, font units.
const EPS: f32 = 1e-3;

/// Cost, in em², of a line break that is not at a space (between two CJK
/// characters, say); a line's cost is otherwise the square of its unused
/// width in em, so a break at a space wins unless it leaves lines more than
/// about 6 em more uneven.
const BREAK_PENALTY: f32 = 40.0;

/// `pieces` with every piece wider than `max_units` cut into single
/// characters (its spaces becoming break opportunities).
fn expand(pieces: &[Piece], max_units: f32) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pieces.len());
    for p in pieces {
        if p.units <= max_units + EPS {
            out.push(p.clone());
            continue;
        }
        let mut space_before = p.space_before;
        for &(c, u) in &p.chars {
            if c == ' ' {
                space_before = true;
                continue;
            }
            out.push(Piece {
                chars: vec![(c, u)],
                units: u,
                space_before,
            });
            space_before = false;
        }
    }
    out
}

/// Sets `pieces` in as few lines as fit in `max_units` (at most
/// `max_lines`), choosing the breaks that make the lines most even while
/// preferring breaks at spaces. Returns (text, width in font units) per
/// line, or `None` when the text does not fit.
fn wrap(
    pieces: &[Piece],
    max_units: f32,
    space: f32,
    max_lines: usize,
    upem: f32,
) -> Option<Vec<(String, f32)>> {
    let pieces = expand(pieces, max_units);
    let n = pieces.len();
    if n == 0 {
        return Some(Vec::new());
    }
    if pieces.iter().any(|p| p.units > max_units + EPS) {
        return None; // a single character wider than the line
    }
    // Prefix sums: units of pieces[..k], and spaces before pieces[..k].
    let mut units = vec![0.0f32; n + 1];
    let mut spaces = vec![0usize; n + 1];
    for (k, p) in pieces.iter().enumerate() {
        units[k + 1] = units[k] + p.units;
        spaces[k + 1] = spaces[k] + usize::from(p.space_before);
    }
    // Width of a line holding pieces[i..j] (spaces inside it only).
    let width =
        |i: usize, j: usize| units[j] - units[i] + space * (spaces[j] - spaces[i + 1]) as f32;

    // Greedy filling gives the fewest lines.
    let mut count = 1;
    let mut start = 0;
    for j in 1..n {
        if width(start, j + 1) > max_units + EPS {
            count += 1;
            start = j;
        }
    }
    if count > max_lines {
        return None;
    }

    // cost[l][j]: least cost of setting pieces[..j] in l lines; from[l][j]
    // the start of the last of those lines.
    let mut cost = vec![vec![f32::INFINITY; n + 1]; count + 1];
    let mut from = vec![vec![0usize; n + 1]; count + 1];
    cost[0][0] = 0.0;
    for l in 1..=count {
        for j in l..=n {
            for i in (l - 1..j).rev() {
                let w = width(i, j);
                if w > max_units + EPS {
                    break; // wider still for smaller i
                }
                if !cost[l - 1][i].is_finite() {
                    continue;
                }
                let slack = (max_units - w) / upem;
                let penalty = if j < n && !pieces[j].space_before {
                    BREAK_PENALTY
                } else {
                    0.0
                };
                let c = cost[l - 1][i] + slack * slack + penalty;
                if c < cost[l][j] {
                    cost[l][j] = c;
                    from[l][j] = i;
                }
            }
        }
    }
    if !cost[count][n].is_finite() {
        return None;
    }
    let mut lines = Vec::with_capacity(count);
    let mut j = n;
    for l in (1..=count).rev() {
        let i = from[l][j];
        let mut text = String::new();
        for (k, p) in pieces[i..j].iter().enumerate() {
            if k > 0 && p.space_before {
                text.push(' ');
            }
            text.extend(p.chars.iter().map(|(c, _)| *c));
        }
        lines.push((text, width(i, j)));
        j = i;
    }
    lines.reverse();
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_q_is_chosen_for_a_url_and_m_when_q_would_make_modules_too_small() {
        let url = "http://127.0.0.1:8080/s/".to_owned() + &"a".repeat(170);
        let (code, px) = choose_qr(&url, 900).expect("encodes");
        assert_eq!(code.error_correction_level(), EcLevel::Q);
        assert_eq!(px, 900 / total_modules(&code));
        let (code, _) = choose_qr(&"x".repeat(1000), 700).expect("encodes");
        assert_eq!(code.error_correction_level(), EcLevel::M);
    }

    #[test]
    fn a_code_whose_modules_would_be_too_small_to_print_is_an_error() {
        let result = choose_qr(&"x".repeat(2000), 600);
        assert!(matches!(
            result,
            Err(PosterError::CodeTooLong { len: 2000, .. })
        ));
    }
}
