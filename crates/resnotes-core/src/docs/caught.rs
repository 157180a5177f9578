//! Panics inside Automerge on hostile input, caught where the engine calls it. A change from
//! another device can make Automerge's parser or `apply_changes` panic; the engine catches that
//! ([`catch`]) and leaves the change out. The binaries install [`quiet_caught_panics`] so such
//! a caught panic does not print a crash report on standard error; any other panic still does.

use std::cell::Cell;

thread_local! {
    /// True while this thread runs code under [`catch`].
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err` (the panic hook stays quiet for it once
/// [`quiet_caught_panics`] is installed).
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    let outer = CATCHING.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(outer));
    r
}

/// Installs a panic hook that logs (at debug level) the panics the engine catches and passes
/// every other panic to the hook installed before. Call once, at the start of a binary.
pub fn quiet_caught_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CATCHING.with(Cell::get) {
            tracing::debug!("caught a panic on hostile input: {info}");
        } else {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_an_error_and_the_flag_is_restored() {
        assert!(catch(|| panic!("hostile")).is_err());
        assert_eq!(catch(|| 5).unwrap(), 5);
        assert!(!CATCHING.with(Cell::get));
    }
}
