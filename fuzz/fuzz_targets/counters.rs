//! `/proc/net/netstat` and `/proc/net/snmp` header/value pairs: any bytes, never a panic, and
//! every name kept is `Group.Name` from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in sockscope::internals::parse_counters(data).keys() {
        assert!(name.contains('.'));
    }
});
