//! The watch screen over a sequence of refreshes of a fake /proc whose tables change between
//! them: CLOSE_WAIT rising, a finding appearing, growing, and clearing. Each screen is a golden
//! file at 60, 100 and 160 columns, so layout changes are reviewed like other golden output.
//! The refreshes are real (`Session::refresh`, the pipeline); only the clock is pinned.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::session::{Panel, Session};
use crate::alert::config::Config;
use crate::collect::{Source, SourceKind};
use crate::filter::Filter;
use crate::model::TcpState;
use crate::pipeline::{History, Plan, Request, Scope};
use crate::render;
use crate::report::GroupKey;
use crate::report::watch::{Record, Refresh, WatchView};

const PID: u32 = 4242;

/// `/proc` with `established` connections on :8080 from 10.0.0.9 and `close_wait` on :8080 from
/// 10.0.0.5, all held by `comm`[4242] (bytes, as the kernel keeps them); CLOSE_WAIT inodes stay
/// the same from tree to tree.
fn tree(root: &Path, established: u32, close_wait: u32, comm: &[u8]) {
    let _ = fs::remove_dir_all(root);
    fs::create_dir_all(root.join("net")).unwrap();
    let mut lines = vec![
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".to_string(),
        "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 100 1 0000000000000000 100 0 0 10 0".to_string(),
    ];
    let mut inodes = vec![100];
    let mut add = |peer: &str, port: u32, state: u8, rx: u32, inode: u32| {
        let sl = lines.len() - 1;
        lines.push(format!(
            "{sl:4}: 0100007F:1F90 {peer}:{port:04X} {state:02X} 00000000:{rx:08X} 00:00000000 00000000  1000        0 {inode} 1 0000000000000000 20 4 30 10 -1"
        ));
        inodes.push(inode);
    };
    for i in 0..established {
        add("0900000A", 50000 + i, 0x01, 0, 2000 + i);
    }
    for i in 0..close_wait {
        add("0500000A", 40000 + i, 0x08, 1, 1000 + i);
    }
    fs::write(root.join("net/tcp"), lines.join("\n") + "\n").unwrap();
    fs::write(
        root.join("net/tcp6"),
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    )
    .unwrap();
    let fd = root.join(PID.to_string()).join("fd");
    fs::create_dir_all(&fd).unwrap();
    for (i, inode) in inodes.iter().enumerate() {
        symlink(format!("socket:[{inode}]"), fd.join((i + 3).to_string())).unwrap();
    }
    let stat = [
        format!("{PID} (").as_bytes(),
        comm,
        format!(") S 1 {PID} {PID} 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 12345 3133440 352 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n").as_bytes(),
    ]
    .concat();
    fs::write(fd.with_file_name("stat"), stat).unwrap();
    let limits = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/limits.txt");
    fs::copy(limits, fd.with_file_name("limits")).unwrap();
}

/// (ESTABLISHED, CLOSE_WAIT) per refresh: quiet, the excess appears, it keeps growing (the
/// two-run rule joins), the application is restarted and both clear.
const SEQUENCE: [(u32, u32); 4] = [(40, 5), (40, 25), (40, 45), (40, 0)];

/// Runs the sequence; pins what depends on the clock so screens are stable, after checking it.
fn refreshes(by: GroupKey) -> Vec<Refresh> {
    refreshes_of(by, b"java")
}

