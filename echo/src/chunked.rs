//! Decoder for a chunked request body (RFC 9112 §7.1). The echo server only needs the
//! body's size, so data is counted and skipped, never copied. Chunk-size lines are parsed
//! by `httparse::parse_chunk_size`, trailer fields by `httparse::parse_headers`.
//!
//! The caller keeps the bytes: [`ChunkedDecoder::feed`] consumes whole elements (a size
//! line, data, the CRLF after data, the trailer section) from the front of its buffer and
//! leaves an incomplete one there until more bytes arrive.

/// Longest chunk-size line (size + extensions) accepted, excluding CRLF.
const MAX_SIZE_LINE: usize = 4096;
/// Most trailer bytes accepted after the last chunk (same bound as a head).
const MAX_TRAILER_BYTES: usize = 64 * 1024;
/// Most trailer fields accepted.
const MAX_TRAILERS: usize = 64;
/// Hex digits in the largest size (`u64::MAX`).
const MAX_SIZE_DIGITS: usize = 16;

/// Why a chunked body was rejected; the server answers 400 and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChunkError {
    /// Not `1*HEXDIG [ext] CRLF`, a missing CRLF after data, a bare CR or LF, or a
    /// malformed trailer field.
    Syntax,
    /// Chunk size overflows u64, or a size line or the trailers are too long.
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Skipping this many data bytes.
    Data(u64),
    /// Data done; expecting CRLF.
    DataEnd,
    /// After the last chunk: the trailer section, up to its empty line.
    Trailers,
    /// The body is complete.
    Done,
}

/// Streaming chunked-body decoder: feed it the buffered bytes until
/// [`is_done`](Self::is_done).
#[derive(Debug)]
pub(super) struct ChunkedDecoder {
    state: State,
    data_bytes: u64,
}

