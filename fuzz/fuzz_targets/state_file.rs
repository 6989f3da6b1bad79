//! The state file `check --state-file` reads: any bytes are used, or reported and replaced,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sockscope::internals::parse_state(data);
});
