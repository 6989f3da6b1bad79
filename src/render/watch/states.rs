//! The states panel: one row per state with its count, its change since the last refresh and
//! since the start, a sparkline of its recent counts (newest on the right) and, for
//! CLOSE_WAIT and FIN_WAIT2, how long the oldest socket has been seen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Paint, age};
use crate::model::TcpState;
use crate::report::watch::WatchView;

/// Eighth-blocks, lowest to highest; a zero is a blank.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Marker, state, count, two changes, oldest: the fixed columns before the sparkline.
const FIXED: usize = 1 + 12 + 9 + 8 + 8 + 2 + 8 + 1;

pub(super) fn height(view: &WatchView) -> u16 {
    let shown = view.visible_states().len();
    let folded = usize::from(shown < TcpState::LIFECYCLE.len());
    (2 + shown + folded) as u16
}

pub(super) fn draw(frame: &mut Frame, area: Rect, view: &WatchView, paint: Paint) {
    if super::is_empty(area) {
        return;
    }
    let shown = view.visible_states();
    let width = usize::from(area.width);
    let spark = width.saturating_sub(FIXED);
    let mut lines = vec![Line::styled(
        format!(
            " {:<12}{:>9}{:>8}{:>8}  {:<8} {}",
            "STATE",
            "NOW",
            "LAST",
            "START",
            "OLDEST",
            if spark >= 5 { "TREND" } else { "" }
        ),
        paint.dim(),
    )];
    for &state in &shown {
        lines.push(row(view, state, spark, paint));
    }
    let folded = TcpState::LIFECYCLE.len() - shown.len();
    if folded > 0 {
        lines.push(Line::styled(
            format!(
                " {folded} state{} at zero not shown (z shows them)",
                if folded == 1 { "" } else { "s" }
            ),
            paint.dim(),
        ));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" States ", paint.bold()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn row(view: &WatchView, state: TcpState, spark: usize, paint: Paint) -> Line<'static> {
    let selected = state == view.selected;
    let n = view.count(state);
    let change = |d: Option<i64>| match d {
        Some(0) | None => "·".to_string(),
        Some(d) => format!("{d:+}"),
    };
    let last = view.delta_last(state);
    let oldest = view
        .latest
        .as_ref()
        .and_then(|r| match state {
            TcpState::CloseWait => r.oldest[0],
            TcpState::FinWait2 => r.oldest[1],
            _ => None,
        })
        .map_or(String::new(), |(s, since_start)| {
            format!("{}{}", if since_start { "≥" } else { "" }, age(s))
        });
    let name = format!("{}{:<12}", if selected { '>' } else { ' ' }, state.name());
    let growing = last.is_some_and(|d| d > 0);
    let mut spans = vec![
        Span::styled(
            name,
            if selected {
                paint.selected()
            } else {
                paint.bold()
            },
        ),
        Span::styled(
            format!("{n:>9}"),
            if n == 0 { paint.dim() } else { paint.bold() },
        ),
        Span::styled(
            format!("{:>8}", change(last)),
            if growing {
                paint.fg(Color::Yellow)
            } else {
                paint.dim()
            },
        ),
        Span::styled(
            format!("{:>8}", change(view.delta_start(state))),
            paint.dim(),
        ),
        Span::raw(format!("  {oldest:<8} ")),
    ];
    if spark >= 5 {
        let series = state.index().map(|i| &view.history[i]);
        spans.push(Span::styled(
            sparkline(series.into_iter().flatten().copied(), spark),
            paint.fg(Color::Green),
        ));
    }
    Line::from(spans)
}

/// The last `width` values as bars scaled from zero to their maximum, so noise around a large
/// count stays flat and a rise from zero shows.
pub(super) fn sparkline(values: impl DoubleEndedIterator<Item = u64>, width: usize) -> String {
    let mut last: Vec<u64> = values.rev().take(width).collect();
    last.reverse();
    let max = last.iter().copied().max().unwrap_or(0);
    last.iter()
        .map(|&v| match v {
            0 => ' ',
            v => {
                let level = (v.saturating_mul(8).saturating_sub(1) / max.max(1)) as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}
