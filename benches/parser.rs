//! Parser throughput: `cargo bench --bench parser`. No kernel involved: it parses an in-memory
//! table built from real kernel lines, so the number is the user-space cost per socket that
//! sockscope adds on top of the kernel's text formatting (about 1.8 µs per socket).

use std::hint::black_box;
use std::time::Instant;

use sockscope::internals::{Family, Line, Tally, TcpTable};

const V4: &str = include_str!("../tests/fixtures/loopback-mix/net/tcp");
const V6: &str = include_str!("../tests/fixtures/loopback-mix/net/tcp6");

/// A table of about `n` lines made by repeating the fixture's data lines.
fn table(fixture: &str, n: usize) -> Vec<u8> {
    let mut lines = fixture.lines();
    let header = lines.next().unwrap_or_default();
    let data: Vec<&str> = lines.collect();
    let mut out = format!("{header}\n").into_bytes();
    for line in data.iter().cycle().take(n) {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn bench(name: &str, text: &[u8], family: Family) {
    let lines = text.iter().filter(|&&b| b == b'\n').count() - 1;
    let mut best = f64::MAX;
    for _ in 0..15 {
        let start = Instant::now();
        let mut tally = Tally::default();
        for line in TcpTable::new(black_box(text), family) {
            if let Line::Socket(s) = line {
                tally.add(s.family, s.state);
            }
        }
        black_box(&tally);
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{name}: {lines} lines in {:.2} ms = {:.0} ns/line ({:.0} MB/s)",
        best * 1e3,
        best * 1e9 / lines as f64,
        text.len() as f64 / best / 1e6
    );
}

fn main() {
    bench("tcp  (IPv4)", &table(V4, 200_000), Family::Ipv4);
    bench("tcp6 (IPv6)", &table(V6, 200_000), Family::Ipv6);
}
