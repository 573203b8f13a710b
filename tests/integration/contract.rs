//! The JSON contract: every command's real `--json` output checked against
//! the tables of `docs/json.md`. Every field printed must be documented
//! there with its type, and every field documented as `always` present must
//! be printed. The tables are the schema, so the documentation cannot fall
//! behind the output (a JSON Schema file beside them would say the same
//! twice; a small validator here reads the one document people read).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::support::Test;
use crate::support::image::{Image, ImageBuilder, Index};
use crate::support::registry::mirror_and_authority;

/// One documented field.
struct Field {
    kind: String,
    always: bool,
}

/// Every object of docs/json.md: its name (the `###` heading) and fields.
fn contract() -> HashMap<String, HashMap<String, Field>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md");
    let text = std::fs::read_to_string(path).expect("docs/json.md");
    let mut objects: HashMap<String, HashMap<String, Field>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            current = Some(name.trim().to_string());
            objects.insert(name.trim().to_string(), HashMap::new());
            continue;
        }
        let Some(object) = &current else { continue };
        let cells: Vec<String> = split_row(line);
        if cells.len() < 3 || cells[0] == "field" || cells[0].starts_with("---") {
            continue;
        }
        let unquote = |c: &str| c.trim().trim_matches('`').to_string();
        let field = Field { kind: unquote(&cells[1]), always: cells[2].trim() == "always" };
        objects.get_mut(object).unwrap().insert(unquote(&cells[0]), field);
    }
    objects
}

/// The cells of a markdown table row, `\|` kept inside a cell.
fn split_row(line: &str) -> Vec<String> {
    let line = line.trim();
    if !line.starts_with('|') {
        return Vec::new();
    }
    let mut cells = vec![String::new()];
    let mut chars = line[1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push(chars.next().unwrap())
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.pop();
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// Why `value` does not fit `kind` (at `path`), if it does not.
fn check(
    objects: &HashMap<String, HashMap<String, Field>>,
    kind: &str,
    value: &Value,
    path: &str,
) -> Vec<String> {
    let kind = kind.trim();
    if let Some(inner) = kind.strip_suffix('?') {
        return if value.is_null() { Vec::new() } else { check(objects, inner, value, path) };
    }
    let wrong = || vec![format!("{path}: {value} is not {kind}")];
    if let Some(inner) = kind.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
        let Some(items) = value.as_array() else { return wrong() };
        return items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| check(objects, inner, v, &format!("{path}[{i}]")))
            .collect();
    }
    if let Some(inner) = kind.strip_prefix('{').and_then(|k| k.strip_suffix('}')) {
        let Some(map) = value.as_object() else { return wrong() };
        return map
            .iter()
            .flat_map(|(k, v)| check(objects, inner, v, &format!("{path}.{k}")))
            .collect();
    }
    if let Some((a, b)) = kind.split_once(" | ") {
        let (ea, eb) = (check(objects, a, value, path), check(objects, b, value, path));
        return if ea.is_empty() || eb.is_empty() { Vec::new() } else { [ea, eb].concat() };
    }
    if let Some(list) = kind.strip_prefix("enum(").and_then(|k| k.strip_suffix(')')) {
        let ok = value.as_str().is_some_and(|s| list.split(", ").any(|v| v == s));
        return if ok { Vec::new() } else { wrong() };
    }
    let fits = match kind {
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "boolean" => value.is_boolean(),
        name => {
            let Some(fields) = objects.get(name) else {
                return vec![format!("{path}: {name} is not documented")];
            };
            let Some(map) = value.as_object() else { return wrong() };
            let mut errors: Vec<String> = map
                .iter()
                .flat_map(|(k, v)| match fields.get(k) {
                    Some(f) => check(objects, &f.kind, v, &format!("{path}.{k}")),
                    None => vec![format!("{path}.{k}: not documented in {name}")],
                })
                .collect();
            for (k, f) in fields {
                if f.always && !map.contains_key(k) {
                    errors.push(format!(
                        "{path}.{k}: documented as always present in {name}, missing"
                    ));
                }
            }
            return errors;
        }
    };
    if fits { Vec::new() } else { wrong() }
}

/// Checks one document; every top-level object must carry `schemaVersion` 1.
fn assert_fits(
    objects: &HashMap<String, HashMap<String, Field>>,
    kind: &str,
    doc: &Value,
    what: &str,
) {
    let tops: Vec<&Value> = match doc.as_array() {
        Some(items) => items.iter().collect(),
        None => vec![doc],
    };
    for top in tops {
        assert_eq!(top["schemaVersion"], 1, "{what}: no schemaVersion: {doc:#}");
    }
    let errors = check(objects, kind, doc, what);
    assert!(errors.is_empty(), "{what} breaks docs/json.md:\n{}\n{doc:#}", errors.join("\n"));
}

