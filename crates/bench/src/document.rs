//! docs/benchmarks.md has more than one writer: this bench writes its own
//! sections, the desktop UI benchmark (tests/e2e/ui-bench.mjs, `make
//! bench-ui`) writes "## Desktop UI". Rewriting the file keeps every
//! section the bench does not own, so neither run erases the other.

/// The `## ` headings of the bench's own sections (what
/// [`crate::report::Report::document`] writes, whichever targets ran): a
/// section under any other heading belongs to another tool and is kept.
pub const OWN_SECTIONS: &[&str] = &[
    "Results",
    OPEN_LOOP_SECTION,
    REDIS_SECTION,
    SWEEP_SECTION,
    "What is measured",
    "Machine",
    "Reproduce",
    "Notes from this run",
];

/// The heading of the open-loop steps.
pub const OPEN_LOOP_SECTION: &str = "Open loop, step by step";

/// The heading of the sweep over subscriber counts and payload sizes.
pub const SWEEP_SECTION: &str = "Throughput vs subscribers and payload size";

/// The heading of the memory-vs-Redis comparison.
pub const REDIS_SECTION: &str = "One node in memory vs two nodes on Redis";

/// `ours` (a whole new document), then the sections of `previous` (the file
/// as it was) that the bench does not own, in their order. The title and
/// anything else before the first `## ` heading are the bench's.
pub fn merge(ours: &str, previous: &str) -> String {
    let kept: Vec<&str> = sections(previous)
        .into_iter()
        .filter(|(heading, _)| heading.is_some_and(|h| !OWN_SECTIONS.contains(&h)))
        .map(|(_, text)| text.trim_end())
        .collect();
    let mut out = ours.trim_end().to_owned();
    for text in kept {
        out.push_str("\n\n");
        out.push_str(text);
    }
    out.push('\n');
    out
}

/// The headings found in `doc`, in order.
#[cfg(test)]
pub fn headings(doc: &str) -> Vec<&str> {
    sections(doc).into_iter().filter_map(|(h, _)| h).collect()
}

/// `doc` cut at its `## ` headings (outside code fences): (heading, text
/// including the heading line); the part before the first has no heading.
fn sections(doc: &str) -> Vec<(Option<&str>, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut heading = None;
    let mut fenced = false;
    let mut at = 0;
    for line in doc.split_inclusive('\n') {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            if let Some(next) = line.strip_prefix("## ") {
                if at > start || heading.is_some() {
                    out.push((heading, &doc[start..at]));
                }
                heading = Some(next.trim());
                start = at;
            }
        }
        at += line.len();
    }
    if at > start || heading.is_some() {
        out.push((heading, &doc[start..at]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UI: &str = "## Desktop UI\n\nThe desktop app ...\n\n### Idle\n\n| a | b |\n\n```sh\n## not a heading\nmake bench-ui\n```\n";

    #[test]
    fn keeps_the_sections_of_other_tools_and_replaces_its_own() {
        let previous = format!(
            "# Benchmarks\n\nold intro\n\n## Results\n\nold table\n\n## {REDIS_SECTION}\n\nold redis\n\n\
             ## Notes from this run\n\n- old\n\n{UI}"
        );
        let ours = "# Benchmarks\n\nnew intro\n\n## Results\n\nnew table\n\n## Notes from this run\n\n- new\n";
        let merged = merge(ours, &previous);
        assert_eq!(merged, format!("{}\n\n{}", ours.trim_end(), UI));
        assert!(!merged.contains("old"), "{merged}");
        // A stale Redis section is dropped even when this run did not
        // write one (it ran without hub-redis).
        assert!(!merged.contains("old redis"));
        // Merging again changes nothing.
        assert_eq!(merge(ours, &merged), merged);
    }

    #[test]
    fn a_section_in_the_middle_is_kept_too_and_nothing_is_kept_from_nothing() {
        let previous = format!("# B\n\n## Results\n\nx\n\n{UI}\n## Machine\n\ny\n");
        let merged = merge("# B\n\n## Results\n\nz\n", &previous);
        assert_eq!(merged, format!("# B\n\n## Results\n\nz\n\n{UI}"));
        assert_eq!(merge("# B\n", ""), "# B\n");
    }

    #[test]
    fn headings_skip_code_fences() {
        assert_eq!(headings(UI), ["Desktop UI"]);
        assert_eq!(headings("# T\n\n## A\n\n## B\n"), ["A", "B"]);
    }
}