/// The sequence, with the process named `comm`.
fn refreshes_of(by: GroupKey, comm: &[u8]) -> Vec<Refresh> {
    // A fixed-length path under /tmp (whatever TMPDIR says): the next steps name it, and the
    // screens wrap around it; the snapshots mask its random part.
    let dir = tempfile::Builder::new()
        .prefix("w")
        .rand_bytes(6)
        .tempdir_in("/tmp")
        .unwrap();
    let root = dir.path().join("proc");
    let scope = Scope {
        filter: Filter::default(),
        source: Source::new(&root, None, SourceKind::Proc),
        no_processes: false,
        namespaces: crate::pipeline::Namespaces::Own,
        host_root: "/".into(),
    };
    let plan = Plan {
        diagnose: true,
        history: Some(History {
            previous: None,
            stuck_after: 300,
        }),
        ..Plan::default()
    };
    let mut session = Session::new(Request {
        scope,
        plan,
        config: Config::default(),
    });
    let started = SystemTime::now();
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
    let mut out = Vec::new();
    for (i, &(established, close_wait)) in SEQUENCE.iter().enumerate() {
        tree(&root, established, close_wait, comm);
        let panel = Panel {
            state: TcpState::CloseWait,
            by,
        };
        let mut r = session.refresh(Some(panel)).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let elapsed = started.elapsed().unwrap().as_secs() + 1;
        let pinned = 2 * i as u64;
        r.report.collected_at = base + Duration::from_secs(pinned);
        r.report.collection.duration = Duration::from_micros(1500);
        if let Some((age, since_start)) = &mut r.oldest[0] {
            // Every CLOSE_WAIT socket of the first tree is still there.
            assert!(*since_start && *age <= elapsed, "{age} {elapsed}");
            *age = pinned;
        }
        for row in &mut r.culprits.as_mut().unwrap().rows {
            if let Some(age) = &mut row.oldest_s {
                assert!(row.since_start && *age <= elapsed);
                *age = pinned;
            }
        }
        out.push(r);
    }
    out
}

fn screen(view: &WatchView, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| render::watch::draw(frame, view))
        .unwrap();
    terminal.backend().to_string()
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"/tmp/w[A-Za-z0-9]{6}/", "/tmp/wXXXXXX/");
    s
}

#[test]
fn screens_over_a_rising_and_clearing_leak() {
    let refreshes = refreshes(GroupKey::Process);
    let ids: Vec<Vec<&str>> = refreshes
        .iter()
        .map(|r| r.report.findings.iter().map(|f| f.id).collect())
        .collect();
    assert_eq!(
        ids,
        vec![
            vec![],
            vec!["close_wait_excess"],
            vec!["close_wait_growing", "close_wait_excess"],
            vec![],
        ]
    );
    for (width, height) in [(60, 40), (100, 34), (120, 34), (160, 30)] {
        let mut view = WatchView::new(Duration::from_secs(2), GroupKey::Process, false);
        for (step, r) in refreshes.iter().enumerate() {
            view.record(r.clone());
            let name = format!("watch_screen_{width}_step{}", step + 1);
            settings().bind(|| insta::assert_snapshot!(name, screen(&view, width, height)));
        }
    }
}

#[test]
fn screen_keys_states_ports_pause_and_prompt() {
    let refreshes = refreshes(GroupKey::LocalPort);
    let mut view = WatchView::new(Duration::from_secs(5), GroupKey::LocalPort, false);
    for r in &refreshes[..3] {
        view.record(r.clone());
    }
    view.all_states = true;
    view.paused = true;
    view.finding = 1;
    view.message = Some("snapshot written to /tmp/sockscope-watch.json".into());
    settings().bind(|| insta::assert_snapshot!("watch_screen_100_keys", screen(&view, 100, 40)));
    view.prompt = Some(crate::report::watch::Prompt {
        text: "state close-wait port 99999".into(),
        cursor: 27,
        error: Some("invalid value '99999' for '--port <PORT>'".into()),
    });
    let prompt = screen(&view, 60, 40);
    assert!(
        prompt.contains("filter> state close-wait port 99999 "),
        "{prompt}"
    );
    assert!(prompt.contains("invalid value '99999'"), "{prompt}");
}

#[test]
fn records_over_the_sequence() {
    let refreshes = refreshes(GroupKey::Process);
    let (mut plain, mut json) = (Vec::new(), Vec::new());
    let mut previous = None;
    for r in &refreshes {
        let record = Record {
            report: &r.report,
            previous: previous.as_ref(),
        };
        let style = render::Style::default();
        render::record::write(&record, render::Format::Plain, &style, &mut plain).unwrap();
        render::record::write(&record, render::Format::Json, &style, &mut json).unwrap();
        previous = Some(r.report.tally.both());
    }
    let plain = String::from_utf8(plain).unwrap();
    settings().bind(|| insta::assert_snapshot!("watch_records_plain", plain));
    let lines: Vec<serde_json::Value> = String::from_utf8(json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["delta"].is_null());
    assert_eq!(lines[1]["delta"]["CLOSE_WAIT"], 20);
    assert_eq!(lines[3]["delta"]["CLOSE_WAIT"], -45);
    assert_eq!(lines[3]["delta"]["ESTABLISHED"], 0);
    assert_eq!(lines[2]["findings"][0]["id"], "close_wait_growing");
    assert_eq!(lines[2]["states"]["CLOSE_WAIT"], 45);
    assert_eq!(lines[2]["schema_version"], 2);
}

