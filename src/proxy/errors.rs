//! The answers tether writes itself when no server answers: HAProxy's built-in pages,
//! byte for byte, so that clients and monitoring see the same thing after a migration.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;
use pingora::{Error, ErrorSource, ErrorType};

/// What a failed request amounts to: the status tether answers with (0: none, the client
/// is gone or already has a response) and HAProxy's two termination characters for the
/// access log (docs/haproxy-compatibility.md §17, §18). One classification, used by both
/// the error page and the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    pub termination: [u8; 2],
}

/// Whether a final response (not a `100 Continue`) already went to the client.
pub fn client_answered(session: &Session) -> bool {
    session
        .response_written()
        .is_some_and(|r| r.status.as_u16() >= 200 || r.status.as_u16() == 101)
}

/// Classifies the final error of a request. `server_answered`: the server's response
/// headers arrived; `client_answered`: a response head already went to the client.
pub fn classify(e: &Error, server_answered: bool, client_answered: bool) -> Failure {
    let phase = |before: &[u8; 2], after: &[u8; 2]| if server_answered { *after } else { *before };
    let (status, termination) = match (e.esource(), e.etype()) {
        // tether's own decisions (no server, full queue, ...): the caller logs why.
        (_, ErrorType::HTTPStatus(code)) => (*code, *b"PR"),
        (
            ErrorSource::Upstream,
            ErrorType::ConnectTimedout
            | ErrorType::ConnectRefused
            | ErrorType::ConnectError
            | ErrorType::ConnectNoRoute,
        ) => (503, *b"SC"),
        (ErrorSource::Upstream, ErrorType::ReadTimedout | ErrorType::WriteTimedout) => {
            (504, phase(b"sH", b"sD"))
        }
        (ErrorSource::Upstream, _) => (502, phase(b"SH", b"SD")),
        (ErrorSource::Downstream, ErrorType::ReadTimedout | ErrorType::WriteTimedout) => {
            if client_answered {
                (0, *b"cD")
            } else {
                (408, *b"cR")
            }
        }
        (
            ErrorSource::Downstream,
            ErrorType::ReadError | ErrorType::WriteError | ErrorType::ConnectionClosed,
        ) => (0, if client_answered { *b"CD" } else { *b"CR" }),
        // A request Pingora could not read (a broken body, say).
        (ErrorSource::Downstream, _) => (400, *b"PR"),
        _ => (500, *b"PI"),
    };
    let status = if client_answered { 0 } else { status };
    Failure {
        status,
        termination,
    }
}

/// An error page: status, reason phrase and HTML body (HAProxy `http_err_msgs`).
pub struct ErrorPage {
    pub status: u16,
    reason: &'static str,
    body: &'static str,
}

pub const BAD_REQUEST: ErrorPage = ErrorPage {
    status: 400,
    reason: "Bad request",
    body: "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
};

/// HAProxy's page for `timeout http-request`.
pub const REQUEST_TIMEOUT: ErrorPage = ErrorPage {
    status: 408,
    reason: "Request Time-out",
    body: "<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
};

/// tether's page for a request head over the frontend's limits (HAProxy answers 400).
pub const HEADERS_TOO_LARGE: ErrorPage = ErrorPage {
    status: 431,
    reason: "Request Header Fields Too Large",
    body: "<html><body><h1>431 Request Header Fields Too Large</h1>\nYour browser sent too many or too large header fields.\n</body></html>\n",
};

pub const BAD_GATEWAY: ErrorPage = ErrorPage {
    status: 502,
    reason: "Bad Gateway",
    body: "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
};

pub const SERVICE_UNAVAILABLE: ErrorPage = ErrorPage {
    status: 503,
    reason: "Service Unavailable",
    body: "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
};

pub const GATEWAY_TIMEOUT: ErrorPage = ErrorPage {
    status: 504,
    reason: "Gateway Time-out",
    body: "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
};

