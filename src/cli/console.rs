//! stderr, shared by the progress display and the log: a live frame (the
//! progress lines) kept at the bottom, and every other line printed above
//! it, so a log line never lands inside a frame nor leaves a stale one. One
//! lock orders them all; once closed (the run ended, or a signal came) no
//! frame is drawn again, so nothing appears after the final message.
//!
//! Our own rather than `indicatif`'s `MultiProgress`: what must hold here
//! is that the log (tracing, the display's own event lines) and the frame
//! share one lock and that nothing is drawn after `close`, even by a
//! download still stopping on another thread. indicatif draws from its own
//! ticker and its `suspend` covers one closure at a time, which is how the
//! Ctrl-C test saw a bar redrawn after `error: interrupted`.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Columns assumed when the terminal does not say.
const DEFAULT_WIDTH: usize = 80;

pub struct Console {
    screen: Mutex<Screen>,
    /// stderr is a terminal: frames may be drawn.
    terminal: bool,
}

#[derive(Default)]
struct Screen {
    /// The frame on screen now (its lines, each ended by a newline).
    frame: Vec<String>,
    closed: bool,
}

impl Console {
    pub fn new() -> Arc<Console> {
        use std::io::IsTerminal;
        Arc::new(Console { screen: Mutex::default(), terminal: std::io::stderr().is_terminal() })
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// The terminal's width in columns (`COLUMNS` when it does not say).
    pub fn width(&self) -> usize {
        terminal_width()
            .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
            .filter(|&w| w >= 20)
            .unwrap_or(DEFAULT_WIDTH)
    }

    fn screen(&self) -> std::sync::MutexGuard<'_, Screen> {
        self.screen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prints `text` (one or more lines) above the frame, which is drawn
    /// again below it.
    pub fn line(&self, text: &str) {
        above(&self.screen(), text);
    }

    /// A line of the progress display: like `line`, but dropped once the
    /// console is closed (a download still stopping after the run's error
    /// must not print below it). Checked and printed under one lock.
    pub fn progress_line(&self, text: &str) {
        let screen = self.screen();
        if !screen.closed {
            above(&screen, text);
        }
    }

    /// Replaces the frame on screen with `lines` (each cut to the width).
    pub fn draw(&self, lines: Vec<String>) {
        let mut screen = self.screen();
        if screen.closed || !self.terminal {
            return;
        }
        let mut out = String::new();
        erase(&mut out, screen.frame.len());
        for l in &lines {
            out.push_str(l);
            out.push('\n');
        }
        write_stderr(&out);
        screen.frame = lines;
    }

    /// Removes the frame for good: nothing is drawn after this.
    pub fn close(&self) {
        let mut screen = self.screen();
        screen.closed = true;
        let mut out = String::new();
        erase(&mut out, screen.frame.len());
        screen.frame.clear();
        if !out.is_empty() {
            write_stderr(&out);
        }
    }
}

/// Prints `text` where the frame is, and the frame again below it.
fn above(screen: &Screen, text: &str) {
    let mut out = String::new();
    erase(&mut out, screen.frame.len());
    out.push_str(text.trim_end_matches('\n'));
    out.push('\n');
    for l in &screen.frame {
        out.push_str(l);
        out.push('\n');
    }
    write_stderr(&out);
}

/// Moves up over a frame of `lines` lines and clears from there down.
fn erase(out: &mut String, lines: usize) {
    if lines > 0 {
        out.push_str(&format!("\r\x1b[{lines}A\x1b[J"));
    }
}

fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    // Nothing to do when stderr is gone: the exit code still tells.
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass, which
    // outlives the call; on failure it writes nothing and we ignore it.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_width() -> Option<usize> {
    None
}

/// The log's way to stderr (`tracing_subscriber`'s writer): each event is
/// one `Console::line`, so it lands above the progress frame.
#[derive(Clone)]
pub struct LogWriter(pub Arc<Console>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine { console: self.0.clone(), buf: Vec::new() }
    }
}

/// One log event, buffered until it is complete (dropped).
pub struct LogLine {
    console: Arc<Console>,
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.console.line(&String::from_utf8_lossy(&self.buf));
        }
    }
}
