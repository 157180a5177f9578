//! See resnotes_core::fuzzing::import_file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| resnotes_core::fuzzing::import_file(data));
