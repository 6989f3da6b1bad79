//! The sysctl values read (`ip_local_port_range`, `ip_local_reserved_ports`, `tcp_mem`, plain
//! numbers): any text, never a panic; a port range read is never reversed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let (range, _, _, _) = sockscope::internals::parse_sysctls(text);
    if let Some((lo, hi)) = range {
        assert!(lo <= hi);
    }
});
