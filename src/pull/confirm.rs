//! A tag a mirror answered, confirmed while its blobs download (see
//! `prepare`): each image waits for the registry's HEAD beside the
//! download pool; one that stands lets its blobs be named (`download::Gate`),
//! one overruled is prepared again from the registry's manifest, one that
//! fails is given up, and the downloads only it needed stop.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::prepare::{Image, Prepared, Stores, choose};
use super::{Observer, PullOptions};
use crate::error::{Error, Result};
use crate::fetch::{Confirmation, Resolution};

/// What the confirmations left of the prepared images (`confirm_all`).
#[derive(Default)]
pub(super) struct Confirmations {
    /// Images whose blobs stand.
    pub stand: Vec<(usize, Prepared)>,
    /// Images prepared again from the registry's manifest.
    pub overruled: Vec<(usize, Prepared)>,
    pub failed: Vec<(usize, (String, Error))>,
}

/// Confirms the tags of the images that need it, all at once, while their
/// blobs download. An image whose blobs stand is added to `named`, so that
/// they get their names; one whose blobs no longer stand (overruled, or
/// failed) is sent to `dropped` at once, so that the downloads only it
/// needs stop. `Err` for Ctrl-C only.
pub(super) async fn confirm_all(
    ready: Vec<(usize, Prepared)>,
    options: &PullOptions,
    observer: &Arc<dyn Observer>,
    cleanup: &super::Cleanup,
    (named, dropped): (&watch::Sender<HashSet<usize>>, mpsc::UnboundedSender<usize>),
) -> Result<Confirmations> {
    let mut out = Confirmations::default();
    let mut running = JoinSet::new();
    let mut images = HashMap::new();
    for (i, p) in ready {
        if p.unconfirmed.is_none() {
            out.stand.push((i, p));
            continue;
        }
        let (options, observer, cleanup) = (options.clone(), observer.clone(), cleanup.clone());
        let name = p.name.clone();
        let task = running.spawn(async move { p.confirmed(&options, &observer, &cleanup).await });
        images.insert(task.id(), (i, name));
    }
    while let Some(joined) = running.join_next_with_id().await {
        let (id, confirmed) = match joined {
            Ok((id, confirmed)) => (id, confirmed),
            Err(e) => (e.id(), Err(Error::Failed(format!("confirming stopped: {e}")))),
        };
        let Some((i, name)) = images.remove(&id) else { continue };
        match confirmed {
            Ok(Confirmed::Stands(p)) => {
                named.send_modify(|named| {
                    named.insert(i);
                });
                out.stand.push((i, p));
            }
            Ok(Confirmed::Overruled(p)) => {
                let _ = dropped.send(i);
                out.overruled.push((i, p));
            }
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) => {
                let _ = dropped.send(i);
                observer.image_failed(&name, &e);
                out.failed.push((i, (name, e)));
            }
        }
    }
    Ok(out)
}

/// What became of an image's confirmation (`Prepared::confirmed`).
pub(super) enum Confirmed {
    /// Confirmed, or left unconfirmed with a warning: its blobs stand.
    Stands(Prepared),
    /// The registry overruled the mirror: prepared again from the
    /// registry's manifest, its own blobs still to fetch.
    Overruled(Prepared),
}

impl Prepared {
    /// Waits for the registry to confirm the tag (when it had to) and
    /// tells the observer the image is resolved.
    pub async fn confirmed(
        mut self,
        options: &PullOptions,
        observer: &Arc<dyn Observer>,
        cleanup: &super::Cleanup,
    ) -> Result<Confirmed> {
        let Some(unconfirmed) = self.unconfirmed.take() else { return Ok(Confirmed::Stands(self)) };
        let resolution = Resolution {
            manifest: self.top,
            host: self.host,
            served_by: self.served_by,
            warnings: self.warnings,
        };
        let confirmed = self.fetcher.confirmed(resolution, unconfirmed).await?;
        let overruled = confirmed.served_by.confirmation == Confirmation::Overruled;
        observer.image_resolved(&self.name, &confirmed.served_by);
        if !overruled {
            let Resolution { manifest: top, served_by, warnings, .. } = confirmed;
            return Ok(Confirmed::Stands(Prepared { top, served_by, warnings, ..self }));
        }
        let image = Image {
            fetcher: self.fetcher,
            name: self.name,
            platform: self.platform,
            pinned: self.pinned,
            started: self.started,
        };
        let cache = options.cache.as_ref();
        let stores = Stores { layout: &self.layout, cache, cleanup, may_store: true };
        Ok(Confirmed::Overruled(choose(image, confirmed, stores, options).await?))
    }
}
