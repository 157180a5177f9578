//! Pack files (FORMAT.md §11) as they come from a shared folder or server.
#![no_main]
use libfuzzer_sys::fuzz_target;

const IDENTITY: &str = include_str!("../../vectors/identity.txt");

fuzz_target!(|data: &[u8]| resnotes_core::fuzzing::pack_file(IDENTITY, data));
