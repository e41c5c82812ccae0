//! Incremental decoder for a chunked request body (RFC 9112 §7.1). The echo
//! server only needs the body's size, so data is counted and skipped, never
//! copied. Input may arrive split at any byte.

/// Longest chunk-size line (size + extensions) accepted, excluding CRLF.
const MAX_SIZE_LINE: usize = 4096;
/// Most trailer bytes accepted after the last chunk (same bound as a head).
const MAX_TRAILER_BYTES: usize = 64 * 1024;

/// Why a chunked body was rejected; the server answers 400 and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChunkError {
    /// Not `1*HEXDIG [ext] CRLF`, a missing CRLF after data, or a bare LF.
    Syntax,
    /// Chunk size overflows u64, or a size line or the trailers are too long.
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting the first hex digit of a chunk size.
    SizeStart,
    /// Inside the hex digits of a chunk size.
    Size,
    /// Inside `;ext` (or whitespace before it) on the size line.
    Extension,
    /// Saw CR ending the size line; expecting LF.
    SizeLf,
    /// Skipping this many data bytes.
    Data(u64),
    /// Data done; expecting CR.
    DataCr,
    /// Data done; expecting LF.
    DataLf,
    /// After the last chunk: at the start of a trailer line (or the final CRLF).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Saw CR ending a trailer line; expecting LF.
    TrailerLf,
    /// Saw CR of the final empty line; expecting LF.
    EndLf,
    /// The body is complete.
    Done,
}

/// Streaming chunked-body decoder: feed it bytes until [`is_done`](Self::is_done).
#[derive(Debug)]
pub(super) struct ChunkedDecoder {
    state: State,
    size: u64,
    line_len: usize,
    trailer_bytes: usize,
    data_bytes: u64,
}

impl ChunkedDecoder {
    pub(super) fn new() -> Self {
        ChunkedDecoder {
            state: State::SizeStart,
            size: 0,
            line_len: 0,
            trailer_bytes: 0,
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

    /// Consumes a prefix of `input` and returns its length. Stops right after
    /// the body ends, so bytes of a pipelined next request are left unread.
    pub(super) fn feed(&mut self, input: &[u8]) -> Result<usize, ChunkError> {
        let mut pos = 0;
        while pos < input.len() && self.state != State::Done {
            if let State::Data(remaining) = self.state {
                let available = (input.len() - pos) as u64;
                let take = remaining.min(available);
                pos += take as usize;
                self.data_bytes += take;
                self.state = if take == remaining {
                    State::DataCr
                } else {
                    State::Data(remaining - take)
                };
                continue;
            }
            let byte = input[pos];
            pos += 1;
            self.step(byte)?;
        }
        Ok(pos)
    }

    /// Advances the byte-wise (non-data) states by one byte.
    fn step(&mut self, byte: u8) -> Result<(), ChunkError> {
        self.state = match self.state {
            State::SizeStart => {
                self.size = 0;
                self.line_len = 1;
                self.push_hex(byte).ok_or(ChunkError::Syntax)??;
                State::Size
            }
            State::Size => {
                self.count_line_byte()?;
                match byte {
                    b'\r' => State::SizeLf,
                    b';' | b' ' | b'\t' => State::Extension,
                    _ => {
                        self.push_hex(byte).ok_or(ChunkError::Syntax)??;
                        State::Size
                    }
                }
            }
            State::Extension => {
                self.count_line_byte()?;
                match byte {
                    b'\r' => State::SizeLf,
                    b'\n' => return Err(ChunkError::Syntax),
                    _ => State::Extension,
                }
            }
            State::SizeLf => match (byte, self.size) {
                (b'\n', 0) => State::TrailerStart,
                (b'\n', size) => State::Data(size),
                _ => return Err(ChunkError::Syntax),
            },
            State::DataCr => match byte {
                b'\r' => State::DataLf,
                _ => return Err(ChunkError::Syntax),
            },
            State::DataLf => match byte {
                b'\n' => State::SizeStart,
                _ => return Err(ChunkError::Syntax),
            },
            State::TrailerStart => {
                self.count_trailer_byte()?;
                match byte {
                    b'\r' => State::EndLf,
                    b'\n' => return Err(ChunkError::Syntax),
                    _ => State::TrailerLine,
                }
            }
            State::TrailerLine => {
                self.count_trailer_byte()?;
                match byte {
                    b'\r' => State::TrailerLf,
                    b'\n' => return Err(ChunkError::Syntax),
                    _ => State::TrailerLine,
                }
            }
            State::TrailerLf => match byte {
                b'\n' => State::TrailerStart,
                _ => return Err(ChunkError::Syntax),
            },
            State::EndLf => match byte {
                b'\n' => State::Done,
                _ => return Err(ChunkError::Syntax),
            },
            // `feed` handles Data itself and stops at Done.
            State::Data(_) | State::Done => self.state,
        };
        Ok(())
    }

    /// Adds one hex digit to the chunk size: `None` if `byte` is not a hex
    /// digit, `Some(Err)` on overflow.
    fn push_hex(&mut self, byte: u8) -> Option<Result<(), ChunkError>> {
        let digit = (byte as char).to_digit(16)?;
        Some(
            self.size
                .checked_mul(16)
                .and_then(|size| size.checked_add(u64::from(digit)))
                .map(|size| self.size = size)
                .ok_or(ChunkError::TooLarge),
        )
    }

    fn count_line_byte(&mut self) -> Result<(), ChunkError> {
        self.line_len += 1;
        if self.line_len > MAX_SIZE_LINE {
            return Err(ChunkError::TooLarge);
        }
        Ok(())
    }

    fn count_trailer_byte(&mut self) -> Result<(), ChunkError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > MAX_TRAILER_BYTES {
            return Err(ChunkError::TooLarge);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns (consumed, data bytes, done).
    fn decode_in_steps(input: &[u8], step: usize) -> Result<(usize, u64, bool), ChunkError> {
        let mut decoder = ChunkedDecoder::new();
        let mut consumed = 0;
        for piece in input.chunks(step) {
            consumed += decoder.feed(piece)?;
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
