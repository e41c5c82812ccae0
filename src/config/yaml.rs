//! A small positioned YAML tree built from saphyr-parser's event stream.
//!
//! Every node and every map key keeps its [`Mark`], so later stages can report errors at
//! the exact line and column. Aliases are expanded here (with a node budget, against
//! "billion laughs" documents), duplicate keys are reported, and the nesting depth is
//! capped so that nothing downstream (decoding, cloning, dropping) can overflow the stack.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};

use super::decode::{index, join, Diag};
use super::Mark;

/// Deepest nesting of sequences and maps accepted. The schema needs 5 levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most nodes a document may hold, counting alias expansions and the copies kept for
/// anchors: this bounds memory whatever the document does with aliases.
pub(crate) const MAX_NODES: usize = 1_000_000;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub mark: Mark,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `~`, `null`, or nothing at all (`key:` with no value).
    Null,
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A scalar's text. `plain` is false for quoted and block scalars (and `!!str`), which are
/// always strings; plain scalars may also read as numbers or booleans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    pub plain: bool,
}

/// One `key: value` pair of a map, in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_mark: Mark,
    pub value: Node,
}

/// Parses a single-document YAML text. Syntax errors, a second document, excessive depth or
/// size are fatal (`None`); duplicate keys, complex keys and unknown tags are reported and
/// parsing goes on. An empty document gives a `Null` node.
pub(crate) fn parse(text: &str, diag: &mut Diag) -> Option<Node> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    while let Some(event) = parser.next_event() {
        let (event, span) = match event {
            Ok(ok) => ok,
            Err(e) => {
                let mark = mark_of(e.marker());
                diag.error("", mark, format!("YAML syntax error: {}", e.info()));
                return None;
            }
        };
        let mark = mark_of(&span.start);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    diag.error(
                        "",
                        mark,
                        "a second YAML document: the configuration must be a single document",
                    );
                    return None;
                }
            }
            Event::StreamEnd => break,
            Event::Scalar(text, style, anchor, tag) => {
                let path = builder.child_path();
                let node = scalar(text, style, tag.as_deref(), mark, &path, diag);
                builder.complete(node, anchor, diag)?;
            }
            Event::SequenceStart(anchor, tag) => {
                let path = builder.child_path();
                check_collection_tag(tag.as_deref(), mark, &path, diag);
                let kind = Kind::Seq(Vec::new());
                builder.open(
                    Frame {
                        mark,
                        path,
                        anchor,
                        kind,
                    },
                    diag,
                )?;
            }
            Event::MappingStart(anchor, tag) => {
                let path = builder.child_path();
                check_collection_tag(tag.as_deref(), mark, &path, diag);
                let kind = Kind::Map(MapFrame::default());
                builder.open(
                    Frame {
                        mark,
                        path,
                        anchor,
                        kind,
                    },
                    diag,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(diag)?,
            Event::Alias(id) => builder.alias(id, mark, diag)?,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
    }
    Some(builder.root.unwrap_or(Node {
        mark: Mark { line: 1, col: 1 },
        value: Value::Null,
    }))
}

fn mark_of(marker: &Marker) -> Mark {
    Mark {
        line: marker.line(),
        col: marker.col() + 1,
    }
}

