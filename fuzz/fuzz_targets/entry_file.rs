//! Entry files as they come from a shared folder or server, opened with the vectors' key.
#![no_main]
use libfuzzer_sys::fuzz_target;

const IDENTITY: &str = include_str!("../../vectors/identity.txt");

fuzz_target!(|data: &[u8]| resnotes_core::fuzzing::entry_file(IDENTITY, data));
