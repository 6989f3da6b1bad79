//! sock_diag replies that carry `tcp_info` (`INET_DIAG_INFO`): the attributes after a bare
//! `inet_diag_msg`, and a `recv` buffer walked with and without the extension. Never a panic,
//! never a read past the input, and asking for `tcp_info` never changes which sockets come out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockscope::internals::{tcp_info_of, walk_messages, walk_messages_info};

fuzz_target!(|data: &[u8]| {
    if tcp_info_of(data).is_some() {
        // What was found lies inside the input: more bytes after it change nothing.
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0xff; 8]);
        assert_eq!(tcp_info_of(&longer), tcp_info_of(data));
    }
    let mut plain = Vec::new();
    let counted = walk_messages(data, 100, &mut |s| plain.push(*s));
    let mut with = Vec::new();
    let walked = walk_messages_info(data, 100, &mut |s, _| with.push(*s));
    assert_eq!(counted.is_ok(), walked.is_ok());
    if let (Ok(a), Ok(b)) = (counted, walked) {
        assert_eq!(a, b);
    }
    assert_eq!(plain, with);
});
