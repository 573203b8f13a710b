//! A pull through the shared blob cache (`cache/blobs.rs`): a blob already
//! in the cache is linked into the layout without a request; one that is
//! not is downloaded into the cache (where an interrupted download waits
//! to be resumed by any later run, whatever its layout), then linked. A
//! manifest asked for by digest that the cache holds needs no request
//! either. Without the cache (`--no-cache`), `download.rs` writes into the
//! layout as before.

use super::download::{BlobJob, Downloads, fetch_into};
use crate::cache::BlobCache;
use crate::error::{Error, Result};
use crate::fetch::{Confirmation, Resolution, ServedBy, Trust};
use crate::image::{Descriptor, MAX_MANIFEST_SIZE, Manifest};
use crate::plan::{Plan, Role};
use crate::report::BlobReport;

/// What the report calls the cache when it served a manifest.
pub const CACHE_ENDPOINT: &str = "cache";

/// A cache that changes under us (a blob pruned between our check and our
/// link, a bad copy discarded) is looked at again this often before the
/// pull gives up on it.
const TRIES: usize = 3;

/// The reference's manifest from the cache, when it is asked for by
/// digest and the cache has it (verified against the digest here).
pub(super) fn resolve(cache: Option<&BlobCache>, plan: &Plan) -> Option<Resolution> {
    let (cache, digest) = (cache?, plan.reference.digest.as_ref()?);
    let bytes = cache.read_small(digest, None, MAX_MANIFEST_SIZE as u64)?;
    let manifest = Manifest::from_response(bytes, None, None, Some(digest)).ok()?;
    manifest.parse().ok()?;
    let served_by = ServedBy {
        endpoint: CACHE_ENDPOINT.into(),
        role: Role::Cache,
        ns_sent: false,
        ns_honored: false,
        confirmed: false,
        trust: Trust::Digest,
        confirmation: Confirmation::NotNeeded,
        collision: None,
    };
    Some(Resolution { manifest, host: 0, served_by, warnings: Vec::new() })
}

/// Keeps the pull's manifests in the cache, for a later pull by digest.
pub(super) fn keep(cache: Option<&BlobCache>, manifests: &[Manifest]) {
    if let Some(cache) = cache {
        for m in manifests {
            cache.put_verified(&m.digest, &m.bytes);
        }
    }
}

/// The blob is in the layout: a partial copy of it there (a copy from the
/// cache that a killed run left) would never be resumed, so it goes, unless
/// another pull is writing it.
fn forget_partial(ctx: &Downloads, d: &Descriptor) {
    ctx.layout.discard_partial(&d.digest, std::time::Instant::now());
}

/// Gets one blob into the layout through the cache.
pub(super) async fn one(ctx: &Downloads, cache: &BlobCache, job: &BlobJob) -> Result<BlobReport> {
    let (fetcher, d) = (&job.fetcher, &job.descriptor);
    let report = |endpoint: Option<String>, from_cache: bool| BlobReport {
        digest: d.digest.clone(),
        size: d.size,
        media_type: d.media_type.clone(),
        cached: endpoint.is_none(),
        endpoint,
        from_cache,
    };
    let stall = fetcher.session().config.network.stall_timeout;
    let mut fetched = None;
    for _ in 0..TRIES {
        if ctx.layout.has_blob(&d.digest, d.size) {
            forget_partial(ctx, d);
            return Ok(report(fetched, false));
        }
        if cache.store().has_blob(&d.digest, d.size) {
            // Named in the layout only once the image may be (`Gate`).
            ctx.gate(job).open().await;
        }
        if cache.place(&ctx.layout, &d.digest, d.size, stall).await?.is_some() {
            forget_partial(ctx, d);
            let from_cache = fetched.is_none();
            return Ok(report(fetched, from_cache));
        }
        // Into the cache: Ctrl-C leaves the partial file there, resumable
        // work in a place every later run looks.
        fetched = fetch_into(ctx, cache.store(), None, job).await?;
    }
    Err(Error::Failed(format!(
        "blob {}: the cache at {} lost it {TRIES} times right after it was stored (is another \
         process pruning it?); try again, or pull with --no-cache",
        d.digest,
        cache.root().display()
    )))
}
