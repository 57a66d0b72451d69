//! A flow directory of one file: arbitrary bytes as `flows/main.toml`,
//! loaded, compiled, its diagnostics rendered, and when it compiles, drawn
//! and called through. Bytes that are not UTF-8 are read lossily (the
//! loader itself reports such a file as a read error and stops there).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use switchboard_fuzz::{after_compile, parse_files};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let set = parse_files([("main", text.as_ref())]);
    let compiled = switchboard::compile::compile(&set);
    after_compile(&set, &compiled, &mut Unstructured::new(data));
});
