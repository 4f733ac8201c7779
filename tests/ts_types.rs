//! ui/src/backend/generated.ts is what the Rust types that cross IPC
//! generate, so the UI and the shell agree on one contract. With
//! `TELLTALE_WRITE_TYPES=1` (`make types`) the test rewrites the file.

use std::path::PathBuf;

use telltale::ipc_types::{typescript, GENERATED_PATH};

#[test]
fn generated_typescript_is_up_to_date() {
    let fresh = typescript().unwrap_or_else(|e| panic!("{e}"));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(GENERATED_PATH);
    if std::env::var("TELLTALE_WRITE_TYPES").as_deref() == Ok("1") {
        std::fs::write(&path, &fresh)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if let Some(difference) = first_difference(&committed, &fresh) {
        panic!("{GENERATED_PATH} is stale: run `make types`.\n{difference}");
    }
}

/// The first line where `committed` and `fresh` differ, both versions.
fn first_difference(committed: &str, fresh: &str) -> Option<String> {
    let (mut old, mut new) = (committed.lines(), fresh.lines());
    for number in 1.. {
        match (old.next(), new.next()) {
            (None, None) => return None,
            (a, b) if a == b => continue,
            (a, b) => {
                return Some(format!(
                    "first difference at line {number}:\n  committed: {}\n  generated: {}",
                    a.unwrap_or("(end of file)"),
                    b.unwrap_or("(end of file)")
                ))
            }
        }
    }
    unreachable!("lines are finite")
}

#[test]
fn a_difference_names_the_line_and_both_versions() {
    assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
    let difference = first_difference("a\nb\n", "a\nc\n").unwrap();
    assert!(difference.contains("line 2"), "{difference}");
    assert!(difference.contains("committed: b") && difference.contains("generated: c"));
    let shorter = first_difference("a\n", "a\nb\n").unwrap();
    assert!(shorter.contains("committed: (end of file)"), "{shorter}");
}
