//! The `watch` screen, drawn with ratatui from the view-model alone: a status line, the states
//! with their changes and sparklines, the findings (the selected one expanded), the culprits of
//! the selected state, and the keys. Also the one-line records of the non-terminal mode.

mod flows;
mod panels;
mod states;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use textwrap::core::display_width;

use crate::report::watch::WatchView;

/// Colours only when wanted (a terminal without `NO_COLOR`): every other cue is a character.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paint {
    color: bool,
}

impl Paint {
    pub(crate) fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub(crate) fn bold(self) -> Style {
        if self.color {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    pub(crate) fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub(crate) fn selected(self) -> Style {
        if self.color {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        }
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, view: &WatchView) {
    let area = frame.area();
    let paint = Paint { color: view.color };
    let header = header(view, paint, area.width);
    let footer = footer(view, paint, area.width);
    let (header_h, footer_h) = (header.len() as u16, footer.len() as u16);
    let states = states::height(view);
    let flows_h = flows::height(view);
    let culprits = panels::culprits_height(view);
    // The findings take what they need of what is left, at least four rows; spare rows go
    // below the panels, so the keys stay at the bottom.
    let left = area
        .height
        .saturating_sub(header_h + states + flows_h + culprits + footer_h);
    let findings_h = panels::findings_height(view, area.width).min(left.max(4));
    let [top, middle, flow, findings, bottom, _, keys] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Length(states),
        Constraint::Length(flows_h),
        Constraint::Length(findings_h),
        Constraint::Length(culprits),
        Constraint::Fill(1),
        Constraint::Length(footer_h),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(header), top);
    states::draw(frame, middle, view, paint);
    flows::draw(frame, flow, view, paint);
    panels::findings(frame, findings, view, paint);
    panels::culprits(frame, bottom, view, paint);
    frame.render_widget(Paragraph::new(footer), keys);
}

/// The status line, and a second one for the filter, a message or a note when there is one.
fn header(view: &WatchView, paint: Paint, width: u16) -> Vec<Line<'static>> {
    let mut parts = vec![format!("every {}", interval(view.interval))];
    let mut second = None;
    if let Some(r) = &view.latest {
        let report = &r.report;
        let time = super::json::timestamp(report.collected_at);
        parts.push(
            time.get(11..19)
                .map_or(time.clone(), |t| format!("{t} UTC")),
        );
        let total = report.tally.total();
        let change = view
            .previous
            .as_ref()
            .map(|p| crate::report::watch::diff(total, p.total()))
            .filter(|&d| d != 0)
            .map_or(String::new(), |d| format!(" ({d:+})"));
        parts.push(format!("{total} sockets{change}"));
        parts.push(format!(
            "{:.1} ms",
            report.collection.duration.as_secs_f64() * 1e3
        ));
        if let Some(ns) = &report.collection.netns {
            parts.push(ns.clone());
        }
        parts.push(format!("#{}", view.refreshes));
        if !report.filter.is_empty() {
            second = Some(format!(
                "Filter: {} ({} of {} sockets match)",
                report.filter, total, report.collection.sockets_seen
            ));
        }
        if let Some(note) = r.notes.first() {
            second = Some(note.clone());
        }
    } else {
        parts.push("collecting…".into());
    }
    if let Some(message) = &view.message {
        second = Some(message.clone());
    }
    let mut spans = vec![Span::styled("sockscope watch", paint.bold())];
    if view.paused {
        spans.push(Span::styled(" PAUSED", paint.fg(Color::Yellow)));
    }
    let mut used: usize = spans.iter().map(|s| s.width()).sum();
    for part in parts {
        // Parts are in order of importance: the ones that do not fit are left out.
        if used + 3 + display_width(&part) > usize::from(width) {
            break;
        }
        used += 3 + display_width(&part);
        spans.push(Span::styled(" · ", paint.dim()));
        spans.push(Span::raw(part));
    }
    let mut lines = vec![Line::from(spans)];
    if let Some(text) = second {
        lines.push(Line::styled(text, paint.fg(Color::Cyan)));
    }
    lines
}

/// The keys, packed into as few lines as the width allows; the filter being typed instead.
fn footer(view: &WatchView, paint: Paint, width: u16) -> Vec<Line<'static>> {
    if let Some(prompt) = &view.prompt {
        // The cursor: the character under it reversed (a space past the end).
        let at = prompt.cursor.min(prompt.text.len());
        let (head, tail) = prompt.text.split_at(at);
        let mut rest = tail.chars();
        let under = rest.next().map_or(" ".to_string(), String::from);
        let mut lines = vec![Line::from(vec![
            Span::styled("filter> ", paint.bold()),
            Span::raw(head.to_string()),
            Span::styled(under, Style::default().add_modifier(Modifier::REVERSED)),
            Span::raw(rest.as_str().to_string()),
        ])];
        lines.push(match &prompt.error {
            Some(e) => Line::styled(e.clone(), paint.fg(Color::Red)),
            None => Line::styled(
                "e.g. state close-wait port 8080 · Enter applies, empty clears, Esc cancels",
                paint.dim(),
            ),
        });
        return lines;
    }
    let mut keys: Vec<(&str, &str)> = vec![
        ("q", "quit"),
        ("space", if view.paused { "resume" } else { "pause" }),
        ("s/↑↓", "state"),
        ("←→", "finding"),
        ("p/o/r", "by process/port/peer"),
    ];
    if view.containers {
        keys.push(("c", "container"));
    }
    if view
        .latest
        .as_ref()
        .is_some_and(|r| r.report.flows.is_some())
    {
        keys.push(("l", "flows"));
    }
    keys.extend([
        ("f", "filter"),
        ("+/-", "interval"),
        ("e", "export JSON"),
        (
            "z",
            if view.all_states {
                "hide zeros"
            } else {
                "zeros"
            },
        ),
    ]);
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (key, what) in keys {
        let w = display_width(key) + 1 + display_width(what);
        if used > 0 && used + 2 + w > usize::from(width) {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        if used > 0 {
            spans.push(Span::raw("  "));
            used += 2;
        }
        spans.push(Span::styled(key.to_string(), paint.bold()));
        spans.push(Span::styled(format!(" {what}"), paint.dim()));
        used += w;
    }
    lines.push(Line::from(spans));
    lines
}

/// `2s`, `500ms`, `1m`.
fn interval(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

/// A whole-second age for people: `45s`, `12m30s`, `3h05m`, `2d03h`.
pub(crate) fn age(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `text` in at most `width` terminal columns: whole as it is when it fits, else cut between
/// two characters (never inside one) and ended with `…`. Columns, not characters or bytes: a
/// CJK character takes two, a combining mark none.
pub(crate) fn fit(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    let room = width.saturating_sub(1);
    let mut used = 0;
    let mut cut = String::with_capacity(text.len().min(4 * width));
    for c in text.chars() {
        let w = display_width(c.encode_utf8(&mut [0; 4]));
        if used + w > room {
            break;
        }
        used += w;
        cut.push(c);
    }
    if width > 0 {
        cut.push('…');
    }
    cut
}

/// Whether a rectangle has room for anything.
pub(crate) fn is_empty(area: Rect) -> bool {
    area.width == 0 || area.height == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_columns_and_never_cuts_a_character() {
        assert_eq!(fit("java[4242]", 10), "java[4242]");
        assert_eq!(fit("java[4242]", 8), "java[42…");
        // Two columns a character: 7 columns hold three of them and the ellipsis.
        let cut = fit("服务器进程[4242]", 8);
        assert_eq!(cut, "服务器…");
        assert_eq!(display_width(&cut), 7);
        assert_eq!(fit("a→b→c", 4), "a→b…");
        assert_eq!(fit("x", 0), "");
    }
}
