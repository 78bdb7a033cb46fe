//! Black-box tests of the poster renderers (`checkin::posters`): the PDF
//! and SVG posters are rasterised the way a printer or viewer would
//! (poppler's `pdftoppm`, `resvg`) and their QR codes decoded with `rqrr`;
//! the PNG poster is damaged the way printing, photographing and
//! re-encoding damage it, and must still decode to the exact code.
//!
//! The PDF tests need poppler-utils (`pdftoppm`, `pdffonts`, `pdfinfo`,
//! `pdftotext`; Debian: `apt-get install -y poppler-utils`); without them
//! they fail, saying so, rather than skip.

mod batch;
mod damage;
mod helpers;
mod pdf;
mod svg;
