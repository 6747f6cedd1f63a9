//! Writing a document back from the text it was read from: members of an object that are
//! still the source's text (a verbatim key and a raw value or verbatim string, next to one
//! another) are copied from it, runs of them in one piece, instead of one by one. Only
//! addresses are compared to find them; what is copied is the source's own bytes, checked to
//! be exactly the member (its quotes, colon and commas), so the bytes written are those that
//! writing each member would write.

use std::ops::Range;

/// The text a document was read from, for copying unchanged members back from it.
#[derive(Clone, Copy)]
pub(super) struct Source<'s> {
    text: &'s [u8],
}

impl<'s> Source<'s> {
    pub(super) fn new(text: &'s str) -> Self {
        Self {
            text: text.as_bytes(),
        }
    }

    /// Where `part` lies in the source, when it is a slice of it (addresses compared, no
    /// pointer is dereferenced).
    pub(super) fn offset(&self, part: &str) -> Option<usize> {
        let start = (part.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        (start.checked_add(part.len())? <= self.text.len()).then_some(start)
    }

    /// The range of the quoted string whose contents are `text`, a slice of the source.
    pub(super) fn quoted(&self, text: &str) -> Option<Range<usize>> {
        let start = self.offset(text)?.checked_sub(1)?;
        let end = start + 1 + text.len();
        (self.text.get(start) == Some(&b'"') && self.text.get(end) == Some(&b'"'))
            .then_some(start..end + 1)
    }

    /// The byte at `at`, if the source is that long.
    pub(super) fn byte(&self, at: usize) -> Option<u8> {
        self.text.get(at).copied()
    }

    /// `member` comes right after `run`, a comma between them.
    pub(super) fn follows(&self, run: &Range<usize>, member: &Range<usize>) -> bool {
        self.text.get(run.end) == Some(&b',') && run.end + 1 == member.start
    }

    fn copy(&self, range: Range<usize>, out: &mut Vec<u8>) {
        out.extend_from_slice(self.text.get(range).unwrap_or_default());
    }
}

/// The members of an object as they are written: runs of them copied from the source in one
/// piece, the others written one by one, a comma between any two.
pub(super) struct Pieces<'s> {
    source: Option<Source<'s>>,
    /// Copied members not yet written.
    run: Option<Range<usize>>,
    first: bool,
}

impl<'s> Pieces<'s> {
    pub(super) fn new(source: Option<Source<'s>>) -> Self {
        Self {
            source,
            run: None,
            first: true,
        }
    }

    /// Take the next member as the source's `range` when it has one (`true`); otherwise
    /// (`false`) make way for the caller to write it.
    pub(super) fn copied(&mut self, range: Option<Range<usize>>, out: &mut Vec<u8>) -> bool {
        match (self.source, range) {
            (Some(source), Some(range)) => {
                match &mut self.run {
                    Some(run) if source.follows(run, &range) => run.end = range.end,
                    _ => {
                        self.flush(out);
                        self.run = Some(range);
                    }
                }
                true
            }
            _ => {
                self.flush(out);
                self.separate(out);
                false
            }
        }
    }

    fn separate(&mut self, out: &mut Vec<u8>) {
        if !std::mem::take(&mut self.first) {
            out.push(b',');
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        if let (Some(source), Some(run)) = (self.source, self.run.take()) {
            self.separate(out);
            source.copy(run, out);
        }
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) {
        self.flush(out);
    }
}
