//! `/proc/net/sockstat`: any text gives counts or `None`, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = sockscope::internals::parse_sockstat(text);
});
