//! Header edits produced by the analysers, and the copy-on-write header buffer on which the
//! in-place rewrites of HAProxy (`memmove` inside the HTX block) are replayed.

use super::scan::{is_spht, Item};
use std::ops::Range;

/// One edit of a header list (`Cookie` headers on the request, `Set-Cookie` headers on the
/// response). `index` is the position of the header among the values of that header name,
/// in order. Edits are sorted by `index`, at most one per index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderEdit {
    pub index: usize,
    pub action: EditAction,
}

/// What to do with one header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditAction {
    /// Drop the header line.
    Remove,
    /// Replace the header value by these bytes (never empty).
    Replace(Vec<u8>),
}

/// One header value being rewritten. It borrows the original bytes until the first change,
/// so scanning a header that stays untouched allocates nothing. `len()` is HAProxy's
/// `hdr_end - hdr_beg` at every step.
pub(crate) struct LineBuf<'a> {
    orig: &'a [u8],
    owned: Option<Vec<u8>>,
}

impl<'a> LineBuf<'a> {
    pub fn new(orig: &'a [u8]) -> Self {
        LineBuf { orig, owned: None }
    }

    pub fn bytes(&self) -> &[u8] {
        self.owned.as_deref().unwrap_or(self.orig)
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    fn to_mut(&mut self) -> &mut Vec<u8> {
        let orig = self.orig;
        self.owned.get_or_insert_with(|| orig.to_vec())
    }

    /// `memmove(range.start, range.end, hdr_end - range.end)`: drops the bytes of `range`.
    pub fn remove(&mut self, range: Range<usize>) {
        if range.start < range.end && range.end <= self.len() {
            self.to_mut().drain(range);
        }
    }

    /// Replaces the bytes of `range` by `with` (HAProxy `http_replace_header_value()`).
    pub fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        if range.start <= range.end && range.end <= self.len() {
            self.to_mut().splice(range, with.iter().copied());
        }
    }

    fn set(&mut self, at: usize, c: u8) {
        if let Some(slot) = self.to_mut().get_mut(at) {
            *slot = c;
        }
    }

    /// The C code's space stripping around `=` (identical in both analysers): "if there are
    /// spaces around the equal sign, we need to strip them". Updates the item's positions
    /// the way the C code updates its pointers.
    pub fn strip_blanks_around_equal(&mut self, it: &mut Item) {
        if it.att_end == it.equal && it.val_beg <= it.equal + 1 {
            return;
        }
        let mut stripped: isize = 0;
        if it.att_end != it.equal {
            self.remove(it.att_end..it.equal);
            stripped = it.att_end as isize - it.equal as isize;
            it.equal = it.att_end;
            it.val_beg = it.val_beg.saturating_add_signed(stripped);
        }
        if it.val_beg > it.equal + 1 {
            self.remove(it.equal + 1..it.val_beg);
            let after = (it.equal + 1) as isize - it.val_beg as isize;
            it.val_beg = it.equal + 1;
            stripped += after;
        }
        it.val_end = it.val_end.saturating_add_signed(stripped);
        it.next = it.next.saturating_add_signed(stripped);
    }

    /// `http_del_hdr_value()`: deletes the value(s) between the delimiter `*from` (or the
    /// start) and the delimiter `next` (or the end), normalising separators:
    /// - the `from` delimiter is replaced by the `next` one, unless `from` is the start, in
    ///   which case `next` is removed too;
    /// - exactly one space follows the new delimiter when the removed block is long enough;
    /// - blanks before the old delimiter and after the new one are removed.
    ///
    /// Returns the (negative) displacement of the bytes after `next` and moves `*from` back
    /// over the blanks it removed, as the C function does.
    pub fn del_hdr_value(&mut self, from: &mut usize, next: usize) -> isize {
        let end = self.len();
        let mut prev = *from;
        let mut next = next.min(end);
        if prev == 0 {
            // Removing the first value: eat its delimiter and the blanks after it.
            if next < end {
                next += 1;
            }
            while next < end && is_spht(self.bytes()[next]) {
                next += 1;
            }
        } else {
            // HAProxy relies on non-blank bytes before <from>; bound it anyway.
            while prev > 0 && is_spht(self.bytes()[prev - 1]) {
                prev -= 1;
            }
            *from = prev;
            if next < end {
                let delim = self.bytes()[next];
                self.set(prev, delim);
                prev += 1;
                next += 1;
                if prev + 1 < next {
                    self.set(prev, b' ');
                    prev += 1;
                }
                while next < end && is_spht(self.bytes()[next]) {
                    next += 1;
                }
            }
        }
        self.remove(prev..next);
        prev as isize - next as isize
    }

    /// The action that turns the original header into the first `keep` bytes of the
    /// current buffer: None when nothing changed, Remove when a changed header has nothing
    /// left (an originally empty header is left alone, as HAProxy only acts on a length
    /// change).
    pub fn into_action(self, keep: usize) -> Option<EditAction> {
        match self.owned {
            None if keep >= self.orig.len() => None,
            _ if keep == 0 => Some(EditAction::Remove),
            Some(mut v) => {
                v.truncate(keep);
                Some(EditAction::Replace(v))
            }
            None => Some(EditAction::Replace(self.orig[..keep].to_vec())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(s: &str, from: usize, next: usize) -> (String, usize, isize) {
        let mut b = LineBuf::new(s.as_bytes());
        let mut f = from;
        let d = b.del_hdr_value(&mut f, next);
        (String::from_utf8_lossy(b.bytes()).into_owned(), f, d)
    }

    #[test]
    fn del_hdr_value_first_value_eats_delimiter_and_blanks() {
        assert_eq!(del("SRV=s2; a=1", 0, 6), ("a=1".into(), 0, -8));
        assert_eq!(del("SRV=s2", 0, 6), ("".into(), 0, -6));
    }

    #[test]
    fn del_hdr_value_middle_keeps_one_space() {
        // "a=1;SRV=s2;b=2": from=3, next=10 -> "a=1; b=2"
        assert_eq!(del("a=1;SRV=s2;b=2", 3, 10), ("a=1; b=2".into(), 3, -6));
        // blanks before the old delimiter are removed
        assert_eq!(
            del("a=1 ; SRV=s2 ; b=2", 4, 13),
            ("a=1; b=2".into(), 3, -10)
        );
    }

    #[test]
    fn del_hdr_value_last_value_truncates() {
        assert_eq!(del("a=1;SRV=s2", 3, 10), ("a=1".into(), 3, -7));
    }

    #[test]
    fn into_action_variants() {
        let b = LineBuf::new(b"abc");
        assert_eq!(b.into_action(3), None);
        let b = LineBuf::new(b"abc");
        assert_eq!(b.into_action(2), Some(EditAction::Replace(b"ab".to_vec())));
        let b = LineBuf::new(b"abc");
        assert_eq!(b.into_action(0), Some(EditAction::Remove));
        let mut b = LineBuf::new(b"abc");
        b.replace(1..2, b"XY");
        assert_eq!(
            b.into_action(4),
            Some(EditAction::Replace(b"aXYc".to_vec()))
        );
    }
}
