//! The signals that stop a run: Ctrl-C (SIGINT), a CI cancel or `kill`
//! (SIGTERM), a closed terminal or SSH session (SIGHUP). Each ends the run
//! the same way: partial files removed, the error printed (and its JSON),
//! exit 128 + the signal's number. A second signal while that happens
//! exits at once, as a user pressing Ctrl-C twice expects.

use crate::error::{Error, Signal};

/// Listeners for every stopping signal, installed when made: from then on
/// none of the signals kills the process unannounced.
pub struct Stoppers {
    #[cfg(unix)]
    streams: Vec<(Signal, tokio::signal::unix::Signal)>,
}

impl Stoppers {
    /// Must run inside the runtime.
    pub fn install() -> Result<Stoppers, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                (Signal::Interrupt, SignalKind::interrupt()),
                (Signal::Terminate, SignalKind::terminate()),
                (Signal::HangUp, SignalKind::hangup()),
            ];
            let mut streams = Vec::new();
            for (which, kind) in kinds {
                let stream = signal(kind)
                    .map_err(|e| Error::Failed(format!("cannot listen for {which:?}: {e}")))?;
                streams.push((which, stream));
            }
            Ok(Stoppers { streams })
        }
        #[cfg(not(unix))]
        Ok(Stoppers {})
    }

    /// The next stopping signal.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            let waits = self.streams.iter_mut().map(|(which, s)| {
                let which = *which;
                Box::pin(async move {
                    s.recv().await;
                    which
                })
            });
            futures_select_all(waits.collect()).await
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}

/// The first of several futures to finish.
async fn futures_select_all<F>(mut futures: Vec<std::pin::Pin<Box<F>>>) -> Signal
where
    F: std::future::Future<Output = Signal>,
{
    std::future::poll_fn(move |cx| {
        for f in futures.iter_mut() {
            if let std::task::Poll::Ready(which) = f.as_mut().poll(cx) {
                return std::task::Poll::Ready(which);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// From now on, another stopping signal ends the process at once with
/// `code` (the cleanup of the first may be what hangs).
pub fn exit_on_next(runtime: &tokio::runtime::Runtime, mut stoppers: Stoppers, code: i32) {
    runtime.spawn(async move {
        stoppers.next().await;
        std::process::exit(code);
    });
}
