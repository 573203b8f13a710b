//! `ocimirror resolve REF`: which source serves a reference, and its
//! digest, without pulling layers.

use std::sync::Arc;
use std::time::Instant;

use crate::error::Result;
use crate::fetch::{Fetcher, Session};
use crate::plan::Plan;
use crate::report::ResolveReport;

pub async fn resolve(session: Arc<Session>, plan: Plan) -> Result<ResolveReport> {
    let started = Instant::now();
    let fetcher = Fetcher::new(session, Arc::new(plan));
    let r = fetcher.resolve().await?;
    Ok(ResolveReport {
        reference: fetcher.plan().reference.to_string(),
        digest: r.manifest.digest.clone(),
        media_type: r.manifest.media_type.clone(),
        size: r.manifest.bytes.len(),
        served_by: r.served_by,
        warnings: r.warnings,
        attempts: fetcher.attempts(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}
