//! `inspect` (what skopeo inspect shows, for a remote reference through the
//! mirrors and for a layout's image) and `ls` as a table.

use crate::support::Test;
use crate::support::image::{Image, ImageBuilder, Index};
use crate::support::registry::{Registry, mirror_and_authority};

#[test]
fn inspect_shows_a_remote_image_through_the_mirror_without_its_layers() {
    let img = Image::oci(130, &[1000, 2000]);
    let (mirror, authority, reference) = mirror_and_authority(&img);
    let t = Test::new();
    let out = t.run_with(["inspect", &reference, "--mirror", &mirror.url(), "--json"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], img.manifest.digest);
    assert_eq!(j["imageDigest"], img.manifest.digest);
    assert_eq!(j["platform"], "linux/amd64");
    assert_eq!(j["servedBy"]["endpoint"], mirror.url());
    let layers = j["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[1]["digest"], img.layers[1].digest);
    assert_eq!(layers[1]["size"], 2000);
    for l in &img.layers {
        let path = format!("/v2/team/app/blobs/{}", l.digest);
        assert_eq!(
            mirror.count("GET", &path) + authority.count("GET", &path),
            0,
            "no layer fetched"
        );
    }
    // For a person: one field a line.
    let out = t.run_with(["inspect", &reference, "--mirror", &mirror.url()]);
    out.assert_success();
    assert!(
        out.stdout
            .starts_with(&format!("Name:       {reference}\nDigest:     {}", img.manifest.digest))
    );
    assert!(out.stdout.contains("Platform:   linux/amd64\n"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("  {}  ", img.layers[0].digest)), "{}", out.stdout);
}

#[test]
fn inspect_picks_a_platform_of_an_index_and_reads_layouts_too() {
    let reg = Registry::start();
    let arm = ImageBuilder::new(132).platform("linux", "arm64", None).layers(&[100]).build();
    let index = Index::new(vec![Image::oci(131, &[100]), arm.clone()], true);
    reg.push_index("team/multi", "v1", &index);
    let reference = format!("{}/team/multi:v1", reg.host());
    let t = Test::new();
    let out = t.run_with(["inspect", &reference, "--platform", "linux/arm64", "--json"]);
    out.assert_success();
    let j = out.json();
    assert_eq!(j["digest"], index.manifest.digest);
    assert_eq!(j["imageDigest"], arm.manifest.digest);
    assert_eq!(j["platforms"], serde_json::json!(["linux/amd64", "linux/arm64"]));
    let out = t.run_with(["inspect", &reference, "--platform", "windows/amd64"]);
    out.assert_code(3);

    t.run_with(["pull", &reference, "-o", &t.layout_str(), "--all-platforms"]).assert_success();
    // The layout's only image: DIR alone; by name: DIR:NAME or oci:DIR:NAME.
    for arg in [
        t.layout_str(),
        format!("{}:{reference}", t.layout_str()),
        format!("oci:{}", t.layout_str()),
    ] {
        let out = t.run_with(["inspect", &arg, "--platform", "linux/arm64", "--json"]);
        out.assert_success();
        let j = out.json();
        assert_eq!(j["imageDigest"], arm.manifest.digest, "{arg}");
        assert_eq!(j["servedBy"], serde_json::Value::Null);
        assert_eq!(j["source"], reg.url());
    }
    let out = t.run_with(["inspect", &format!("{}:nothing-here", t.layout_str())]);
    out.assert_code(3);
    assert!(out.stderr.contains("holds no image named nothing-here"), "{}", out.dump());
}

#[test]
fn ls_prints_a_table_with_a_header_and_aligned_columns() {
    let reg = Registry::start();
    let (a, b) = (Image::oci(133, &[100]), ImageBuilder::new(134).docker().layers(&[100]).build());
    reg.push_image("team/a", "v1", &a).push_image("team/longer-name", "v1", &b);
    let t = Test::new();
    let (ra, rb) =
        (format!("{}/team/a:v1", reg.host()), format!("{}/team/longer-name:v1", reg.host()));
    t.run_with(["pull", &ra, &rb, "-o", &t.layout_str()]).assert_success();
    let out = t.run_with(["ls", &t.layout_str()]);
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(lines[0].starts_with("NAME "), "{}", out.stdout);
    for column in ["DIGEST", "PLATFORM", "FORMAT", "TRUST", "SOURCE"] {
        let at = lines[0].find(column).unwrap();
        for row in &lines[1..] {
            assert_eq!(
                &row[at - 2..at],
                "  ",
                "{column} starts after two spaces in every row:\n{}",
                out.stdout
            );
        }
    }
    let row_a = lines.iter().find(|l| l.starts_with(&ra)).unwrap();
    assert!(
        row_a.contains(&a.manifest.digest)
            && row_a.contains("oci image")
            && row_a.contains("authority")
    );
    assert!(
        lines.iter().any(|l| l.starts_with(&rb) && l.contains("docker image")),
        "{}",
        out.stdout
    );
    // -q: the rows alone, for scripts.
    let quiet = t.run_with(["ls", &t.layout_str(), "-q"]);
    assert_eq!(quiet.stdout.lines().count(), 2, "{}", quiet.stdout);
}