/// The display width of `line` up to the end of the first `text` in it.
fn column_after(line: &str, text: &str) -> usize {
    let end = line.find(text).map(|at| at + text.len()).unwrap_or(0);
    textwrap::core::display_width(&line[..end])
}

/// A name is measured in columns, not in characters: a process named in CJK (two columns a
/// character) keeps the culprit panel's counts under their heading, whether the name fits its
/// column or is cut to it. The name is the kernel's: `a服务器进程ab` cut at 15 bytes, inside
/// `程`; that fragment is dropped, so nothing on the screen shows U+FFFD. Golden at 120 columns.
#[test]
fn wide_names_keep_the_culprit_columns() {
    let comm = &"a服务器进程ab".as_bytes()[..15];
    let refreshes = refreshes_of(GroupKey::Process, comm);
    let mut view = WatchView::new(Duration::from_secs(2), GroupKey::Process, false);
    for r in &refreshes[..3] {
        view.record(r.clone());
    }
    for width in [30, 60, 120] {
        let screen = screen(&view, width, 40);
        assert!(!screen.contains('\u{FFFD}'), "{screen}");
        let lines: Vec<&str> = screen.lines().collect();
        let heading = lines
            .iter()
            .position(|l| l.starts_with("\" PROCESS ") && l.contains("SOCKETS"))
            .unwrap_or_else(|| panic!("{screen}"));
        let row = lines[heading + 1];
        assert!(row.starts_with("\" a服务器"), "{screen}");
        assert_eq!(
            column_after(lines[heading], "SOCKETS"),
            column_after(row, " 45"),
            "{width} columns:\n{screen}"
        );
        if width == 120 {
            settings().bind(|| insta::assert_snapshot!("watch_screen_120_wide_name", screen));
        }
    }
}

/// A refresh of a sweep, as the pipeline finishes one: each finding says its namespace, and the
/// sweep labels it (a Docker container here).
fn in_a_container(mut r: Refresh) -> Refresh {
    use crate::report::{ContainerRef, NamespaceReport, NetnsKind, NetnsLabel, Sweep};
    let label = NetnsLabel {
        inode: 4026532301,
        kind: NetnsKind::Container("docker"),
        container: Some(ContainerRef {
            runtime: "docker",
            id: "ab".repeat(32),
            name: Some("web-frontend".into()),
        }),
        pod: None,
        names: Vec::new(),
        sample: Some((PID, "java".into())),
    };
    for f in &mut r.report.findings {
        f.namespace = Some(label.name());
    }
    r.report.sweep = Some(Box::new(Sweep {
        namespaces: vec![NamespaceReport {
            label,
            report: r.report.clone(),
        }],
        ..Sweep::default()
    }));
    r
}

#[test]
fn a_sweep_says_which_namespace_each_finding_is_in() {
    let refreshes: Vec<Refresh> = refreshes(GroupKey::Process)
        .into_iter()
        .map(in_a_container)
        .collect();
    let mut view = WatchView::new(Duration::from_secs(2), GroupKey::Process, false);
    for r in &refreshes[..3] {
        view.record(r.clone());
    }
    let screen = screen(&view, 100, 34);
    assert!(
        screen.contains("· in docker container web-frontend"),
        "{screen}"
    );
    settings().bind(|| insta::assert_snapshot!("watch_screen_100_sweep", screen));
    let mut plain = Vec::new();
    let record = Record {
        report: &refreshes[2].report,
        previous: None,
    };
    render::record::write(
        &record,
        render::Format::Plain,
        &render::Style::default(),
        &mut plain,
    )
    .unwrap();
    let plain = String::from_utf8(plain).unwrap();
    assert!(
        plain.ends_with(
            " findings=close_wait_growing@web-frontend,close_wait_excess@web-frontend\n"
        ),
        "{plain}"
    );
}
