//! Terminal facts: whether to colour, whether a person is there to answer a prompt, and a
//! progress line. Colour only on a terminal, never with `NO_COLOR` set (no-color.org);
//! `CLICOLOR_FORCE` forces it (for CI logs that render ANSI colours).

use anstyle::{AnsiColor, Style};
use std::io::{self, IsTerminal, Write};

/// The colour decision from the environment and the stream.
pub fn use_color(no_color: Option<&str>, clicolor_force: Option<&str>, is_tty: bool) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    is_tty
}

/// Whether stdout gets colour.
pub fn stdout_color() -> bool {
    use_color(
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("CLICOLOR_FORCE").ok().as_deref(),
        io::stdout().is_terminal(),
    )
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
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(use_color(None, None, true));
        assert!(!use_color(None, None, false));
        assert!(!use_color(Some("1"), None, true));
        assert!(
            use_color(Some(""), None, true),
            "an empty NO_COLOR is unset"
        );
        assert!(use_color(None, Some("1"), false));
        assert!(!use_color(Some("1"), Some("1"), false));
        assert!(!use_color(None, Some("0"), false));
    }

    #[test]
    fn plain_palette_leaves_text_alone() {
        assert_eq!(Palette::new(false).paint(Tone::Added, "+ x"), "+ x");
        let c = Palette::new(true).paint(Tone::Added, "+ x");
        assert!(c.starts_with("\x1b[") && c.ends_with("\x1b[0m") && c.contains("+ x"));
    }
}
