//! `/proc/net/tcp{,6}`: the first byte picks the family, the rest is the table. Every line must
//! come back as a socket, a skipped line or a read failure, never a panic; and the sockets plus
//! the skipped lines never outnumber the lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope::internals::{Family, Line, TcpTable};

fuzz_target!(|data: &[u8]| {
    let Some((&first, table)) = data.split_first() else {
        return;
    };
    let family = if first & 1 == 0 {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let lines = table.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut items = 0;
    for line in TcpTable::new(table, family) {
        items += 1;
        if let Line::Socket(s) = line {
            assert_eq!(s.family, family);
        }
    }
    assert!(items <= lines);
});
