//! The answers tether writes itself when no server answers: HAProxy's built-in pages,
//! byte for byte, so that clients and monitoring see the same thing after a migration.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

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
