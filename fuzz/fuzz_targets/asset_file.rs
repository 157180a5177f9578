//! Asset files as they come from a shared folder or server, and `asset:///` links in note text.
#![no_main]
use libfuzzer_sys::fuzz_target;

const IDENTITY: &str = include_str!("../../vectors/identity.txt");

fuzz_target!(|data: &[u8]| resnotes_core::fuzzing::asset_file(IDENTITY, data));
