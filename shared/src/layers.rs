//! The crate's layers, lowest first, and the test that holds them. A module may use the modules
//! of lower layers, never those of its own layer or a higher one; the features (monitoring,
//! communications, Customer Centre, webhooks) share a layer, so none knows another, and what
//! crosses them lives in `flows` above. Within the crate no file depends on itself through
//! others (no import cycle), so each file can be read knowing only the ones below it.
//!
//! | layer | modules                                   | holds                                       |
//! |-------|-------------------------------------------|---------------------------------------------|
//! | 0     | `contact_points`, `schedule`, `telemetry` | e-mail addresses and phone numbers; plumbing |
//! | 1     | `ports`                                   | one trait per outside capability             |
//! | 2     | `domain`                                  | values that validate when built; rules       |
//! | 3     | `keys`, `render`, `config`                | the table's key schema; e-mails and pages    |
//! | 4     | `adapters`, `services`                    | the ports over AWS, embedded and test stores |
//! | 5     | `records`, `access`                       | tenants, clients, contacts, roles in the table; portal sign-in parts |
//! | 6     | `monitoring`, `comms`, `centre`, `webhooks` | the features                               |
//! | 7     | `flows`, `account`                        | what crosses features; the account portal    |

/// Each top-level module's layer (see the table above).
pub const LAYERS: &[(&str, u8)] = &[
    ("contact_points", 0),
    ("schedule", 0),
    ("telemetry", 0),
    ("ports", 1),
    ("domain", 2),
    ("keys", 3),
    ("render", 3),
    ("config", 3),
    ("adapters", 4),
    ("services", 4),
    ("records", 5),
    ("access", 5),
    ("monitoring", 6),
    ("comms", 6),
    ("centre", 6),
    ("webhooks", 6),
    ("flows", 7),
    ("account", 7),
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use super::LAYERS;

    /// Every `.rs` file under `src/`, as its module path (`comms/run`, `domain`, `lib`).
    fn files() -> BTreeMap<String, String> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
            for entry in std::fs::read_dir(dir).expect("src is readable") {
                let path: PathBuf = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let rel = path.strip_prefix(root).expect("under src");
                    let name = rel.with_extension("").to_string_lossy().replace('\\', "/");
                    let name = name.strip_suffix("/mod").unwrap_or(&name).to_owned();
                    out.insert(name, std::fs::read_to_string(&path).expect("readable"));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = BTreeMap::new();
        walk(&root, &root, &mut out);
        out
    }

    /// The code of a file without comments, string literals or its unit tests: what it uses.
    fn code(text: &str) -> String {
        let text = text.split("\n#[cfg(test)]").next().unwrap_or(text);
        text.lines()
            .map(|line| line.trim_start())
            .filter(|line| !line.starts_with("//"))
            .map(|line| {
                // Drop string literals' contents so a path in a message is not a use.
                let mut kept = String::new();
                let mut in_string = false;
                let mut escaped = false;
                for c in line.chars() {
                    match (in_string, escaped, c) {
                        (true, false, '\\') => escaped = true,
                        (true, _, '"') if !escaped => in_string = false,
                        (true, _, _) => escaped = false,
                        (false, _, '"') => in_string = true,
                        (false, _, c) => kept.push(c),
                    }
                }
                kept
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The files a file uses: `crate::a::b` (the file `a/b` if there is one, else `a`) and
    /// `super::b` (a sibling).
    fn uses(name: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
        let code = code(text);
        let parent = match name.rsplit_once('/') {
            Some((parent, _)) => parent.to_owned(),
            None => String::new(),
        };
        let mut found = BTreeSet::new();
        let ident = |s: &str| -> Vec<String> {
            s.split("::")
                .map(|p| {
                    p.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .take_while(|p| !p.is_empty())
                .collect()
        };
        for (marker, base) in [("crate::", String::new()), ("super::", parent)] {
            // `super::` of a module's own `mod.rs` (`name` is the folder) is its parent's; only
            // file-level `super::` is followed, which is what this crate uses.
            for (at, _) in code.match_indices(marker) {
                if code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &code[at + marker.len()..];
                let parts = ident(rest);
                // `a::{b, c::D}` names several paths under `a`.
                let consumed: usize = parts.iter().map(|p| p.len() + 2).sum();
                let paths = match rest.get(consumed..).and_then(|r| r.strip_prefix('{')) {
                    Some(group) => group
                        .split('}')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .map(|item| {
                            let mut path = parts.clone();
                            path.extend(ident(item.trim()));
                            path
                        })
                        .collect(),
                    None => vec![parts],
                };
                for parts in paths {
                    let mut path = base.clone();
                    let mut best = None;
                    for part in parts {
                        path = if path.is_empty() {
                            part
                        } else {
                            format!("{path}/{part}")
                        };
                        if known.contains(&path) {
                            best = Some(path.clone());
                        }
                    }
                    if let Some(best) = best
                        && best != name
                    {
                        found.insert(best);
                    }
                }
            }
        }
        found
    }

    fn layer(name: &str) -> Option<(&'static str, u8)> {
        let top = name.split('/').next().unwrap_or(name);
        LAYERS.iter().find(|(m, _)| *m == top).copied()
    }

    #[test]
    fn every_module_has_a_layer() {
        for name in files().keys() {
            if name == "lib" || name == "layers" {
                continue;
            }
            assert!(
                layer(name).is_some(),
                "{name} is in no layer: add its module to LAYERS in layers.rs"
            );
        }
    }

    #[test]
    fn no_module_uses_its_own_layer_or_a_higher_one() {
        let files = files();
        let known: BTreeSet<String> = files.keys().cloned().collect();
        let mut wrong = Vec::new();
        for (name, text) in &files {
            let Some((top, rank)) = layer(name) else {
                continue;
            };
            for used in uses(name, text, &known) {
                let Some((used_top, used_rank)) = layer(&used) else {
                    continue;
                };
                if used_top != top && used_rank >= rank {
                    wrong.push(format!(
                        "{name} (layer {rank}) uses {used} (layer {used_rank})"
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "layers broken:\n{}", wrong.join("\n"));
    }

    #[test]
    fn no_file_depends_on_itself_through_others() {
        let files = files();
        let known: BTreeSet<String> = files.keys().cloned().collect();
        let graph: BTreeMap<&str, BTreeSet<String>> = files
            .iter()
            .map(|(name, text)| (name.as_str(), uses(name, text, &known)))
            .collect();
        // A file is in a cycle when it can reach itself.
        let mut cycles = Vec::new();
        for start in graph.keys() {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<(String, Vec<String>)> = graph[start]
                .iter()
                .map(|n| (n.clone(), vec![start.to_string(), n.clone()]))
                .collect();
            while let Some((node, path)) = todo.pop() {
                if node == *start {
                    cycles.push(path.join(" -> "));
                    break;
                }
                if !seen.insert(node.clone()) {
                    continue;
                }
                if let Some(next) = graph.get(node.as_str()) {
                    for n in next {
                        let mut p = path.clone();
                        p.push(n.clone());
                        todo.push((n.clone(), p));
                    }
                }
            }
        }
        assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    }

    #[test]
    fn the_checker_sees_a_use_of_a_higher_layer() {
        let known: BTreeSet<String> = ["domain/clients", "comms/workflows", "comms"]
            .into_iter()
            .map(String::from)
            .collect();
        let text = "//! uses crate::comms in a comment\nuse crate::comms::{workflows};\nfn f() { \"crate::flows\"; }\n";
        let found = uses("domain/clients", text, &known);
        assert_eq!(found, BTreeSet::from(["comms/workflows".to_owned()]));
        let text = "use crate::comms::workflows::Workflow;\n";
        let found = uses("domain/clients", text, &known);
        assert_eq!(found, BTreeSet::from(["comms/workflows".to_owned()]));
    }
}
