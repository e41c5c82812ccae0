//! The answers tether writes itself when no server answers: HAProxy's built-in pages,
//! byte for byte, so that clients and monitoring see the same thing after a migration.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

/// An error page: status, reason phrase and HTML body (HAProxy `http_err_msgs`).
pub struct ErrorPage {
    pub status: u16,
    body: &'static str,
}

pub const BAD_REQUEST: ErrorPage = ErrorPage {
    status: 400,
    body: "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
};

pub const BAD_GATEWAY: ErrorPage = ErrorPage {
    status: 502,
    body: "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
};

pub const SERVICE_UNAVAILABLE: ErrorPage = ErrorPage {
    status: 503,
    body: "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
};

pub const GATEWAY_TIMEOUT: ErrorPage = ErrorPage {
    status: 504,
    body: "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
};

impl ErrorPage {
    pub fn for_status(status: u16) -> Option<&'static ErrorPage> {
        match status {
            400 => Some(&BAD_REQUEST),
            502 => Some(&BAD_GATEWAY),
            503 => Some(&SERVICE_UNAVAILABLE),
            504 => Some(&GATEWAY_TIMEOUT),
            _ => None,
        }
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
    }
}
