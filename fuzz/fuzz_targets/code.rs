//! The text read off a poster, as `POST /scans` verifies it: the URL, the token's header and
//! claims. Inputs are not signed by the key in use, so this reaches everything before the
//! signature check and the check itself; no input may panic.
#![no_main]

use std::sync::OnceLock;

use checkin::codes::keyring::KeyRing;
use checkin::codes::keys::CodeKey;
use checkin::codes::{CodeSigner, PublicBaseUrl};
use libfuzzer_sys::fuzz_target;

fn signer() -> &'static CodeSigner {
    static SIGNER: OnceLock<CodeSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let base = PublicBaseUrl::parse("https://checkin.example.cn").expect("a base URL");
        let key = CodeKey::generate().expect("a key");
        CodeSigner::new(base, KeyRing::fixed(key)).expect("a signer")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = signer().verify(text);
    }
});
