//! Keeps `docs/physics.md` and the pointers to it honest: every pointer such as
//! "docs/physics.md §4.2" in the repository's sources, data and documentation, and every
//! section reference inside docs/physics.md itself, must name a numbered section heading of
//! docs/physics.md (`## 4. Title`, `### 4.2 Title`);
//! section numbers must be unique; and nothing may cite the old out-of-tree physics reference.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const DOC: &str = "docs/physics.md";

/// The workspace root (this crate is `crates/physics`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Section numbers of the numbered headings (`##`–`####`), in order; an error for duplicates.
fn section_numbers(doc: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for (i, line) in doc.lines().enumerate() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(2..=4).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let token = line[hashes..].split_whitespace().next().unwrap_or("");
        let number = token.trim_end_matches('.');
        if is_section_number(number) && !out.insert(number.to_string()) {
            return Err(format!(
                "{DOC}:{}: section {number} is numbered twice",
                i + 1
            ));
        }
    }
    Ok(out)
}

fn is_section_number(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The section number at the start of `s` (digits and inner dots), if any.
fn leading_number(s: &str) -> Option<&str> {
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.'))
        .map_or(s.len(), |(i, _)| i);
    let n = s[..end].trim_end_matches('.');
    is_section_number(n).then_some(n)
}

/// Section numbers cited after each "docs/physics.md" in `text`: "§a", "§a, §b", "§a and §b".
fn pointers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (start, _) in text.match_indices(DOC) {
        let mut rest = &text[start + DOC.len()..];
        let mut sep = " §";
        while let Some(after) = rest.strip_prefix(sep) {
            match leading_number(after) {
                Some(n) => out.push(n.to_string()),
                None => out.push(format!(
                    "(unparsable: {})",
                    after.chars().take(12).collect::<String>()
                )),
            }
            rest = &after[leading_number(after).map_or(0, str::len)..];
            sep = if rest.starts_with(", §") {
                ", §"
            } else {
                " and §"
            };
        }
    }
    out
}

/// Every "§N" (N starting with a digit) in `text`: the internal references of the document.
fn internal_references(text: &str) -> Vec<String> {
    text.match_indices('§')
        .filter_map(|(i, _)| leading_number(&text[i + '§'.len_utf8()..]).map(str::to_string))
        .collect()
}

/// Errors for pointers in `text` (from `origin`) that name no section of `sections`.
fn check_text(origin: &str, text: &str, sections: &BTreeSet<String>) -> Vec<String> {
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for p in pointers(line) {
            if !sections.contains(&p) {
                errors.push(format!("{origin}:{}: {DOC} §{p} is not a section", n + 1));
            }
        }
        if line.trim_end().ends_with(DOC) {
            errors.push(format!(
                "{origin}:{}: {DOC} at the end of a line: keep \"{DOC} §N\" on one line",
                n + 1
            ));
        }
        let old = concat!("physics", "-reference");
        if line.contains(old) {
            errors.push(format!(
                "{origin}:{}: cites {old}, which is not in the repository",
                n + 1
            ));
        }
    }
    errors
}

/// Text files of the repository that may point into the document.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "md" | "toml" | "py" | "sh" | "txt")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn every_pointer_names_a_section_of_docs_physics_md() {
    let root = root();
    let doc = fs::read_to_string(root.join(DOC)).expect("docs/physics.md exists");
    let sections = section_numbers(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        sections.len() > 20,
        "too few numbered sections: {sections:?}"
    );

    let mut errors = Vec::new();
    for r in internal_references(&doc) {
        if !sections.contains(&r) {
            errors.push(format!("{DOC}: internal reference §{r} is not a section"));
        }
    }
    let mut paths = Vec::new();
    for top in ["README.md", "ARCHITECTURE.md"] {
        paths.push(root.join(top));
    }
    for dir in ["crates", "data", "benches", "examples", "docs"] {
        files(&root.join(dir), &mut paths);
    }
    let mut pointer_count = 0;
    for path in &paths {
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        pointer_count += pointers(&text).len();
        let origin = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        errors.extend(check_text(&origin, &text, &sections));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The scan must actually see the doc comments' pointers (guards against a broken walk).
    assert!(pointer_count >= 25, "only {pointer_count} pointers found");
}

#[test]
fn the_checker_catches_bad_pointers() {
    let doc = "# t\n## 1. One\n### 1.1 Sub\n## 2. Two\n";
    let sections = section_numbers(doc).unwrap();
    assert_eq!(
        sections.iter().cloned().collect::<Vec<_>>(),
        ["1", "1.1", "2"]
    );
    let ok = format!("see {DOC} §1.1, §2 and §1 for details");
    assert_eq!(pointers(&ok), ["1.1", "2", "1"]);
    assert!(check_text("ok.rs", &ok, &sections).is_empty());

    let bad = format!("// ({DOC} §1.2; source)\n// fine line\n// {DOC} §3.");
    let errors = check_text("bad.rs", &bad, &sections);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("bad.rs:1:") && errors[0].contains("§1.2"));
    assert!(errors[1].starts_with("bad.rs:3:") && errors[1].contains("§3"));

    let split = format!("// see {DOC}\n// §2 for details");
    assert_eq!(check_text("split.rs", &split, &sections).len(), 1);

    let unparsable = format!("{DOC} §x");
    assert_eq!(check_text("u.rs", &unparsable, &sections).len(), 1);

    let old = format!("see {}-reference §3", "physics");
    assert_eq!(check_text("old.rs", &old, &sections).len(), 1);

    assert!(section_numbers("## 1. A\n### 1.1 B\n### 1.1 C\n").is_err());
    assert_eq!(
        internal_references("as in §2.5 and §39 (see §II.4)"),
        ["2.5", "39"]
    );
}
