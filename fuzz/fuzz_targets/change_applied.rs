//! See resnotes_core::fuzzing::change_applied (run under a memory limit by scripts/fuzz).
//!
//! libFuzzer's panic hook aborts on every panic, even one the engine catches (it catches
//! Automerge's panics on hostile changes and leaves those changes out). The default hook is put
//! back so that only a panic reaching this harness is a crash.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| resnotes_core::fuzzing::change_applied(data)
);
