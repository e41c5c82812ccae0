//! Applying the persistence core's header edits to Pingora's header maps.
//!
//! Pingora's maps keep headers of one name together and offer only "append" and "remove
//! all", so an edited list is rebuilt: every value of the name is removed and the kept or
//! replaced values appended back in their original order.

use http::header::HeaderName;
use http::HeaderValue;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use smallvec::SmallVec;

use crate::persist::{EditAction, HeaderEdit};

/// The values of one header, borrowed, without allocating for the usual few.
pub type Values<'a> = SmallVec<[&'a [u8]; 4]>;

pub fn values<'a>(map: &'a http::HeaderMap, name: &HeaderName) -> Values<'a> {
    map.get_all(name)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect()
}

/// The list of values after the edits, or `None` when there is nothing to change.
fn edited(
    map: &http::HeaderMap,
    name: &HeaderName,
    edits: &[HeaderEdit],
) -> Option<Vec<HeaderValue>> {
    if edits.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for (i, value) in map.get_all(name).iter().enumerate() {
        match edits.iter().find(|e| e.index == i).map(|e| &e.action) {
            None => out.push(value.clone()),
            Some(EditAction::Remove) => {}
            // An edit only ever removes bytes from or splices server values into a valid
            // value; should it still be invalid, the original is kept.
            Some(EditAction::Replace(bytes)) => {
                out.push(HeaderValue::from_bytes(bytes).unwrap_or_else(|_| value.clone()))
            }
        }
    }
    Some(out)
}

pub fn apply_to_request(
    req: &mut RequestHeader,
    name: &'static HeaderName,
    edits: &[HeaderEdit],
) -> Result<()> {
    if let Some(values) = edited(&req.headers, name, edits) {
        req.remove_header(name);
        for v in values {
            req.append_header(name.clone(), v)?;
        }
    }
    Ok(())
}

pub fn apply_to_response(
    resp: &mut ResponseHeader,
    name: &'static HeaderName,
    edits: &[HeaderEdit],
) -> Result<()> {
    if let Some(values) = edited(&resp.headers, name, edits) {
        resp.remove_header(name);
        for v in values {
            resp.append_header(name.clone(), v)?;
        }
    }
    Ok(())
}
