//! The server's modules are layers that only point down (ARCHITECTURE.md, the module map):
//! this reads `server/src` and fails on a module that uses one of its own layer or above, and
//! on an import cycle between files (module files' own declarations and re-exports of their
//! children aside). Test modules (`#[cfg(test)] mod tests`, at the end of a file) may reach
//! anywhere and are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and its layer, lowest first (ARCHITECTURE.md says what each is).
const LAYERS: &[(&str, u32)] = &[
    ("config", 0),
    ("ledger", 0),
    ("metrics", 0),
    ("open_files", 0),
    ("systemd", 0),
    ("logging", 1),
    ("db", 2),
    ("limits", 2),
    ("tls", 2),
    ("store", 3),
    ("sandbox", 3),
    ("acme", 4),
    ("preflight", 5),
    ("auth", 4),
    ("http", 5),
    ("net", 6),
    ("admin", 7),
    ("server", 8),
    ("fuzzing", 9),
    ("lib", 10),
    ("main", 10),
];

/// A source file as a module path: `config/load.rs` is `config/load`, `config/mod.rs` is
/// `config`.
fn module_of(rel: &str) -> String {
    let m = rel.strip_suffix(".rs").unwrap_or(rel);
    m.strip_suffix("/mod").unwrap_or(m).to_string()
}

fn top(module: &str) -> &str {
    module.split('/').next().unwrap_or(module)
}

/// The code of a file without comments, doc text and its trailing test module.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifier path after `prefix` at each place it occurs (`crate::a::b::C` gives
/// `["a", "b", "C"]`); `{` ends a path.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<&str> = rest[..end].split("::").filter(|s| !s.is_empty()).collect();
        out.push(path);
    }
    out
}

/// The longest module file that `path` (components below the crate root) names.
fn resolve(modules: &BTreeSet<String>, path: &[&str]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("/"))
        .find(|m| modules.contains(m))
}

/// Every layering problem in `files` (path relative to `src/`, text).
fn problems(files: &[(String, String)]) -> Vec<String> {
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let modules: BTreeSet<String> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut found = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in files {
        let me = module_of(path);
        let Some(&mine) = layer.get(top(&me)) else {
            found.push(format!(
                "{path}: module `{}` has no layer in LAYERS",
                top(&me)
            ));
            continue;
        };
        let code = code_of(text);
        if code.contains("crate::{") {
            found.push(format!(
                "{path}: `crate::{{...}}`: import each module on its own line"
            ));
        }
        let mut targets = Vec::new();
        for p in paths_after(&code, "crate::") {
            let Some(first) = p.first() else { continue };
            if let Some(&theirs) = layer.get(first)
                && *first != top(&me)
                && theirs >= mine
            {
                found.push(format!(
                    "{path}: uses crate::{} (layer {theirs}) from `{}` (layer {mine})",
                    p.join("::"),
                    top(&me)
                ));
            }
            targets.extend(resolve(&modules, &p));
        }
        // `super::` from a module file (`a/b.rs`) names its parent `a`; from `a/mod.rs`, the
        // crate root, which nothing here uses.
        if !path.ends_with("mod.rs")
            && let Some((parent, _)) = me.rsplit_once('/')
        {
            for p in paths_after(&code, "super::") {
                let mut full = vec![parent];
                full.extend(p);
                targets.extend(resolve(&modules, &full));
            }
        }
        for t in targets {
            // A module file declaring or re-exporting its own children is not a dependency.
            if t != me && !t.starts_with(&format!("{me}/")) {
                edges.entry(me.clone()).or_default().insert(t);
            }
        }
    }
    found.extend(cycles(&edges));
    found
}

/// One line per import cycle found between files.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_string());
            found.push(format!("import cycle: {}", cycle.join(" -> ")));
            return;
        }
        if !done.insert(node.to_string()) {
            return;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, found);
        }
        stack.pop();
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn read_tree(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("below src");
                let rel = rel.to_str().expect("utf-8 path").replace('\\', "/");
                files.push((rel, std::fs::read_to_string(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_servers_layers_only_point_down_and_no_file_imports_in_a_cycle() {
    let files = read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(files.len() > 60, "read only {} files", files.len());
    let found = problems(&files);
    assert!(found.is_empty(), "{found:#?}");
}

/// The check itself fails on what it is for: an upward import, a same-layer import, a cycle
/// between two files of one module, and a module nobody placed.
#[test]
fn the_layer_check_finds_upward_imports_and_cycles() {
    let file = |p: &str, t: &str| (p.to_string(), t.to_string());
    let files = vec![
        file("auth/mod.rs", "pub mod session;"),
        file("auth/session.rs", "use crate::http::AppState;"),
        file("http/mod.rs", "pub struct AppState;"),
        file("tls/mod.rs", "use crate::limits::client_key::ClientKey;"),
        file("limits/mod.rs", "pub mod client_key;"),
        file("limits/client_key.rs", "pub struct ClientKey;"),
        file("config/load.rs", "use super::validate::validate;"),
        file(
            "config/validate.rs",
            "use super::load::Origins;\n#[cfg(test)]\nmod tests { use crate::server::x; }",
        ),
        file(
            "config/mod.rs",
            "pub use load::load;\n// crate::server in a comment",
        ),
        file("ghost.rs", ""),
    ];
    let found = problems(&files);
    let has = |needle: &str| found.iter().any(|f| f.contains(needle));
    assert!(
        has("auth/session.rs: uses crate::http::AppState"),
        "{found:#?}"
    );
    assert!(
        has("tls/mod.rs: uses crate::limits::client_key"),
        "{found:#?}"
    );
    assert!(
        has("import cycle: config/load -> config/validate -> config/load"),
        "{found:#?}"
    );
    assert!(has("ghost.rs: module `ghost` has no layer"), "{found:#?}");
    assert_eq!(
        found.len(),
        4,
        "nothing else (comments and tests are not read): {found:#?}"
    );
}
