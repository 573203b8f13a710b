//! What `docker load` reads: `manifest.json` and the legacy `repositories`.
//!
//! As Docker writes them (moby's `image/tarexport`, and containerd's
//! exporter that Docker 25+ uses), `Config` and `Layers` are paths inside
//! the archive. `RepoTags` differ on purpose: Docker writes familiar names
//! (`ubuntu:latest`), and podman 4.3's `load` reads a familiar name as a
//! local one (`localhost/ubuntu:latest`). Fully qualified names
//! (`docker.io/library/ubuntu:latest`) mean the same image to every
//! reader: `docker load`, containerd's importer and skopeo normalise
//! RepoTags with distribution/reference's `ParseNormalizedNamed`, and
//! podman keeps them as they are. A name with a digest has no tag to give:
//! Docker writes no RepoTag for it either. `repositories` maps repository
//! and tag to the image's top layer (the file Docker names by it); readers
//! take `manifest.json` when it is there, so it is only for the oldest.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;

/// One object of `manifest.json`: one image (config and layers), with every
/// name it is loaded under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DockerImage {
    /// The image manifest it was read from (not itself in manifest.json).
    pub manifest: Digest,
    pub config: Digest,
    pub layers: Vec<Digest>,
    pub repo_tags: Vec<String>,
}

/// Docker's field names, capitalised as it spells them.
#[derive(Serialize)]
struct ManifestItem<'a> {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: &'a [String],
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// The path of a blob inside the archive.
pub(super) fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

pub(super) fn manifest_json(images: &[DockerImage]) -> Result<Vec<u8>> {
    let items: Vec<ManifestItem> = images
        .iter()
        .map(|i| ManifestItem {
            config: blob_path(&i.config),
            repo_tags: &i.repo_tags,
            layers: i.layers.iter().map(blob_path).collect(),
        })
        .collect();
    encode("manifest.json", &items)
}

/// `{"repo": {"tag": "<hex of the top layer>"}}`, or nothing when no image
/// has both a tag and a layer (Docker then writes no file either).
pub(super) fn repositories(images: &[DockerImage]) -> Result<Option<Vec<u8>>> {
    let mut repos: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for image in images {
        let Some(top) = image.layers.last() else { continue };
        for tagged in &image.repo_tags {
            // Built by `repo_tag`, so the last `:` is the tag's.
            let Some((repo, tag)) = tagged.rsplit_once(':') else { continue };
            repos.entry(repo.to_string()).or_default().insert(tag.to_string(), top.hex().into());
        }
    }
    if repos.is_empty() {
        return Ok(None);
    }
    encode("repositories", &repos).map(Some)
}

/// The RepoTag for a layout name: the name itself, when it is a fully
/// qualified reference with a tag and no digest, as ocimirror names its
/// images. Anything else (a digest, or a name another tool wrote, like a
/// bare `latest`, that docker would misread) gets none.
pub fn repo_tag(name: &str) -> Option<String> {
    let reference: Reference = name.parse().ok()?;
    let qualified = reference.to_string() == name;
    (qualified && reference.digest.is_none() && reference.tag.is_some()).then(|| name.to_string())
}

fn encode<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Failed(format!("cannot encode {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_tags_are_fully_qualified_names_with_a_tag() {
        let tagged = [
            "docker.io/library/ubuntu:latest",
            "docker.io/org/app:v1",
            "quay.io/org/app:v1",
            "127.0.0.1:5000/team/app:v1",
            "[::1]:5000/app:1.0",
        ];
        for name in tagged {
            assert_eq!(repo_tag(name).as_deref(), Some(name));
        }
        let digest = Digest::sha256(b"x");
        let not_tags = [
            format!("docker.io/library/ubuntu@{digest}"),
            format!("docker.io/library/ubuntu:latest@{digest}"),
            "latest".to_string(),
            "ubuntu:latest".to_string(),
            "docker.io/library/ubuntu".to_string(),
        ];
        for name in not_tags {
            assert_eq!(repo_tag(&name), None, "{name}");
        }
    }

    #[test]
    fn manifest_json_and_repositories_are_what_docker_writes() {
        let (config, l1, l2) = (Digest::sha256(b"c"), Digest::sha256(b"1"), Digest::sha256(b"2"));
        let tagged = DockerImage {
            manifest: Digest::sha256(b"m"),
            config: config.clone(),
            layers: vec![l1.clone(), l2.clone()],
            repo_tags: vec!["docker.io/library/ubuntu:latest".into(), "127.0.0.1:5000/a:v1".into()],
        };
        let untagged = DockerImage { repo_tags: vec![], ..tagged.clone() };
        let json: serde_json::Value =
            serde_json::from_slice(&manifest_json(&[tagged.clone(), untagged]).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"Config": format!("blobs/sha256/{}", config.hex()),
                 "RepoTags": ["docker.io/library/ubuntu:latest", "127.0.0.1:5000/a:v1"],
                 "Layers": [format!("blobs/sha256/{}", l1.hex()), format!("blobs/sha256/{}", l2.hex())]},
                {"Config": format!("blobs/sha256/{}", config.hex()), "RepoTags": [],
                 "Layers": [format!("blobs/sha256/{}", l1.hex()), format!("blobs/sha256/{}", l2.hex())]},
            ])
        );
        let repos: serde_json::Value =
            serde_json::from_slice(&repositories(&[tagged]).unwrap().unwrap()).unwrap();
        assert_eq!(
            repos,
            serde_json::json!({
                "docker.io/library/ubuntu": {"latest": l2.hex()},
                "127.0.0.1:5000/a": {"v1": l2.hex()},
            })
        );
        let layerless = DockerImage {
            manifest: Digest::sha256(b"m"),
            config,
            layers: vec![],
            repo_tags: vec!["x:1".into()],
        };
        assert_eq!(repositories(&[layerless]).unwrap(), None);
    }
}
