//! The `header:` key.

use super::{clean, IdSource, IdSpec};
use crate::persist::scan::trim_lws;

/// The `header:` key: the whole value of the first occurrence of the header, without
/// surrounding blanks (not split on commas), cleaned ([`clean`]). `values` holds the
/// values of the request's headers of that name (the caller matches the name
/// case-insensitively), in order. Only the first counts: if it is empty or fails
/// [`clean`], `None`. `None` for other sources.
pub fn header_id<'a>(spec: &IdSpec, values: &[&'a [u8]]) -> Option<&'a [u8]> {
    let IdSource::Header(_) = &spec.source else {
        return None;
    };
    clean(trim_lws(values.first()?), spec.len)
}
