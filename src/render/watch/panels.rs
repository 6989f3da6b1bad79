//! The findings panel (one line each, most severe first; the selected one expanded to its
//! causes and next steps) and the culprit panel (who holds the selected state's sockets).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use textwrap::core::display_width;

use super::{Paint, age};
use crate::render::{attribution, culprit, escape, finding_view, sweep, top::key_text};
use crate::report::watch::WatchView;
use crate::report::{Finding, GroupKey, Severity, SummaryReport};

fn severity(s: Severity, paint: Paint) -> Span<'static> {
    let colour = match s {
        Severity::Critical => Color::Red,
        Severity::Warning => Color::Yellow,
        Severity::Info => Color::Cyan,
    };
    Span::styled(format!("{:<8}", s.word()), paint.fg(colour))
}

/// `title · who` for the one-line list, and in a sweep `· in docker container web`.
fn headline(report: &SummaryReport, f: &Finding) -> String {
    let mut line = escape::for_terminal(&finding_view::title(f)).into_owned();
    if let Some(c) = f.culprits.first() {
        line.push_str(" · ");
        line.push_str(&culprit::name(c));
    }
    if let Some(place) = sweep::where_found(report, f) {
        line.push_str(" · in ");
        line.push_str(&escape::for_terminal(&place));
    }
    line
}

/// Rows the findings panel would fill at this width: its title and its lines, wrapped.
pub(super) fn findings_height(view: &WatchView, width: u16) -> u16 {
    let rows = lines(view, Paint { color: false }, usize::from(width)).len();
    u16::try_from(rows + 1).unwrap_or(u16::MAX)
}

/// `prefix` then `body` wrapped to `width`, its continuation lines indented by `hang` (under
/// the text they continue, never at column 0). A word longer than a line is cut.
fn wrapped(
    prefix: Vec<Span<'static>>,
    body: &str,
    style: Style,
    hang: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let lead: usize = prefix.iter().map(Span::width).sum();
    let width = width.max(lead + 10).max(hang + 10);
    let first = " ".repeat(lead);
    let rest = " ".repeat(hang);
    let options = textwrap::Options::new(width)
        .initial_indent(&first)
        .subsequent_indent(&rest)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = Vec::new();
    let mut prefix = Some(prefix);
    for piece in textwrap::wrap(body, options) {
        match prefix.take() {
            Some(mut spans) => {
                spans.push(Span::styled(
                    piece.get(lead..).unwrap_or("").to_string(),
                    style,
                ));
                out.push(Line::from(spans));
            }
            None => out.push(Line::styled(piece.into_owned(), style)),
        }
    }
    if let Some(spans) = prefix {
        out.push(Line::from(spans));
    }
    out
}

pub(super) fn findings(frame: &mut Frame, area: Rect, view: &WatchView, paint: Paint) {
    if super::is_empty(area) {
        return;
    }
    let count = view.findings();
    let title = if count == 0 {
        " Findings ".to_string()
    } else {
        format!(" Findings ({count}) ")
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, paint.bold()));
    frame.render_widget(
        Paragraph::new(lines(view, paint, usize::from(area.width))).block(block),
        area,
    );
}

/// One line per finding, then the selected one in full, wrapped to `width`.
fn lines(view: &WatchView, paint: Paint, width: usize) -> Vec<Line<'static>> {
    let Some(latest) = &view.latest else {
        return Vec::new();
    };
    let report = &latest.report;
    let found = &report.findings;
    let mut lines: Vec<Line> = Vec::new();
    if found.is_empty() {
        let d = &report.checks;
        lines.push(Line::raw(format!(
            " No problems found ({} checks).",
            d.rules.saturating_sub(d.skipped.len())
        )));
    }
    for (i, f) in found.iter().enumerate() {
        let selected = i == view.finding;
        let prefix = vec![
            Span::styled(
                if selected { ">" } else { " " },
                if selected {
                    paint.selected()
                } else {
                    paint.dim()
                },
            ),
            severity(f.severity, paint),
            Span::raw(" "),
        ];
        // Continued under the title, past the severity.
        lines.extend(wrapped(
            prefix,
            &headline(report, f),
            Style::default(),
            10,
            width,
        ));
    }
    if let Some(f) = found.get(view.finding) {
        lines.push(Line::raw(""));
        lines.extend(expanded(f, paint, width));
    }
    lines
}

