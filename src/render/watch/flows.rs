//! The flows panel: connections over time from the kernel's destroy events. One line with the
//! closes per second and their sparkline, failed connects, median and p99 lifetime and lost
//! events; `l` adds the top destinations and processes by churn. When nothing can be followed
//! it says why, in one line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::Paint;
use super::states::sparkline;
use crate::render::escape::for_terminal;
use crate::report::flows::{FlowKey, FlowReport, FlowRow, Following};
use crate::report::watch::WatchView;

/// Rows per table when expanded.
const ROWS: usize = 4;

fn report(view: &WatchView) -> Option<&FlowReport> {
    view.latest.as_ref()?.report.flows.as_deref()
}

/// Rows the panel takes: none when not following at all (`--no-flows`).
pub(super) fn height(view: &WatchView) -> u16 {
    let Some(r) = report(view) else {
        return 0;
    };
    let tables = match &r.following {
        Following::Yes { .. } if view.flows_expanded => {
            let n = |rows: &[FlowRow]| 1 + rows.len().clamp(1, ROWS);
            n(&r.destinations) + n(holders(r))
        }
        _ => 0,
    };
    (2 + tables) as u16
}

/// The processes, or where none were named, the local ports connections were accepted on.
fn holders(r: &FlowReport) -> &[FlowRow] {
    if r.processes.is_empty() {
        &r.services
    } else {
        &r.processes
    }
}

/// `4ms`, `1.2s`, `3m05s`.
pub(crate) fn duration_ms(ms: f64) -> String {
    match ms {
        ms if ms < 1.0 => "<1ms".into(),
        ms if ms < 1000.0 => format!("{ms:.0}ms"),
        ms if ms < 60_000.0 => format!("{:.1}s", ms / 1000.0),
        ms => super::age((ms / 1000.0) as u64),
    }
}

pub(super) fn draw(frame: &mut Frame, area: Rect, view: &WatchView, paint: Paint) {
    if super::is_empty(area) {
        return;
    }
    let Some(r) = report(view) else {
        return;
    };
    let mut lines = Vec::new();
    match &r.following {
        Following::No(why) => lines.push(Line::styled(
            format!(" not followed: {}", for_terminal(why)),
            paint.dim(),
        )),
        Following::Yes { .. } => {
            lines.push(summary(view, r, usize::from(area.width), paint));
            if view.flows_expanded {
                lines.extend(table(&r.destinations, "DESTINATION", paint));
                let what = if r.processes.is_empty() {
                    "ACCEPTED ON"
                } else {
                    "PROCESS"
                };
                lines.extend(table(holders(r), what, paint));
            }
        }
    }
    let title = if view.flows_expanded {
        " Flows (l: less) "
    } else {
        " Flows (l: top) "
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, paint.bold()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `closes 149.1/s ▁▃▅ · failed 5.0/s · lifetime 4ms / p99 17ms · lost 0`.
fn summary(view: &WatchView, r: &FlowReport, width: usize, paint: Paint) -> Line<'static> {
    let t = &r.totals;
    let mut spans = vec![
        Span::raw(" closes "),
        Span::styled(format!("{:.1}/s", t.closed_per_s), paint.bold()),
        Span::raw(" "),
    ];
    let lifetime = match (t.median_ms, t.p99_ms) {
        (Some(m), Some(p)) => format!("lifetime {} / p99 {}", duration_ms(m), duration_ms(p)),
        _ => "lifetime -".into(),
    };
    let rest = format!(
        " failed {:.1}/s · {lifetime} · lost {}",
        t.failed_per_s, t.lost
    );
    let used = 8 + format!("{:.1}/s", t.closed_per_s).len() + rest.chars().count();
    let spark = width.saturating_sub(used + 2).min(24);
    if spark >= 4 {
        spans.push(Span::styled(
            sparkline(view.flow_history.iter().copied(), spark),
            paint.fg(Color::Green),
        ));
    }
    spans.push(Span::styled(" ·", paint.dim()));
    let failing = t.failed > 0;
    spans.push(Span::styled(
        rest,
        if failing || t.lost > 0 {
            paint.fg(Color::Yellow)
        } else {
            paint.dim()
        },
    ));
    Line::from(spans)
}

fn table(rows: &[FlowRow], heading: &str, paint: Paint) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!(
            " {heading:<32}{:>10}{:>10}{:>10}",
            "CLOSES/S", "FAILED/S", "MEDIAN≤"
        ),
        paint.dim(),
    )];
    if rows.is_empty() {
        lines.push(Line::styled(" none in this window", paint.dim()));
    }
    for row in rows.iter().take(ROWS) {
        let mut name = match &row.key {
            FlowKey::Process { pid, comm } => format!("{}[{pid}]", for_terminal(comm)),
            FlowKey::Destination(d) if d.port() == 0 => format!("{} (port unknown)", d.ip()),
            FlowKey::Destination(d) => d.to_string(),
            FlowKey::Service(p) => format!("port {p}"),
            FlowKey::Peer(ip) => ip.to_string(),
        };
        if let Some(ns) = &row.netns {
            name = format!("{name} in {}", for_terminal(ns));
        }
        if name.chars().count() > 31 {
            name = name.chars().take(30).collect::<String>() + "…";
        }
        let median = row
            .median_le_ms
            .map_or("-".to_string(), |ms| duration_ms(ms as f64));
        lines.push(Line::from(vec![
            Span::raw(format!(" {name:<32}")),
            Span::styled(format!("{:>10.1}", row.closed_per_s), paint.bold()),
            Span::styled(
                format!("{:>10.1}", row.failed_per_s),
                if row.failed > 0 {
                    paint.fg(Color::Yellow)
                } else {
                    paint.dim()
                },
            ),
            Span::raw(format!("{median:>10}")),
        ]));
    }
    lines
}
