//! Keeps the `# Layout` list in `lib.rs` true: every `crate::` path in `src/` (outside the
//! `mod tests` at the bottom of a file) must point at a module listed at or below the module the
//! file belongs to. The list is read from `lib.rs` itself, so moving a module means moving its
//! line, and a new module must be placed in the list before anything may import it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Module path (`server::body`) → its bullet's index in the `# Layout` list (0 = where requests
/// enter). Only links that name a module file count, so `[`token::ImageClaims`]` is ignored.
fn layout_ranks(src: &Path) -> HashMap<String, usize> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs is readable");
    let mut ranks = HashMap::new();
    let mut rank = None::<usize>;
    let mut in_layout = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            break;
        };
        let doc = doc.trim();
        if doc.starts_with('#') {
            in_layout = doc == "# Layout";
            continue;
        }
        if !in_layout {
            continue;
        }
        if doc.starts_with("- ") {
            rank = Some(rank.map_or(0, |r| r + 1));
        }
        let Some(rank) = rank else { continue };
        let mut rest = doc;
        while let Some(start) = rest.find("[`") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("`]") else { break };
            let path = &after[..end];
            if module_file(src, path).is_some() {
                ranks.entry(path.to_owned()).or_insert(rank);
            }
            rest = &after[end + 2..];
        }
    }
    ranks
}

/// The file defining module `path` (`a::b` → `src/a/b.rs` or `src/a/b/mod.rs`).
fn module_file(src: &Path, path: &str) -> Option<PathBuf> {
    let rel: PathBuf = path.split("::").collect();
    let file = src.join(&rel).with_extension("rs");
    let dir = src.join(&rel).join("mod.rs");
    [file, dir].into_iter().find(|p| p.is_file())
}

/// The module path of a source file (`src/server/mod.rs` → `server`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_owned());
    }
    parts.join("::")
}

/// The listed module that `path` falls in: its longest listed prefix.
fn unit_of<'a>(ranks: &'a HashMap<String, usize>, path: &str) -> Option<(&'a str, usize)> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len()).rev().find_map(|n| {
        ranks
            .get_key_value(segments[..n].join("::").as_str())
            .map(|(k, r)| (k.as_str(), *r))
    })
}

/// Every path a piece of code names after `crate::`, with `use` groups expanded:
/// `crate::{ops, server::{self, body}}` → `ops`, `server`, `server::body`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let used = expand("", rest, &mut out);
        rest = &rest[used..];
    }
    out
}

/// Reads one path tree at the start of `s` (prefixed by `prefix`) into `out`; returns the bytes
/// read.
fn expand(prefix: &str, s: &str, out: &mut Vec<String>) -> usize {
    let mut path = prefix.to_owned();
    let mut i = 0;
    let bytes = s.as_bytes();
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'{' {
            i += 1;
            loop {
                i += expand(&path, &s[i..], out);
                while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    return (i + 1).min(bytes.len());
                }
            }
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let name = &s[start..i];
        if !name.is_empty() && name != "self" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(name);
        }
        if s[i..].starts_with("::") {
            i += 2;
            continue;
        }
        if !path.is_empty() {
            out.push(path);
        }
        return i;
    }
}

/// A file's code without comments and without its bottom `mod tests` (tests may reach anywhere).
fn checked_code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| l.split(" // ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_import_points_down_the_layout_list() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ranks = layout_ranks(&src);
    assert!(
        ranks.len() >= 10,
        "the # Layout list was not found: {ranks:?}"
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if matches!(module.as_str(), "lib" | "main" | "layering") {
            continue;
        }
        let Some((unit, rank)) = unit_of(&ranks, &module) else {
            wrong.push(format!("{module}: not in lib.rs's # Layout list"));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        for path in crate_paths(&checked_code(&text)) {
            match unit_of(&ranks, &path) {
                None => wrong.push(format!("{module}: crate::{path} is in no listed module")),
                Some((to, to_rank)) if to_rank < rank => wrong.push(format!(
                    "{module} ({unit}) uses crate::{path}, which the list puts above it ({to})"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layout:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_sees_groups_and_skips_comments() {
    let code = checked_code(
        "use crate::{ops, server::{self, body::ReqBody}};\n\
         // use crate::cmd;\n\
         let x = crate::store::open(); // crate::api\n\
         fn f() -> my_crate::X {}\n\
         #[cfg(test)]\nmod tests {\n    use crate::cmd;\n}\n",
    );
    assert_eq!(
        crate_paths(&code),
        ["ops", "server", "server::body::ReqBody", "store::open"]
    );
}

#[test]
fn an_upward_import_is_caught() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ranks = layout_ranks(&src);
    let (_, render) = unit_of(&ranks, "render::png").expect("render is listed");
    let (_, server) = unit_of(&ranks, "server").expect("server is listed");
    let (_, body) = unit_of(&ranks, "server::body").expect("server::body is listed");
    assert!(server < render, "the accept loops sit above the renderer");
    assert!(
        render < body,
        "request bodies sit below every domain module"
    );
}
