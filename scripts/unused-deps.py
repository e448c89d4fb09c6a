#!/usr/bin/env python3
"""Fails when a package declares a dependency its Rust sources never name (cargo machete's check).

Usage: python3 scripts/unused-deps.py [MANIFEST...]
Without arguments: the root Cargo.toml, every member of its [workspace] and fuzz/Cargo.toml.

Why in the repository rather than `cargo install cargo-machete`: on a fresh CI machine the
install compiles machete and its dependencies, 130-168 s of the 2-core machine's time for a text
search that takes well under a second. The rule is machete's:

- every dependency of a package -- [dependencies], [dev-dependencies], [build-dependencies], and
  each of those under [target.'cfg(..)'] -- must be named in the Rust sources that package
  compiles, by its crate name (dashes as underscores, or the key of a `package = ` rename) as
  the start of a path (`tokio::spawn`, `#[tokio::test]`), in a `use` or in `extern crate`;
- a package's sources are the .rs files below its manifest, minus nested packages and target
  directories, plus the files they pull in with `#[path = ".."]` or `include!`;
- comments do not count, so a dependency mentioned only in prose is reported;
- a dependency used without being named (a feature switch for another crate, a linker-only
  crate) is listed with its reason under `[package.metadata.unused-deps.ignored]`
  (`name = "why"`); machete's `[package.metadata.cargo-machete] ignored = [..]` is honoured too.

Exit status 1 and one line per unused dependency when any is found; 0 otherwise.
"""

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEP_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")

# Comments are dropped; string and char literals are blanked so that a crate name inside one
# does not count (and a `//` inside a string does not start a comment).
LEXEME = re.compile(
    r"""//[^\n]*|/\*.*?\*/|r(\#*)".*?"\1|"(?:\\.|[^"\\])*"|'(?:\\.|[^\\'\n])'""", re.S
)
# Files a source pulls in beside `mod` resolution: `#[path = "x.rs"]` and `include!(.. "x.rs")`.
PULLED_IN = re.compile(
    r'#\[path\s*=\s*"([^"]+)"\]'
    r'|include!\s*\((?:[^()]|\([^()]*\))*?"([^"]+\.rs)"'
)


def strip(text):
    """The source with comments removed and literals emptied."""

    def repl(m):
        s = m.group(0)
        if s.startswith("/"):
            return "\n" * s.count("\n")
        return '""'

    return LEXEME.sub(repl, text)


def package_dirs():
    """Directories of the packages below ROOT, so a package's walk skips nested ones."""
    return {p.parent for p in ROOT.rglob("Cargo.toml") if "target" not in p.relative_to(ROOT).parts}


def sources(pkg_dir, nested):
    """The .rs files the package at pkg_dir compiles (see the module doc)."""
    files = set()
    for f in pkg_dir.rglob("*.rs"):
        rel = f.relative_to(pkg_dir)
        if "target" in rel.parts or rel.parts[0].startswith("."):
            continue
        if any(d != pkg_dir and d.is_relative_to(pkg_dir) and f.is_relative_to(d) for d in nested):
            continue
        files.add(f.resolve())
    todo = list(files)
    while todo:
        f = todo.pop()
        for m in PULLED_IN.finditer(f.read_text(encoding="utf-8")):
            rel = m.group(1) or m.group(2)
            # Relative to the including file, or to the manifest (`env!("CARGO_MANIFEST_DIR")`).
            for base in (f.parent, pkg_dir):
                target = (base / rel.lstrip("/")).resolve()
                if target.is_file() and target not in files:
                    files.add(target)
                    todo.append(target)
    return files


def declared(manifest):
    """(crate name in source, key in the manifest, table) for each dependency declared."""
    tables = []
    for t in DEP_TABLES:
        tables.append((t, manifest.get(t, {})))
    for cfg, target in manifest.get("target", {}).items():
        for t in DEP_TABLES:
            tables.append((f"target.'{cfg}'.{t}", target.get(t, {})))
    # A library whose crate name is not its package's (machete's `renamed`, e.g.
    # `rustls-webpki = "webpki"`).
    lib_names = manifest.get("package", {}).get("metadata", {}).get("cargo-machete", {}).get("renamed", {})
    out = []
    for table, deps in tables:
        for key, spec in deps.items():
            # A `package =` rename is named in source by its key, as is any other dependency.
            in_source = lib_names.get(key, key)
            out.append((in_source.replace("-", "_"), key, table))
    return out


def ignored(manifest):
    meta = manifest.get("package", {}).get("metadata", {})
    names = set(meta.get("unused-deps", {}).get("ignored", {}))
    names |= set(meta.get("cargo-machete", {}).get("ignored", []))
    return names


def used(crate, text):
    # The start of a path (not `x::crate::`, not a field `.crate`), a `use` (also inside a
    # `use {..}` group), or `extern crate`.
    return re.search(
        rf"(?<![\w.:]){crate}\s*::|\buse\s+(?:::)?{crate}\b|\buse\s*\{{[^;]*?(?<![\w:]){crate}\b"
        rf"|\bextern\s+crate\s+{crate}\b",
        text,
    )


def check(manifest_path, nested):
    manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    pkg_dir = manifest_path.parent.resolve()
    text = "\n".join(strip(f.read_text(encoding="utf-8")) for f in sorted(sources(pkg_dir, nested)))
    skip = ignored(manifest)
    problems = []
    for crate, key, table in declared(manifest):
        if key in skip or used(crate, text):
            continue
        problems.append(f"{manifest_path.relative_to(ROOT)}: [{table}] {key} is never named in the package's sources")
    return problems


def default_manifests():
    root = (ROOT / "Cargo.toml").resolve()
    found = [root]
    for member in tomllib.loads(root.read_text(encoding="utf-8")).get("workspace", {}).get("members", []):
        m = (ROOT / member / "Cargo.toml").resolve()
        if m not in found:
            found.append(m)
    fuzz = (ROOT / "fuzz" / "Cargo.toml").resolve()
    if fuzz.is_file() and fuzz not in found:
        found.append(fuzz)
    return found


def main(argv):
    manifests = [Path(a).resolve() for a in argv] or default_manifests()
    nested = package_dirs()
    problems = [p for m in manifests for p in check(m, nested)]
    for p in problems:
        print(p)
    names = ", ".join(str(m.relative_to(ROOT)) for m in manifests)
    if problems:
        print(f"unused dependencies: {len(problems)} (remove them, or list them with a reason under "
              "[package.metadata.unused-deps.ignored])", file=sys.stderr)
        return 1
    print(f"no unused dependencies in {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
