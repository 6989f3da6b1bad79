//! sock_diag replies: one `recv` buffer of netlink messages, and a bare `inet_diag_msg`. Never a
//! panic, and never more sockets than messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope::internals::{parse_msg, walk_messages};

fuzz_target!(|data: &[u8]| {
    let _ = parse_msg(data, 100);
    let mut seen = 0u64;
    if let Ok((count, _)) = walk_messages(data, 100, &mut |_| seen += 1) {
        assert_eq!(count, seen);
        assert!(count as usize <= data.len() / 16);
    }
});
