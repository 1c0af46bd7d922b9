//! The OAUTHBEARER error challenge of a refused token (RFC 7628 3.2.2), turned into the text
//! of the authentication error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = kafkit::fuzzing::oauth_error(data);
    // Whatever the peer sends, the message stays short and free of control characters.
    assert!(text.len() <= 4096, "{} bytes", text.len());
    assert!(!text.chars().any(char::is_control));
});
