//! Shared fixtures: a realistic spec, QR decoding, and running poppler's
//! command-line tools.

use std::path::Path;
use std::process::Command;

use checkin::posters::PosterSpec;
use image::GrayImage;

/// A realistic check-in URL: a compact JWS of 193 characters.
pub fn code() -> String {
    format!(
        "http://127.0.0.1:8080/s/{}.{}.{}",
        "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0",
        "eyJ2IjoiR0MtQzAwMSIsImciOiLljJfpl6giLCJuIjoxfQ",
        "CzBVep_E6Q4zWH2ix-wRNluApcrvFDleg6jN8hc8YYar0PUaP2SJrtP4HUJnjLHW-yBFao-02f4jSG2St9wBJg"
    )
}

/// A typical poster for the gate "北门" of a residential compound.
pub fn spec(code: &str) -> PosterSpec<'_> {
    PosterSpec {
        venue_name: "瑞祥小区",
        gate: "北门",
        instruction: "扫码进入 / 扫码离开 · 手机相机扫码也可以",
        community: Some("瑞祥社区居民委员会"),
        address: Some("北京市朝阳区瑞祥路18号（近地铁6号线）"),
        code,
        code_id: "GC-C001·北门·v1",
    }
}

/// Every QR code `rqrr` finds in `image`, decoded; a grid that is found but
/// does not decode shows up as an `Err:` entry, so a comparison with the
/// expected code fails with what went wrong.
pub fn decode_all(image: GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .map(|grid| match grid.decode() {
            Ok((_, text)) => text,
            Err(e) => format!("Err: {e:?}"),
        })
        .collect()
}

/// Runs poppler's `tool` with `args` and returns its standard output;
/// panics with an install hint if the tool is missing and with its
/// standard error if it fails.
pub fn poppler(tool: &str, args: &[&str]) -> String {
    let output = match Command::new(tool).args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed; these PDF tests need poppler's command-line tools \
             (Debian/Ubuntu: `apt-get install -y poppler-utils`)"
        ),
        Err(e) => panic!("could not run `{tool}`: {e}"),
    };
    assert!(
        output.status.success(),
        "`{tool}` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes `pdf` to `dir/name` and returns the path, as a command argument.
pub fn write_pdf(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, pdf).expect("writes the PDF");
    path.to_str().expect("temporary paths are UTF-8").to_owned()
}