/// The selected finding in full: summary, who, causes, next steps, each wrapped under its own
/// start.
fn expanded(f: &Finding, paint: Paint, width: usize) -> Vec<Line<'static>> {
    let plain = Style::default();
    let heading = |text: &'static str| Line::styled(text, paint.bold());
    let mut lines = wrapped(
        vec![Span::styled(format!(" {} ", f.id), paint.bold())],
        &finding_view::summary(f),
        plain,
        1,
        width,
    );
    if f.culprits.len() > 1 {
        let who: Vec<String> = f.culprits.iter().map(culprit::describe).collect();
        let prefix = vec![Span::raw(" Who: ")];
        lines.extend(wrapped(prefix, &who.join("; "), plain, 6, width));
    }
    if !f.evidence.is_empty() {
        lines.push(heading(" Evidence:"));
        for e in &f.evidence {
            let text =
                crate::render::escape::for_terminal(&crate::render::proof::text(e)).into_owned();
            lines.extend(wrapped(vec![Span::raw("  - ")], &text, plain, 4, width));
        }
    }
    let causes = finding_view::causes(f);
    if !causes.is_empty() {
        lines.push(heading(" Likely causes:"));
        for (i, cause) in causes.iter().enumerate() {
            let number = format!("  {}. ", i + 1);
            let hang = number.len();
            lines.extend(wrapped(vec![Span::raw(number)], cause, plain, hang, width));
        }
    }
    if !f.next_steps.is_empty() {
        lines.push(heading(" Next:"));
        let green = paint.fg(Color::Green);
        for step in &f.next_steps {
            // A command goes on as far as the screen allows, continued four columns in.
            lines.extend(wrapped(
                vec![Span::styled("  ", green)],
                step,
                green,
                4,
                width,
            ));
        }
    }
    lines
}

/// Rows the culprit panel takes: a title, a header, up to eight culprits, one note.
pub(super) fn culprits_height(view: &WatchView) -> u16 {
    let rows = view
        .latest
        .as_ref()
        .and_then(|r| r.culprits.as_ref())
        .map_or(1, |c| {
            let hidden = c.rows.len() > 8 || c.rest.0 > 0;
            let note = c
                .attribution
                .as_ref()
                .is_some_and(|a| !attribution::notes(a).is_empty());
            c.rows.len().clamp(1, 8) + usize::from(hidden || note)
        });
    (2 + rows) as u16
}

fn heading(by: GroupKey) -> &'static str {
    match by {
        GroupKey::Process => "process",
        GroupKey::LocalPort => "local port",
        GroupKey::RemotePort => "remote port",
        GroupKey::Peer => "peer",
        GroupKey::Uid => "uid",
        GroupKey::Netns => "namespace",
        GroupKey::Container => "container",
    }
}

pub(super) fn culprits(frame: &mut Frame, area: Rect, view: &WatchView, paint: Paint) {
    if super::is_empty(area) {
        return;
    }
    let Some(c) = view.latest.as_ref().and_then(|r| r.culprits.as_ref()) else {
        return;
    };
    let mut title = format!(" Top {} by {} ", c.state.name(), heading(c.by));
    if c.state != view.selected || c.by != view.by {
        title.push_str("(updating) ");
    }
    let width = usize::from(area.width);
    // Who, count, share, oldest: the name takes what the numbers leave.
    let name_width = width.saturating_sub(1 + 9 + 8 + 10).clamp(8, 40);
    let mut lines = vec![Line::styled(
        format!(
            " {:<name_width$}{:>9}{:>8}  {}",
            heading(c.by).to_uppercase(),
            "SOCKETS",
            "SHARE",
            "OLDEST"
        ),
        paint.dim(),
    )];
    if let Some(note) = &c.note {
        lines.push(Line::styled(format!(" {note}"), paint.dim()));
    } else if c.rows.is_empty() {
        lines.push(Line::styled(
            format!(" no {} sockets", c.state.name()),
            paint.dim(),
        ));
    }
    let shown = usize::from(area.height).saturating_sub(3).max(1);
    for r in c.rows.iter().take(shown) {
        let name = super::fit(&key_text(&r.key, false), name_width);
        // Padded in columns: `{:<N}` pads in characters, and a CJK character takes two.
        let pad = name_width.saturating_sub(display_width(&name));
        let share = if c.total == 0 {
            0.0
        } else {
            r.count as f64 * 100.0 / c.total as f64
        };
        let oldest = r.oldest_s.map_or(String::new(), |s| {
            format!("{}{}", if r.since_start { "≥" } else { "" }, age(s))
        });
        lines.push(Line::from(vec![
            Span::raw(format!(" {name}{:pad$}", "")),
            Span::styled(format!("{:>9}", r.count), paint.bold()),
            Span::raw(format!("{share:>7.1}%")),
            Span::styled(format!("  {oldest}"), paint.fg(Color::Yellow)),
        ]));
    }
    let hidden = c.rows.len().saturating_sub(shown) as u64 + c.rest.0;
    let note = if hidden > 0 {
        Some(format!(" … and {hidden} more"))
    } else {
        c.attribution
            .as_ref()
            .and_then(|a| attribution::notes(a).into_iter().next())
            .map(|n| format!(" {n}"))
    };
    if let Some(note) = note {
        lines.push(Line::styled(note, paint.dim()));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, paint.bold()));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
