//! Images the tests build: deterministic layers, a config, and manifests in
//! OCI or Docker media types, plus multi-platform indexes. Everything here is
//! plain bytes and digests so the test registries and the interop suite can
//! serve or push exactly what a test later checks on disk.

use serde_json::json;
use sha2::{Digest as _, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

pub fn sha512(bytes: &[u8]) -> String {
    format!("sha512:{}", hex::encode(sha2::Sha512::digest(bytes)))
}

/// Bytes that differ per seed and look random enough that no layer shares a
/// digest with another by accident.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&word[..take]);
    }
    out
}

/// A content-addressed blob with the media type a manifest will cite it by.
#[derive(Clone, Debug)]
pub struct Blob {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, bytes: Vec<u8>) -> Blob {
        Blob { media_type: media_type.to_string(), digest: sha256(&bytes), bytes }
    }

    pub fn descriptor(&self) -> serde_json::Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// A single-platform image: a config, its layers and the manifest bytes.
#[derive(Clone, Debug)]
pub struct Image {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub manifest: Blob,
}

impl Image {
    /// An OCI image for linux/amd64 with layers of the given sizes. `seed`
    /// makes two images with the same sizes differ.
    pub fn oci(seed: u64, layer_sizes: &[usize]) -> Image {
        ImageBuilder::new(seed).layers(layer_sizes).build()
    }

    pub fn builder(seed: u64) -> ImageBuilder {
        ImageBuilder::new(seed)
    }

    pub fn platform(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{}", self.os, self.arch, v),
            None => format!("{}/{}", self.os, self.arch),
        }
    }

    /// Every blob the manifest refers to, config first.
    pub fn blobs(&self) -> Vec<&Blob> {
        std::iter::once(&self.config).chain(self.layers.iter()).collect()
    }
}

pub struct ImageBuilder {
    seed: u64,
    docker: bool,
    os: String,
    arch: String,
    variant: Option<String>,
    layer_sizes: Vec<usize>,
    runnable: bool,
}

impl ImageBuilder {
    pub fn new(seed: u64) -> ImageBuilder {
        ImageBuilder {
            seed,
            docker: false,
            os: "linux".into(),
            arch: "amd64".into(),
            variant: None,
            layer_sizes: vec![1024],
            runnable: false,
        }
    }

    /// Docker schema2 media types instead of OCI ones.
    pub fn docker(mut self) -> Self {
        self.docker = true;
        self
    }

    pub fn platform(mut self, os: &str, arch: &str, variant: Option<&str>) -> Self {
        self.os = os.into();
        self.arch = arch.into();
        self.variant = variant.map(str::to_string);
        self
    }

    pub fn layers(mut self, sizes: &[usize]) -> Self {
        self.layer_sizes = sizes.to_vec();
        self
    }

    /// Real layers: each a gzip'd tar holding one file of the layer's size,
    /// with the config's `diff_ids` the digests of the tars, so that
    /// runtimes can unpack the image (`podman load`, `ctr images import`).
    /// Otherwise layers are random bytes, which only move around.
    pub fn runnable(mut self) -> Self {
        self.runnable = true;
        self
    }

    /// The layer blobs and the config's diff_ids.
    fn layer_blobs(&self, layer_type: &str) -> (Vec<Blob>, Vec<String>) {
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for (i, &size) in self.layer_sizes.iter().enumerate() {
            let content = pseudo_random(self.seed * 1000 + i as u64 + 1, size);
            if self.runnable {
                let tar = tar_with_file(&format!("seed-{}-layer-{i}", self.seed), &content);
                diff_ids.push(sha256(&tar));
                layers.push(Blob::new(layer_type, gzip_stored(&tar)));
            } else {
                let blob = Blob::new(layer_type, content);
                diff_ids.push(blob.digest.clone());
                layers.push(blob);
            }
        }
        (layers, diff_ids)
    }

    pub fn build(self) -> Image {
        let (manifest_type, config_type, layer_type) = if self.docker {
            (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER)
        } else {
            (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
        };
        let (layers, diff_ids) = self.layer_blobs(layer_type);
        let mut platform = json!({"os": self.os, "architecture": self.arch});
        if let Some(v) = &self.variant {
            platform["variant"] = json!(v);
        }
        let mut config = platform.clone();
        config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
        config["config"] = json!({"Env": [format!("SEED={}", self.seed)]});
        let config = Blob::new(config_type, serde_json::to_vec(&config).unwrap());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": config.descriptor(),
            "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        let manifest = Blob::new(manifest_type, serde_json::to_vec_pretty(&manifest).unwrap());
        Image { os: self.os, arch: self.arch, variant: self.variant, config, layers, manifest }
    }
}

/// A tar holding one regular file.
fn tar_with_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, content).unwrap();
    tar.into_inner().unwrap()
}

/// `bytes` as gzip with deflate's stored (uncompressed) blocks: a valid
/// gzip stream that every reader decompresses, without a compression
/// library in the tests.
pub fn gzip_stored(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = bytes.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = u8::from(blocks.peek().is_none());
        let len = block.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(bytes).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE), as gzip's trailer wants it; bit by bit, test data is small.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A multi-platform index over images, optionally with a BuildKit-style
/// attestation manifest (platform unknown/unknown) that must never be chosen.
#[derive(Clone, Debug)]
pub struct Index {
    pub images: Vec<Image>,
    pub attestation: Option<Image>,
    pub manifest: Blob,
}

impl Index {
    pub fn new(images: Vec<Image>, with_attestation: bool) -> Index {
        let docker = images.iter().all(|i| i.manifest.media_type == DOCKER_MANIFEST);
        let mut entries: Vec<serde_json::Value> = images
            .iter()
            .map(|img| {
                let mut d = img.manifest.descriptor();
                let mut p = json!({"os": img.os, "architecture": img.arch});
                if let Some(v) = &img.variant {
                    p["variant"] = json!(v);
                }
                d["platform"] = p;
                d
            })
            .collect();
        let attestation = with_attestation.then(|| {
            let att =
                ImageBuilder::new(9_999).platform("unknown", "unknown", None).layers(&[64]).build();
            let mut d = att.manifest.descriptor();
            d["platform"] = json!({"os": "unknown", "architecture": "unknown"});
            d["annotations"] = json!({
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": images[0].manifest.digest,
            });
            entries.push(d);
            att
        });
        let media_type = if docker { DOCKER_LIST } else { OCI_INDEX };
        let index = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": entries});
        let manifest = Blob::new(media_type, serde_json::to_vec_pretty(&index).unwrap());
        Index { images, attestation, manifest }
    }

    /// Every manifest the index names, attestation included.
    pub fn all_images(&self) -> Vec<&Image> {
        self.images.iter().chain(self.attestation.iter()).collect()
    }
}

/// Writes an image (or index with its images) as an OCI layout at `dir`
/// under the ref name `tag`, so that skopeo can push it to a real registry.
pub fn write_layout(dir: &std::path::Path, tag: &str, top: &Blob, images: &[&Image]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &Blob| {
        std::fs::write(blobs.join(b.digest.trim_start_matches("sha256:")), &b.bytes).unwrap();
    };
    put(top);
    for img in images {
        put(&img.manifest);
        for b in img.blobs() {
            put(b);
        }
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut d = top.descriptor();
    d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}
