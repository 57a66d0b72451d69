//! A flow directory of several files: the input is split at NUL bytes
//! (which TOML text cannot hold) into at most 12 files; each part's first
//! line is the file's stem (its flow name), the rest its text. Loaded,
//! compiled, rendered and called through like `flow_file`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use switchboard_fuzz::{after_compile, parse_files};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files: Vec<(&str, &str)> = text
        .split('\0')
        .take(12)
        .map(|part| part.split_once('\n').unwrap_or((part, "")))
        .collect();
    let set = parse_files(files);
    let compiled = switchboard::compile::compile(&set);
    after_compile(&set, &compiled, &mut Unstructured::new(data));
});
