//! `inspect`: which image the argument names (a layout's, or a reference
//! through the mirrors), and the library call that describes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::InspectArgs;
use super::run::load_config;
use crate::error::Error;
use crate::fetch::Session;
use crate::image::Platform;
use crate::layout::Layout;
use crate::plan::Plan;
use crate::reference::Reference;
use crate::report::InspectReport;

pub(super) async fn inspect(args: &InspectArgs) -> Result<InspectReport, Error> {
    let want = match &args.platform {
        Some(p) => p.parse::<Platform>().map_err(|e| Error::Usage(e.to_string()))?,
        None => Platform::host(),
    };
    if let Some((dir, name)) = layout_target(&args.image) {
        let layout = Layout::existing(&dir)?;
        return crate::inspect::in_layout(&layout, name.as_deref(), &want);
    }
    let reference: Reference = args.image.parse()?;
    let config = load_config(&args.network, &[reference.registry.as_str()])?;
    let plan = Plan::new(&config, &reference)?;
    crate::inspect::remote(Arc::new(Session::new(config)), plan, &want).await
}

/// `oci:DIR[:NAME]`, or `DIR[:NAME]` when DIR holds an OCI layout (so a
/// directory that happens to be called `alpine` does not hide the image).
fn layout_target(text: &str) -> Option<(PathBuf, Option<String>)> {
    let split = |t: &str| match t.split_once(':') {
        Some((dir, name)) if !name.is_empty() => (PathBuf::from(dir), Some(name.to_string())),
        Some((dir, _)) => (PathBuf::from(dir), None),
        None => (PathBuf::from(t), None),
    };
    if let Some(rest) = text.strip_prefix("oci:") {
        return Some(split(rest));
    }
    let is_layout = |dir: &Path| dir.join("oci-layout").is_file();
    if is_layout(Path::new(text)) {
        return Some((PathBuf::from(text), None));
    }
    let (dir, name) = split(text);
    is_layout(&dir).then_some((dir, name))
}
