//! Running `ocimirror` on a pseudo-terminal, and what a user would then see:
//! the raw bytes (escape codes and all) replayed on a small screen model.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Test;

/// Columns of the pseudo-terminal (and of the screen model).
pub const WIDTH: usize = 80;

/// An `ocimirror` process whose stdin, stdout and stderr are one terminal.
pub struct OnTerminal {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl OnTerminal {
    pub fn spawn(t: &Test, args: &[&str]) -> OnTerminal {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize { ws_row: 30, ws_col: WIDTH as u16, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: openpty writes two descriptors into the integers we pass;
        // name and termios may be null, the winsize outlives the call.
        let rc = unsafe {
            libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size)
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened by openpty and are ours.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let stdio = || Stdio::from(slave.try_clone().expect("dup the terminal"));
        let child = t
            .command(args)
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .stdin(stdio())
            .stdout(stdio())
            .stderr(stdio())
            .spawn()
            .expect("spawn ocimirror");
        // Only the child holds the terminal now: when it exits, reading the
        // master side ends (EIO).
        drop(slave);
        let (output, reader) = super::collect(File::from(master));
        OnTerminal { child, output, reader: Some(reader) }
    }

    /// Everything written to the terminal so far.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// The screen as the user sees it now.
    pub fn screen_now(&self) -> Vec<String> {
        screen(&self.raw(), WIDTH)
    }

    /// Waits (at most `timeout`) until the screen shows a line for which
    /// `wanted` holds; returns the screen then.
    pub fn wait_for_screen(&self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let shown = self.screen_now();
            if shown.iter().any(|l| wanted(l)) {
                return shown;
            }
            assert!(Instant::now() < deadline, "never shown; the screen: {shown:#?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most `timeout`) until the terminal has shown `what`.
    pub fn wait_for_text(&self, what: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.raw().contains(what) {
            assert!(
                Instant::now() < deadline,
                "{what:?} never showed; the terminal got:\n{:?}",
                self.raw()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGINT, as Ctrl-C sends it.
    pub fn interrupt(&self) {
        // SAFETY: kill(2) with our child's pid and a valid signal number.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the exit (killed and failed after `timeout`); returns the
    /// exit code and the screen as the user sees it.
    pub fn wait(mut self, timeout: Duration) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ocimirror did not finish within {timeout:?}; terminal:\n{:?}", self.raw());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (status.code(), screen(&self.raw(), WIDTH))
    }
}

impl Drop for OnTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text left on a `width`-column screen after replaying `raw`: the
/// cursor moves, line erases and line wrapping that progress bars use
/// (CR, LF, CSI A/B/G/K/J; other sequences are ignored). Trailing blanks
/// are trimmed and empty lines at the end dropped.
pub fn screen(raw: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if lines.len() <= row {
            lines.resize(row + 1, Vec::new());
        }
        match c {
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut arg = String::new();
                let mut command = None;
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        command = Some(d);
                        break;
                    }
                    arg.push(d);
                }
                let n = arg.parse::<usize>().ok();
                match command {
                    Some('A') => row = row.saturating_sub(n.unwrap_or(1)),
                    Some('B') => row += n.unwrap_or(1),
                    Some('G') => col = n.unwrap_or(1).saturating_sub(1),
                    Some('K') if arg == "2" => lines[row].clear(),
                    Some('K') => lines[row].truncate(col),
                    Some('J') => {
                        lines[row].truncate(col);
                        lines.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
            }
            c if c.is_control() => {}
            c => {
                // A full line wraps when the next character comes.
                if col >= width {
                    row += 1;
                    col = 0;
                    if lines.len() <= row {
                        lines.resize(row + 1, Vec::new());
                    }
                }
                let line = &mut lines[row];
                if line.len() < col {
                    line.resize(col, ' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let mut out: Vec<String> = lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

#[test]
fn the_screen_model_replays_redraws_and_wraps() {
    let raw = "first\nabc\r\x1b[2Kxy\n0123456789ab\x1b[1A\r\x1b[2K\x1b[1B\x1b[1A\rdone";
    assert_eq!(screen(raw, 10), ["first", "xy", "done", "ab"]);
}