impl ChunkedDecoder {
    pub(super) fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            data_bytes: 0,
        }
    }

    /// True once the last chunk and the trailer section were consumed.
    pub(super) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Payload bytes seen so far (chunk data only, no framing).
    pub(super) fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Consumes whole elements from the front of `input` and returns how many bytes. Stops
    /// right after the body ends, so bytes of a pipelined next request are left unread.
    pub(super) fn feed(&mut self, input: &[u8]) -> Result<usize, ChunkError> {
        let mut pos = 0;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let used = match self.state {
                State::Done => return Ok(pos),
                State::Size => self.size_line(rest)?,
                State::Data(remaining) => {
                    let take = remaining.min(rest.len() as u64);
                    self.data_bytes += take;
                    self.state = if take == remaining {
                        State::DataEnd
                    } else {
                        State::Data(remaining - take)
                    };
                    // Nothing taken means nothing left to read.
                    (take > 0).then_some(take as usize)
                }
                State::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        self.state = State::Size;
                        Some(2)
                    }
                    [] | [b'\r'] => None,
                    _ => return Err(ChunkError::Syntax),
                },
                State::Trailers => self.trailers(rest)?,
            };
            match used {
                Some(n) => pos += n,
                None => return Ok(pos),
            }
        }
    }

    /// A chunk-size line at the start of `rest`: its length once complete.
    fn size_line(&mut self, rest: &[u8]) -> Result<Option<usize>, ChunkError> {
        match rest.first() {
            None => return Ok(None),
            // httparse reads an empty size as 0: a size needs at least one digit.
            Some(b) if !b.is_ascii_hexdigit() => return Err(ChunkError::Syntax),
            Some(_) => {}
        }
        match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete((len, size))) => {
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::Data(size)
                };
                Ok(Some(len))
            }
            Ok(httparse::Status::Partial) => {
                let line = &rest[..rest.len().min(MAX_SIZE_LINE + 1)];
                if line.contains(&b'\n') {
                    // httparse stops at CRLF: a line feed before it is a bare LF.
                    Err(ChunkError::Syntax)
                } else if rest.len() > MAX_SIZE_LINE {
                    Err(ChunkError::TooLarge)
                } else {
                    Ok(None)
                }
            }
            Err(httparse::InvalidChunkSize) => {
                let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
                Err(if digits > MAX_SIZE_DIGITS {
                    ChunkError::TooLarge
                } else {
                    ChunkError::Syntax
                })
            }
        }
    }

    /// The trailer section at the start of `rest`, up to and including its empty line.
    fn trailers(&mut self, rest: &[u8]) -> Result<Option<usize>, ChunkError> {
        let window = &rest[..rest.len().min(MAX_TRAILER_BYTES + 4)];
        // Line endings must be CRLF: a bare CR or LF could be read differently by
        // another parser on the way (request smuggling).
        for (i, &b) in window.iter().enumerate() {
            let bare_lf = b == b'\n' && (i == 0 || window[i - 1] != b'\r');
            let bare_cr = b == b'\r' && window.get(i + 1).is_some_and(|&n| n != b'\n');
            if bare_lf || bare_cr {
                return Err(ChunkError::Syntax);
            }
        }
        let end = if window.starts_with(b"\r\n") {
            Some(2)
        } else {
            window
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| i + 4)
        };
        let Some(end) = end else {
            return if rest.len() > MAX_TRAILER_BYTES {
                Err(ChunkError::TooLarge)
            } else {
                Ok(None)
            };
        };
        if end > MAX_TRAILER_BYTES {
            return Err(ChunkError::TooLarge);
        }
        let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILERS];
        match httparse::parse_headers(&rest[..end], &mut fields) {
            Ok(httparse::Status::Complete((len, _))) if len == end => {
                self.state = State::Done;
                Ok(Some(end))
            }
            Err(httparse::Error::TooManyHeaders) => Err(ChunkError::TooLarge),
            _ => Err(ChunkError::Syntax),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes the way the connection does (unconsumed
    /// bytes stay buffered); returns (consumed, data bytes, done).
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(usize, u64, bool), ChunkError> {
        let mut decoder = ChunkedDecoder::new();
        let mut consumed = 0;
        let mut buffered = Vec::new();
        for piece in input.chunks(step) {
            buffered.extend_from_slice(piece);
            let used = decoder.feed(&buffered)?;
            buffered.drain(..used);
            consumed += used;
            if decoder.is_done() {
                break;
            }
        }
        Ok((consumed, decoder.data_bytes(), decoder.is_done()))
    }

    #[test]
    fn decodes_every_split_point() {
        let body =
            b"5\r\nhello\r\n1A;name=\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-t: 1\r\n\r\n";
        for step in 1..=body.len() {
            assert_eq!(
                decode_in_steps(body, step),
                Ok((body.len(), 31, true)),
                "step {step}"
            );
        }
    }

    #[test]
    fn stops_at_end_of_body_leaving_pipelined_bytes() {
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(input), Ok(13));
        assert!(decoder.is_done());
        assert_eq!(decoder.data_bytes(), 3);
    }

    #[test]
    fn empty_body_and_uppercase_hex() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(b"0\r\n\r\n"), Ok(5));
        assert!(decoder.is_done());
        assert_eq!(decoder.data_bytes(), 0);

        let mut decoder = ChunkedDecoder::new();
        let input = b"A\r\n0123456789\r\n0\r\n\r\n";
        assert_eq!(decoder.feed(input), Ok(input.len()));
        assert_eq!(decoder.data_bytes(), 10);
    }

    #[test]
    fn partial_input_is_not_done() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(b"5\r\nhel"), Ok(6));
        assert!(!decoder.is_done());
        assert_eq!(decoder.data_bytes(), 3);
        // An incomplete size line stays with the caller.
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(b"1F;ext=1"), Ok(0));
        assert_eq!(decoder.feed(b"1F;ext=1\r"), Ok(0));
        assert_eq!(decoder.feed(b"1F;ext=1\r\n"), Ok(10));
    }

    #[test]
    fn trailer_fields_are_parsed() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(b"0\r\nx-a: 1\r\nx-b:2\r\n"), Ok(3));
        assert!(!decoder.is_done());
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(b"0\r\nx-a: 1\r\nx-b:2\r\n\r\n"), Ok(20));
        assert!(decoder.is_done());
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.feed(b"0\r\nnot a field\r\n\r\n"),
            Err(ChunkError::Syntax)
        );
    }

    #[test]
    fn rejects_bad_syntax() {
        let cases: &[&[u8]] = &[
            b"x\r\n",
            b"\r\n",
            b"5\nhello\r\n",
            b"5\r\nhelloXX",
            b"5\r\nhello\rX",
            b"0\r\n\n",
            b"0\r\nx-t: 1\n",
            b"5;ext\n",
            b"0\r\n\r\r",
            b"5;ext\r\r\n",
            b"-5\r\n",
        ];
        for case in cases {
            let mut decoder = ChunkedDecoder::new();
            assert_eq!(
                decoder.feed(case),
                Err(ChunkError::Syntax),
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn rejects_oversized_sizes_and_lines() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.feed(b"10000000000000000\r\n"),
            Err(ChunkError::TooLarge)
        );

        let mut decoder = ChunkedDecoder::new();
        assert_eq!(
            decoder.feed(b"FFFFFFFFFFFFFFFF\r\n"),
            Ok(18),
            "u64::MAX itself is a valid size"
        );

        let mut long_ext = b"1;".to_vec();
        long_ext.resize(MAX_SIZE_LINE + 10, b'a');
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(&long_ext), Err(ChunkError::TooLarge));

        let mut trailers = b"0\r\n".to_vec();
        trailers.resize(MAX_TRAILER_BYTES + 10, b'a');
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(&trailers), Err(ChunkError::TooLarge));
    }
}
