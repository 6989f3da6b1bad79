//! Nagios ranges (`--warn`, `--crit`, the config): any text parses or gives a message naming
//! it; a parsed range prints back to one that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope::internals::Range;

fuzz_target!(|text: &str| {
    match text.parse::<Range>() {
        Ok(range) => {
            let again: Range = range.to_string().parse().expect("a printed range parses");
            assert_eq!(again, range);
            for v in [-1.0, 0.0, 1.0, 1e300] {
                let _ = range.alerts(v);
            }
        }
        Err(e) => assert!(e.contains("invalid range")),
    }
});
