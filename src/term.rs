//! Terminal facts: whether to colour, whether a person is there to answer a prompt, and a
//! progress line. The colour decision is anstream's (the one clap uses for its own
//! messages): colour on a terminal whose `TERM` is set and not `dumb`, never with
//! `NO_COLOR` (no-color.org), always with `CLICOLOR_FORCE` (for CI logs that render ANSI
//! colours). A terminal under a CI system (`CI` set) is coloured whatever its `TERM`.

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};
use std::io::{self, IsTerminal, Write};

/// Whether stdout gets colour.
pub fn stdout_color() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != ColorChoice::Never
}

/// Whether stderr gets colour.
pub fn stderr_color() -> bool {
    anstream::AutoStream::choice(&io::stderr()) != ColorChoice::Never
}

/// A person can answer a question: stdin and stderr are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// Styles text, or leaves it plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Palette {
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Added,
    Removed,
    Changed,
    Same,
    Hunk,
    Header,
    Problem,
    Warning,
    Location,
}

impl Palette {
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    pub fn paint(&self, tone: Tone, text: &str) -> String {
        if !self.enabled || text.is_empty() {
            return text.to_string();
        }
        let style = match tone {
            Tone::Added => Style::new().fg_color(Some(AnsiColor::Green.into())),
            Tone::Removed => Style::new().fg_color(Some(AnsiColor::Red.into())),
            Tone::Changed => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            Tone::Same => Style::new().dimmed(),
            Tone::Hunk => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
            Tone::Header => Style::new().bold(),
            Tone::Problem => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            Tone::Warning => Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
            Tone::Location => Style::new().bold(),
        };
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

/// `[12/40] writing pipelines` on one line of stderr, redrawn in place; only on a
/// terminal and only for enough work to be worth it.
pub struct Progress {
    enabled: bool,
    drawn: bool,
}

impl Progress {
    /// Below this many writes a progress line is noise.
    pub const THRESHOLD: usize = 8;

    pub fn new(total: usize) -> Self {
        Self {
            enabled: total >= Self::THRESHOLD && io::stderr().is_terminal(),
            drawn: false,
        }
    }

    pub fn update(&mut self, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        let mut e = io::stderr().lock();
        let _ = write!(e, "\r\x1b[2K[{done}/{total}] writing to Gate");
        let _ = e.flush();
        self.drawn = true;
    }

    pub fn finish(&mut self) {
        if self.drawn {
            let mut e = io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
            self.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Asks a yes/no question on stderr, reads the answer from stdin; anything but y/yes is
/// no.
pub fn confirm(question: &str) -> io::Result<bool> {
    let mut e = io::stderr().lock();
    write!(e, "{question} [y/N] ")?;
    e.flush()?;
    drop(e);
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palette_leaves_text_alone() {
        assert_eq!(Palette::new(false).paint(Tone::Added, "+ x"), "+ x");
        let c = Palette::new(true).paint(Tone::Added, "+ x");
        assert!(c.starts_with("\x1b[") && c.ends_with("\x1b[0m") && c.contains("+ x"));
    }
}