#[test]
fn every_document_fits_the_written_contract() {
    let objects = contract();
    let fits = |kind: &str, doc: &Value, what: &str| assert_fits(&objects, kind, doc, what);
    let img = ImageBuilder::new(120).docker().layers(&[1000]).build();
    let (mirror, authority, reference) = mirror_and_authority(&img);
    let arm = ImageBuilder::new(122).platform("linux", "arm64", None).layers(&[100]).build();
    let multi = Index::new(vec![Image::oci(121, &[100]), arm], true);
    authority.push_index("team/multi", "v1", &multi);
    let multi_ref = format!("{}/team/multi:v1", authority.host());
    let t = Test::new();
    let layout = t.layout_str();
    let m = mirror.url();
    let json = |args: &[&str]| {
        let out = t.run_with([args, &["--json"]].concat());
        assert!(!out.stdout.is_empty(), "{}", out.dump());
        out
    };

    // A pull through the mirror, rewritten as OCI (so `convertedFrom` is there).
    let out = json(&["pull", &reference, "-o", &layout, "--mirror", &m, "--format", "oci"]);
    out.assert_success();
    let pulled = out.json();
    fits("PullReport", &pulled, "pull");
    assert!(Path::new(pulled["output"].as_str().unwrap()).is_absolute());
    assert!(pulled["image"]["convertedFrom"].is_string());
    assert!(pulled["attempts"].as_array().unwrap().iter().any(|a| a["digest"].is_string()));

    // A batch with one failure.
    let missing = format!("{}/team/none:v1", authority.host());
    let out = json(&["pull", &multi_ref, &missing, "-o", &layout, "--all-platforms"]);
    out.assert_code(5);
    fits("BatchReport", &out.json(), "pull (batch)");

    fits("ResolveReport", &json(&["resolve", &reference, "--mirror", &m]).json(), "resolve");
    fits("InspectReport", &json(&["inspect", &multi_ref]).json(), "inspect REF");
    fits(
        "InspectReport",
        &json(&["inspect", &format!("{layout}:{multi_ref}")]).json(),
        "inspect DIR:NAME",
    );
    fits("[LsEntry]", &json(&["ls", &layout]).json(), "ls");
    let tar = t.path().join("out.tar");
    let out = json(&["export", &layout, "-o", tar.to_str().unwrap()]);
    out.assert_success();
    fits("ExportReport", &out.json(), "export");
    let plans = json(&["pull", "--dry-run", &reference, &multi_ref, "--mirror", &m]).stdout;
    let plans: Vec<Value> =
        serde_json::Deserializer::from_str(&plans).into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(plans.len(), 2);
    for doc in &plans {
        fits("PlanReport", doc, "pull --dry-run");
    }
    fits("PlanReport", &json(&["mirrors", &reference, "--mirror", &m]).json(), "mirrors REF");
    fits("MirrorsReport", &json(&["mirrors", "--mirror", &m]).json(), "mirrors");
    fits(
        "CheckReport",
        &json(&["mirrors", "check", &reference, "--mirror", &m]).json(),
        "mirrors check",
    );

    // The blob cache and host memory: a second layout from the cache, past
    // a mirror that refused (remembered, then skipped from memory).
    let dead = "http://127.0.0.1:1";
    let second = t.path().join("second");
    let second = second.to_str().unwrap();
    json(&["pull", &reference, "-o", second, "--mirror", dead]).assert_success();
    let out = json(&["pull", &reference, "-o", &format!("{second}2"), "--mirror", dead]);
    out.assert_success();
    let pulled = out.json();
    fits("PullReport", &pulled, "pull (cache and memory)");
    assert!(pulled["blobs"].as_array().unwrap().iter().all(|b| b["fromCache"] == true));
    assert!(pulled["attempts"].as_array().unwrap().iter().any(|a| a["fromMemory"] == true));
    let mirrors = json(&["mirrors"]).json();
    fits("MirrorsReport", &mirrors, "mirrors (with memory)");
    assert!(!mirrors["remembered"].as_array().unwrap().is_empty(), "{mirrors:#}");
    fits("ForgetReport", &json(&["mirrors", "forget"]).json(), "mirrors forget");
    fits("CacheReport", &json(&["cache"]).json(), "cache");
    fits("PruneReport", &json(&["cache", "prune"]).json(), "cache prune");
    fits("VerifyReport", &json(&["verify", &layout]).json(), "verify");
    fits("GcReport", &json(&["gc", &layout, "--dry-run"]).json(), "gc --dry-run");

    let lock = t.path().join("images.lock");
    let lock = lock.to_str().unwrap();
    let out = json(&["lock", &reference, &multi_ref, "-o", lock]);
    out.assert_success();
    fits("LockReport", &out.json(), "lock");
    fits("LockCheckReport", &json(&["lock", "--check", lock]).json(), "lock --check");

    // Failures: a walk's (with answers), a usage error of ours, and clap's.
    let out = json(&["pull", &missing, "-o", &layout]);
    out.assert_code(3);
    let error = out.json();
    fits("ErrorDocument", &error, "a failed pull");
    assert!(!error["error"]["answers"].as_array().unwrap().is_empty());
    fits("ErrorDocument", &json(&["ls", "nowhere"]).json(), "ls of nothing");
    fits("ErrorDocument", &json(&["pull", "--no-such-flag"]).json(), "a bad flag");
}

#[test]
fn the_contract_documents_each_name_it_uses() {
    let objects = contract();
    for (name, fields) in &objects {
        for (field, f) in fields {
            let names = f.kind.split(['[', ']', '{', '}', '?', ' ', '|']).filter(|n| !n.is_empty());
            for n in names.filter(|n| n.chars().next().is_some_and(char::is_uppercase)) {
                assert!(objects.contains_key(n), "{name}.{field}: {n} is not documented");
            }
        }
    }
}
