//! Source files as the admin wrote them: their text, their display path, and
//! the byte-offset → line:column mapping every diagnostic needs.
//!
//! This module owns no IO: `flow::load` reads files and hands their text here.

use std::ops::Range;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub(crate) u32);

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// The file the range lies in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span covering `range` in `file`.
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Span {
            file,
            start: range.start,
            end: range.end,
        }
    }

    /// The byte range.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// One source file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path shown to the admin (as given on the command line, joined with the file name).
    pub path: String,
    /// The full text.
    pub text: String,
    line_starts: Vec<usize>,
    /// Per line start: the line breaks before it as a terminal snippet
    /// counts them (`\n`, `\r\n`, or a lone `\r`), so a snippet cut out of
    /// the middle of the file still knows its line numbers.
    breaks_before: Vec<usize>,
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl SourceFile {
    fn new(path: String, text: String) -> Self {
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut breaks_before = Vec::with_capacity(line_starts.len());
        let mut lone_crs = 0;
        let mut from = 0;
        for (line, &start) in line_starts.iter().enumerate() {
            let bytes = text.as_bytes().get(from..start).unwrap_or_default();
            lone_crs += bytes
                .iter()
                .enumerate()
                .filter(|&(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
                .count();
            breaks_before.push(line + lone_crs);
            from = start;
        }
        SourceFile {
            path,
            text,
            line_starts,
            breaks_before,
        }
    }

    /// The whole lines around `range` with `before` lines before it and
    /// `after` lines after it, and some to spare: the byte range of that
    /// window and the line breaks (as [`SourceFile::breaks_before`] counts
    /// them) before it. Found through the line index, so a diagnostic near
    /// the end of a large file does not read the file from its start.
    pub(crate) fn window(
        &self,
        range: Range<usize>,
        before: usize,
        after: usize,
    ) -> (Range<usize>, usize) {
        let line_of = |offset: usize| {
            self.line_starts
                .partition_point(|&s| s <= offset)
                .saturating_sub(1)
        };
        // One line more on each side than asked: a lone `\r` only ever adds
        // line breaks inside the window, and the reader stops after the
        // break that ends the last line it shows.
        let first = line_of(range.start).saturating_sub(before + 1);
        let last = line_of(range.end).saturating_add(after + 2);
        let start = self.line_starts[first];
        let end = self
            .line_starts
            .get(last)
            .copied()
            .unwrap_or(self.text.len());
        (start..end, self.breaks_before[first])
    }

    /// Line and column of a byte offset (clamped to the text).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }
}

/// Every source file of a flow set, addressed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a file and return its id.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(path.into(), text.into()));
        id
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// All files with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// `path:line:column` of the start of a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.get(span.file);
        let lc = file.line_col(span.start);
        format!("{}:{}:{}", file.path, lc.line, lc.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let mut s = Sources::new();
        let id = s.add("a.toml", "ab\n中文x\n\nz");
        let f = s.get(id);
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        // "中文" is 6 bytes; 'x' is the third character on line 2.
        assert_eq!(f.line_col(9), LineCol { line: 2, column: 3 });
        assert_eq!(f.line_col(11), LineCol { line: 3, column: 1 });
        assert_eq!(f.line_col(999), LineCol { line: 4, column: 2 });
        assert_eq!(s.location(Span::new(id, 9..10)), "a.toml:2:3");
    }
}