/// The YAML 1.2 core schema spellings of null.
fn is_null_word(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn scalar(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    mark: Mark,
    path: &str,
    diag: &mut Diag,
) -> Node {
    let mut plain = style == ScalarStyle::Plain;
    match tag {
        Some(t) if t.is_yaml_core_schema() && t.suffix == "str" => plain = false,
        Some(t)
            if t.is_yaml_core_schema()
                && matches!(&*t.suffix, "null" | "bool" | "int" | "float") => {}
        Some(t) => diag.error(
            path,
            mark,
            format!("unsupported YAML tag {t}: only !!str is accepted on scalars"),
        ),
        None => {}
    }
    let value = if plain && is_null_word(&text) {
        Value::Null
    } else {
        Value::Scalar(Scalar {
            text: text.into_owned(),
            plain,
        })
    };
    Node { mark, value }
}

fn check_collection_tag(tag: Option<&Tag>, mark: Mark, path: &str, diag: &mut Diag) {
    if let Some(t) = tag {
        if !(t.is_yaml_core_schema() && matches!(&*t.suffix, "map" | "seq")) {
            diag.error(path, mark, format!("unsupported YAML tag {t}"));
        }
    }
}

/// An open sequence or map.
struct Frame {
    mark: Mark,
    path: String,
    anchor: usize,
    kind: Kind,
}

enum Kind {
    Seq(Vec<Node>),
    Map(MapFrame),
}

#[derive(Default)]
struct MapFrame {
    entries: Vec<Entry>,
    /// The key waiting for its value (`None` = the next node is a key).
    pending: Option<PendingKey>,
    /// Where each key was first seen, so duplicates are found in O(1), whatever the size.
    seen: HashMap<String, Mark>,
}

enum PendingKey {
    Key(String, Mark),
    /// The key was invalid (a sequence or map): its value is dropped.
    Skip,
}

/// An anchored node, with what copying it costs.
struct Anchored {
    node: Node,
    nodes: usize,
    depth: usize,
}

#[derive(Default)]
struct Builder {
    frames: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Anchored>,
    /// Nodes created so far, counting alias copies.
    nodes: usize,
}

impl Builder {
    /// The key path of the node that starts next.
    fn child_path(&self) -> String {
        match self.frames.last() {
            None => String::new(),
            Some(frame) => match &frame.kind {
                Kind::Seq(items) => index(&frame.path, items.len()),
                Kind::Map(MapFrame {
                    pending: Some(PendingKey::Key(key, _)),
                    ..
                }) => join(&frame.path, key),
                Kind::Map(_) => frame.path.clone(),
            },
        }
    }

    fn open(&mut self, frame: Frame, diag: &mut Diag) -> Option<()> {
        if self.frames.len() >= MAX_DEPTH {
            let message =
                format!("nested too deeply: at most {MAX_DEPTH} levels of lists and maps");
            diag.error(&frame.path, frame.mark, message);
            return None;
        }
        self.frames.push(frame);
        Some(())
    }

    fn close(&mut self, diag: &mut Diag) -> Option<()> {
        let frame = self.frames.pop()?;
        let value = match frame.kind {
            Kind::Seq(items) => Value::Seq(items),
            Kind::Map(map) => Value::Map(map.entries),
        };
        let node = Node {
            mark: frame.mark,
            value,
        };
        self.complete(node, frame.anchor, diag)
    }

    fn alias(&mut self, id: usize, mark: Mark, diag: &mut Diag) -> Option<()> {
        let path = self.child_path();
        let Some(anchored) = self.anchors.get(&id) else {
            diag.error(&path, mark, "alias to an unknown anchor");
            return None;
        };
        if self.frames.len() + anchored.depth > MAX_DEPTH {
            let message = format!("nested too deeply once the alias is expanded: at most {MAX_DEPTH} levels of lists and maps");
            diag.error(&path, mark, message);
            return None;
        }
        // The copy's own node is counted again by `complete`.
        self.nodes += anchored.nodes - 1;
        let node = anchored.node.clone();
        self.complete(node, 0, diag)
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn complete(&mut self, node: Node, anchor: usize, diag: &mut Diag) -> Option<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            let message = format!(
                "the document is too large: more than {MAX_NODES} values once aliases are expanded"
            );
            diag.error("", node.mark, message);
            return None;
        }
        if anchor != 0 {
            let (nodes, depth) = measure(&node);
            self.nodes += nodes;
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    nodes,
                    depth,
                },
            );
        }
        let Some(frame) = self.frames.last_mut() else {
            self.root = Some(node);
            return Some(());
        };
        match &mut frame.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(map) => match map.pending.take() {
                None => map.pending = Some(key_of(node, &frame.path, diag)),
                Some(PendingKey::Skip) => {}
                Some(PendingKey::Key(key, key_mark)) => {
                    if let Some(first) = map.seen.get(&key) {
                        let message = format!(
                            "duplicate key, first defined at line {}, column {}",
                            first.line, first.col
                        );
                        diag.error(join(&frame.path, &key), key_mark, message);
                    } else {
                        map.seen.insert(key.clone(), key_mark);
                        map.entries.push(Entry {
                            key,
                            key_mark,
                            value: node,
                        });
                    }
                }
            },
        }
        Some(())
    }
}

/// A map key must be a scalar; `~`/empty keys keep their text so they show up as unknown.
fn key_of(node: Node, path: &str, diag: &mut Diag) -> PendingKey {
    match node.value {
        Value::Scalar(s) => PendingKey::Key(s.text, node.mark),
        Value::Null => PendingKey::Key(String::new(), node.mark),
        Value::Seq(_) | Value::Map(_) => {
            diag.error(
                path,
                node.mark,
                "a map key must be a string, not a list or map",
            );
            PendingKey::Skip
        }
    }
}

/// The number of nodes in a tree and its depth in lists/maps (0 for a scalar).
/// Recursion is bounded by [`MAX_DEPTH`].
fn measure(node: &Node) -> (usize, usize) {
    let children: Box<dyn Iterator<Item = &Node>> = match &node.value {
        Value::Null | Value::Scalar(_) => return (1, 0),
        Value::Seq(items) => Box::new(items.iter()),
        Value::Map(entries) => Box::new(entries.iter().map(|e| &e.value)),
    };
    children.fold((1, 1), |(nodes, depth), child| {
        let (n, d) = measure(child);
        (nodes + n, depth.max(d + 1))
    })
}
