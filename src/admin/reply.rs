//! The admin API's answers: JSON bodies and errors that name what was wrong.

use http::{Response, StatusCode};
use serde_json::{json, Value};

/// A successful answer.
pub enum Reply {
    Json(Value),
    /// Prometheus' text exposition format.
    Text(Vec<u8>),
    NoContent,
}

/// An answer other than 2xx: the status and a message naming the field and what is
/// accepted.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn not_found(message: String) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message,
        }
    }

    pub fn bad_request(message: String) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }

    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "changes need Authorization: Bearer <token> (admin.token_file)".into(),
        }
    }

    pub fn method_not_allowed(message: String) -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message,
        }
    }

    pub fn into_response(self) -> Response<Vec<u8>> {
        json_response(self.status, json!({ "error": self.message }))
    }
}

impl Reply {
    pub fn into_response(self) -> Response<Vec<u8>> {
        match self {
            Reply::Json(body) => json_response(StatusCode::OK, body),
            Reply::Text(body) => Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                .header("content-length", body.len())
                .body(body)
                .unwrap_or_default(),
            Reply::NoContent => Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Vec::new())
                .unwrap_or_default(),
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response<Vec<u8>> {
    let mut body = body.to_string().into_bytes();
    body.push(b'\n');
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(body)
        .unwrap_or_default()
}

/// `%XX` sequences decoded; anything else kept as is.
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match (c, hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `limit=N` in a query string (default 100, at most 100 000).
pub fn limit_param(query: &str) -> Result<usize, ApiError> {
    const MAX: usize = 100_000;
    for pair in query.split('&') {
        if let Some(v) = pair.strip_prefix("limit=") {
            return match v.parse::<usize>() {
                Ok(n) if n <= MAX => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "limit: expected an integer from 0 to {MAX}, got {v:?}"
                ))),
            };
        }
    }
    Ok(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%3Db%2f"), b"a=b/");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%ff"), [0xff]);
        assert_eq!(percent_decode(""), b"");
    }

    #[test]
    fn limit_parameter() {
        assert_eq!(limit_param("").unwrap(), 100);
        assert_eq!(limit_param("x=1&limit=5").unwrap(), 5);
        let e = limit_param("limit=-1").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e
            .message
            .starts_with("limit: expected an integer from 0 to 100000"));
    }
}