impl ErrorPage {
    pub fn for_status(status: u16) -> Option<&'static ErrorPage> {
        match status {
            400 => Some(&BAD_REQUEST),
            408 => Some(&REQUEST_TIMEOUT),
            431 => Some(&HEADERS_TOO_LARGE),
            502 => Some(&BAD_GATEWAY),
            503 => Some(&SERVICE_UNAVAILABLE),
            504 => Some(&GATEWAY_TIMEOUT),
            _ => None,
        }
    }

    /// The whole response as bytes, for connections Pingora does not hold yet (the
    /// frontend's head reader): HAProxy's header order, and `connection: close`.
    pub fn raw_response(&self) -> Vec<u8> {
        format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\nconnection: close\r\ncontent-type: text/html\r\n\r\n{}",
            self.status,
            self.reason,
            self.body.len(),
            self.body
        )
        .into_bytes()
    }

    /// Writes the page; the connection is closed afterwards (as Pingora does for all
    /// of its own error answers).
    pub async fn send(&self, session: &mut Session) -> Result<()> {
        let mut resp = ResponseHeader::build(self.status, Some(4))?;
        resp.insert_header("content-length", self.body.len().to_string())?;
        resp.insert_header("cache-control", "no-cache")?;
        resp.insert_header("content-type", "text/html")?;
        session
            .as_downstream_mut()
            .write_error_response(resp, Bytes::from_static(self.body.as_bytes()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(e: Box<Error>, server: bool, client: bool) -> (u16, String) {
        let f = classify(&e, server, client);
        (
            f.status,
            String::from_utf8_lossy(&f.termination).into_owned(),
        )
    }

    fn up(t: ErrorType) -> Box<Error> {
        Error::new(t).into_up()
    }

    fn down(t: ErrorType) -> Box<Error> {
        Error::new(t).into_down()
    }

    #[test]
    fn classification_of_errors() {
        let cases = [
            (
                Error::new(ErrorType::HTTPStatus(503)),
                false,
                false,
                503,
                "PR",
            ),
            (up(ErrorType::ConnectRefused), false, false, 503, "SC"),
            (up(ErrorType::ConnectTimedout), false, false, 503, "SC"),
            (up(ErrorType::ReadTimedout), false, false, 504, "sH"),
            (up(ErrorType::ReadTimedout), true, true, 0, "sD"),
            (up(ErrorType::ConnectionClosed), false, false, 502, "SH"),
            (up(ErrorType::ReadError), true, false, 502, "SD"),
            (down(ErrorType::ConnectionClosed), false, false, 0, "CR"),
            (down(ErrorType::WriteError), true, true, 0, "CD"),
            (down(ErrorType::ReadTimedout), false, false, 408, "cR"),
            (down(ErrorType::WriteTimedout), true, true, 0, "cD"),
            (down(ErrorType::InvalidHTTPHeader), false, false, 400, "PR"),
            // Pingora raises this on the client side (data after the end of a body).
            (down(ErrorType::ConnectError), false, false, 400, "PR"),
            (
                Error::new(ErrorType::InternalError),
                false,
                false,
                500,
                "PI",
            ),
        ];
        for (e, server, client, status, termination) in cases {
            let what = format!("{e}");
            assert_eq!(
                failure(e, server, client),
                (status, termination.to_string()),
                "{what}"
            );
        }
    }

    /// The Content-Length values HAProxy hard-codes in `http_err_msgs`.
    #[test]
    fn bodies_have_haproxy_lengths() {
        assert_eq!(BAD_GATEWAY.body.len(), 107);
        assert_eq!(SERVICE_UNAVAILABLE.body.len(), 107);
        assert_eq!(GATEWAY_TIMEOUT.body.len(), 92);
        assert_eq!(REQUEST_TIMEOUT.body.len(), 110);
    }

    #[test]
    fn raw_response_is_a_complete_http_message() {
        let raw = String::from_utf8(REQUEST_TIMEOUT.raw_response()).unwrap();
        assert!(raw.starts_with("HTTP/1.1 408 Request Time-out\r\ncontent-length: 110\r\n"));
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("\r\nconnection: close"));
        assert_eq!(body.len(), 110);
    }
}
