use super::*;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

fn config_json() -> String {
    format!(r#"{{"mediaType":"x","digest":"{}","size":1}}"#, Digest::sha256(b"c"))
}

/// An image manifest with no `mediaType`, as OCI allows.
fn untyped_image() -> Vec<u8> {
    format!(r#"{{"schemaVersion":2,"config":{},"layers":[]}}"#, config_json()).into_bytes()
}

fn received(body: &[u8], content_type: Option<&str>) -> Result<Manifest, ImageError> {
    Manifest::from_response(Bytes::copy_from_slice(body), content_type, None, None)
}

#[test]
fn media_type_rules() {
    let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}"#;
    assert_eq!(
        media_type(Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"), oci).unwrap(),
        MediaType::OciManifest
    );
    assert!(media_type(Some(OCI_INDEX), oci).is_err(), "header and body disagree");
    assert_eq!(media_type(Some("application/json"), oci).unwrap(), MediaType::OciManifest);
    assert_eq!(
        media_type(None, br#"{"schemaVersion":2,"manifests":[]}"#).unwrap(),
        MediaType::OciIndex
    );
    let e = media_type(Some(DOCKER_SCHEMA1_SIGNED), b"{}").unwrap_err().to_string();
    assert!(e.contains("schema 1") && e.contains("re-push"), "{e}");
    assert!(
        media_type(None, br#"{"schemaVersion":1,"fsLayers":[]}"#)
            .unwrap_err()
            .to_string()
            .contains("schema 1")
    );
    assert!(media_type(Some("text/html"), b"<html>").unwrap_err().to_string().contains("HTML"));
    assert!(media_type(Some("application/json"), b"<html>").is_err());
}

#[test]
fn media_type_errors_are_typed() {
    let oci = br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}"#;
    assert!(matches!(
        received(oci, Some(OCI_INDEX)),
        Err(ImageError::MediaTypeMismatch { header: MediaType::OciIndex, .. })
    ));
    assert_eq!(received(b"  <!DOCTYPE html>", None), Err(ImageError::HtmlPage));
    assert_eq!(received(b"{}", Some("Text/HTML; charset=utf-8")), Err(ImageError::HtmlPage));
    assert!(matches!(received(b"{not json", None), Err(ImageError::NotJson { .. })));
    // serde reads structs from arrays too; a manifest is an object.
    assert!(matches!(
        received(b"[null,null,null,null,null]", None),
        Err(ImageError::NotJson { .. })
    ));
    let artifact = br#"{"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}"#;
    assert!(matches!(received(artifact, None), Err(ImageError::UnsupportedMediaType(_))));
    let config = br#"{"architecture":"amd64"}"#;
    assert!(matches!(
        received(config, Some("application/vnd.oci.image.config.v1+json")),
        Err(ImageError::Ambiguous { media_type: MediaType::OciManifest, .. })
    ));
    let too_big = vec![b' '; MAX_MANIFEST_SIZE + 1];
    assert!(matches!(received(&too_big, None), Err(ImageError::TooLarge { .. })));
}

#[test]
fn null_lists_as_go_writes_them_are_empty() {
    let image = format!(r#"{{"schemaVersion":2,"config":{},"layers":null}}"#, config_json());
    match parse_body(image.as_bytes(), &MediaType::OciManifest).unwrap() {
        Parsed::Image(ImageManifest { layers, .. }) => assert!(layers.is_empty()),
        Parsed::Index(_) => panic!("an image"),
    }
    let index = r#"{"schemaVersion":2,"manifests":null}"#;
    match parse_body(index.as_bytes(), &MediaType::OciIndex).unwrap() {
        Parsed::Index(IndexManifest { manifests }) => assert!(manifests.is_empty()),
        Parsed::Image(_) => panic!("an index"),
    }
    // A `null` list is no list: it makes nothing ambiguous.
    let index_with_null_layers = r#"{"manifests":[],"layers":null,"config":null}"#;
    assert!(received(index_with_null_layers.as_bytes(), Some(OCI_INDEX)).is_ok());
}

#[test]
fn an_image_served_as_an_index_is_refused_not_read_as_an_empty_index() {
    // The hostile-mirror finding: this parsed as an index with no entries,
    // so nothing was fetched and the pull "succeeded".
    let e = received(&untyped_image(), Some(OCI_INDEX)).unwrap_err();
    assert!(matches!(e, ImageError::Ambiguous { media_type: MediaType::OciIndex, .. }), "{e}");
    assert!(e.to_string().contains("no manifests"), "{e}");
    // And parsing it as declared fails the same way.
    let e = parse_body(&untyped_image(), &MediaType::OciIndex).unwrap_err();
    assert!(matches!(e, ImageError::Ambiguous { .. }), "{e}");
    // Served as what it is, it is fine.
    let m = received(&untyped_image(), Some(OCI_MANIFEST)).unwrap();
    assert!(matches!(m.parse().unwrap(), Parsed::Image(_)));
    assert!(received(&untyped_image(), None).is_ok(), "by shape");
}

#[test]
fn bodies_whose_shape_contradicts_their_type_are_refused() {
    let entry =
        format!(r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1}}"#, Digest::sha256(b"m"));
    let config = config_json();
    let cases = [
        ("an index type with only layers", r#"{"layers":[]}"#.to_string(), Some(OCI_INDEX)),
        ("an index type with a config", format!(r#"{{"config":{config}}}"#), Some(OCI_INDEX)),
        (
            "an image type with manifests",
            format!(r#"{{"config":{config},"manifests":[{entry}]}}"#),
            Some(OCI_MANIFEST),
        ),
        (
            "an image type with only manifests",
            format!(r#"{{"manifests":[{entry}]}}"#),
            Some(OCI_MANIFEST),
        ),
        (
            "manifests and layers, no type anywhere",
            format!(r#"{{"manifests":[{entry}],"layers":[]}}"#),
            None,
        ),
        (
            "manifests and layers, typed an index",
            format!(r#"{{"manifests":[{entry}],"layers":[]}}"#),
            Some(OCI_INDEX),
        ),
        (
            "an image without config",
            r#"{"schemaVersion":2,"layers":[]}"#.to_string(),
            Some(OCI_MANIFEST),
        ),
        ("an untyped body with nothing", "{}".to_string(), None),
        (
            "a Docker image without config",
            r#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}"#
                .into(),
            None,
        ),
    ];
    for (what, body, content_type) in cases {
        let e = received(body.as_bytes(), content_type).unwrap_err();
        assert!(matches!(e, ImageError::Ambiguous { .. }), "{what}: {e}");
        // `parse` holds the same line for a manifest built by hand, under
        // the type it would have been given.
        let own_type = || {
            let body: serde_json::Value = serde_json::from_str(&body).ok()?;
            body.get("mediaType")?.as_str().map(MediaType::parse)
        };
        let declared =
            content_type.map(MediaType::parse).or_else(own_type).unwrap_or(MediaType::OciManifest);
        let e = parse_body(body.as_bytes(), &declared).unwrap_err();
        assert!(matches!(e, ImageError::Ambiguous { .. }), "{what} parsed: {e}");
    }
    // An index with no list at all is an empty index, as before.
    let empty = received(br#"{"schemaVersion":2}"#, Some(OCI_INDEX)).unwrap();
    assert_eq!(empty.parse().unwrap(), Parsed::Index(IndexManifest { manifests: vec![] }));
}

#[test]
fn verification() {
    let body = b"{}";
    let d = Digest::sha256(body);
    assert_eq!(verify(body, Some(&d), Some(&d.to_string())).unwrap(), d);
    let other = Digest::sha256(b"x");
    assert!(verify(body, Some(&other), None).is_err());
    assert!(verify(body, None, Some(&other.to_string())).is_err());
    assert!(verify(body, None, Some("sha256:nothex")).is_err());
}

#[test]
fn digests_are_compared_in_their_own_algorithm() {
    let body = b"{}";
    let sha256 = Digest::sha256(body);
    let sha512 = Digest::of(Algorithm::Sha512, body);
    // A sha512 header and a sha256 request: both hold, each in its own.
    assert_eq!(verify(body, Some(&sha256), Some(&sha512.to_string())).unwrap(), sha256);
    assert_eq!(verify(body, Some(&sha512), Some(&sha256.to_string())).unwrap(), sha512);
    assert_eq!(verify(body, None, Some(&sha512.to_string())).unwrap(), sha256, "kept as sha256");
    let wrong512 = Digest::of(Algorithm::Sha512, b"x");
    match verify(body, Some(&sha256), Some(&wrong512.to_string())) {
        Err(ImageError::HeaderDigestMismatch { header, body }) => {
            assert_eq!((header, body), (wrong512, sha512.clone()));
        }
        other => panic!("{other:?}"),
    }
    match verify(body, Some(&Digest::of(Algorithm::Sha512, b"y")), None) {
        Err(ImageError::DigestMismatch { got, .. }) => assert_eq!(got, sha512),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        verify(body, None, Some("md5:x\u{1b}")),
        Err(ImageError::BadHeaderDigest { .. })
    ));
}

#[test]
fn digest_in_gives_the_digest_a_registry_would_name() {
    let body = Bytes::from(untyped_image());
    let sha512 = Digest::of(Algorithm::Sha512, &body);
    let m =
        Manifest::from_response(body.clone(), Some(OCI_MANIFEST), Some(&sha512.to_string()), None)
            .unwrap();
    assert_eq!(m.digest.algorithm(), Algorithm::Sha256);
    assert_ne!(m.digest, sha512, "the mismatch that made a HEAD check fail");
    assert_eq!(m.digest_in(Algorithm::Sha512), sha512);
    assert_eq!(m.digest_in(Algorithm::Sha256), m.digest);
    let by_512 = Manifest::from_response(body, Some(OCI_MANIFEST), None, Some(&sha512)).unwrap();
    assert_eq!(by_512.digest, sha512, "asked for in sha512, named in sha512");
}

#[test]
fn descriptors_are_validated() {
    let bad = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../x","size":1},"layers":[]}"#;
    assert!(parse_body(bad, &MediaType::OciManifest).is_err());
    let neg = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{}","size":-1}},"layers":[]}}"#,
        Digest::sha256(b"")
    );
    assert!(parse_body(neg.as_bytes(), &MediaType::OciManifest).is_err());
}

#[test]
fn index_entries_over_the_manifest_limit_are_refused() {
    let entry = |size: usize| {
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":{size}}}]}}"#,
            Digest::sha256(b"m")
        )
    };
    assert!(parse_body(entry(MAX_MANIFEST_SIZE).as_bytes(), &MediaType::OciIndex).is_ok());
    let e = parse_body(entry(MAX_MANIFEST_SIZE + 1).as_bytes(), &MediaType::OciIndex).unwrap_err();
    assert!(matches!(e, ImageError::EntryTooLarge { .. }), "{e}");
}

#[test]
fn stored_manifests_are_checked_against_their_descriptor() {
    let bytes = Bytes::from(untyped_image());
    let m = received(&bytes, Some(OCI_MANIFEST)).unwrap();
    let d = m.descriptor();
    assert_eq!(Manifest::from_stored(bytes.clone(), &d).unwrap(), m);

    let short = Descriptor { size: d.size - 1, ..d.clone() };
    assert!(matches!(
        Manifest::from_stored(bytes.clone(), &short),
        Err(ImageError::SizeMismatch { .. })
    ));
    let tampered = Bytes::from(String::from_utf8(untyped_image()).unwrap().replace("[]", "[ ]"));
    let same_size = Descriptor { size: tampered.len() as u64, ..d.clone() };
    assert!(matches!(
        Manifest::from_stored(tampered, &same_size),
        Err(ImageError::DigestMismatch { .. })
    ));
    let as_index = Descriptor { media_type: MediaType::OciIndex, ..d };
    assert!(matches!(Manifest::from_stored(bytes, &as_index), Err(ImageError::Ambiguous { .. })));
}
