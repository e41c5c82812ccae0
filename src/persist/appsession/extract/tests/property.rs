//! Random inputs (deterministic PRNG): no panic, every id borrows from its input and passes
//! `clean()`; `url_id()` agrees with a line-by-line port of HAProxy's pointer loop.

use super::*;

use crate::test_rng::Rng;

impl Rng {
    /// Bytes biased towards the ones the parsers care about.
    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        const PIECES: &[&[u8]] = &[
            b";",
            b",",
            b"=",
            b"\"",
            b"\\",
            b"$",
            b" ",
            b"\t",
            b"?",
            b"&",
            b"#",
            b"-",
            b"0",
            b"JSESSIONID",
            b"jsessionid",
            b"ASPSESSIONID",
            b"sid",
            b"X-Id",
            b"Max-Age",
            b"?sid=",
            b"&sid=",
            b";jsessionid=",
            b"&JSESSIONID=",
            b"; Max-Age=0",
            b"max-age=0",
            b"Expires=",
            b"Thu, 01 Jan 1970 00:00:01 GMT",
            b"a",
            b"Z",
            b"%3D",
        ];
        let len = self.below(max_len + 1);
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            if self.below(4) == 0 {
                out.push(self.next() as u8);
            } else {
                out.extend_from_slice(PIECES[self.below(PIECES.len())]);
            }
        }
        out
    }
}

fn specs() -> Vec<IdSpec> {
    let mut specs = Vec::new();
    for len in [1, 4, 52] {
        for url_mode in [UrlMode::PathParameters, UrlMode::QueryString] {
            for source in [
                IdSource::Cookie(CookieName::Exact(b"JSESSIONID".to_vec())),
                IdSource::Cookie(CookieName::Prefix(b"ASPSESSIONID".to_vec())),
                IdSource::Cookie(CookieName::Prefix(Vec::new())),
                IdSource::Cookie(CookieName::Any),
                IdSource::Src,
                IdSource::Header("X-Id".into()),
                IdSource::UrlParam("sid".into()),
            ] {
                specs.push(IdSpec {
                    source,
                    len,
                    url_mode,
                });
            }
        }
    }
    specs
}

fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (i, o) = (inner.as_ptr_range(), outer.as_ptr_range());
    o.start <= i.start && i.end <= o.end
}

fn assert_clean_id(spec: &IdSpec, id: &[u8], input: &[u8]) {
    assert!(within(id, input), "{id:?} not in {input:?}");
    assert_eq!(clean(id, spec.len), Some(id), "{id:?} from {input:?}");
}

/// `get_srv_from_appsession()` of HAProxy v1.5.0 transcribed with indices (the `?` search
/// bounded by the target, see `url_id()`), returning the raw value it looks up.
fn haproxy_url_scan<'a>(spec: &IdSpec, uri: &'a [u8]) -> Option<&'a [u8]> {
    let (name, pfx) = match &spec.source {
        IdSource::Cookie(CookieName::Exact(n)) => (n.as_slice(), false),
        IdSource::Cookie(CookieName::Prefix(n)) => (n.as_slice(), true),
        _ => return None,
    };
    let pp = spec.url_mode == UrlMode::PathParameters;
    let first_param = uri
        .iter()
        .position(|&c| c == if pp { b';' } else { b'?' })?;
    let (end_params, separator) = if pp {
        let q = uri[first_param..].iter().position(|&c| c == b'?');
        (q.map_or(uri.len(), |q| first_param + q), b';')
    } else {
        (uri.len(), b'&')
    };
    let (mut cur_param, mut next_param) = (end_params, end_params);
    while cur_param > first_param {
        cur_param -= 1;
        if uri[cur_param] == separator || cur_param == first_param {
            if cur_param + name.len() + 1 < next_param
                && (pfx || uri[cur_param + name.len() + 1] == b'=')
                && uri[cur_param + 1..cur_param + 1 + name.len()].eq_ignore_ascii_case(name)
            {
                let start = cur_param + name.len() + if pfx { 1 } else { 2 };
                let value_len = spec.len.min(next_param - start);
                return (value_len > 0).then(|| &uri[start..next_param]);
            }
            next_param = cur_param;
        }
    }
    None
}

#[test]
fn random_inputs_give_clean_borrowed_ids() {
    let specs = specs();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..4000 {
        let spec = &specs[round % specs.len()];
        let headers: Vec<Vec<u8>> = (0..rng.below(4)).map(|_| rng.bytes(80)).collect();
        let views: Vec<&[u8]> = headers.iter().map(Vec::as_slice).collect();
        let now = rng.next() % 4_000_000_000;

        let mut count = 0;
        for id in request_cookie_ids(spec, &views) {
            count += 1;
            assert!(views.iter().any(|h| within(id, h)));
            assert_eq!(clean(id, spec.len), Some(id));
        }
        assert!(count <= MAX_COOKIE_IDS);

        for line in &views {
            match set_cookie_id(spec, line, now) {
                SetCookieId::Set(id) => assert_clean_id(spec, id, line),
                SetCookieId::Deleted(prefix) => {
                    assert!(within(prefix, line));
                    assert!(prefix.len() <= spec.len);
                    assert!(prefix.iter().all(|&c| c >= 0x20 && c != 0x7F));
                }
                SetCookieId::None => {}
            }
        }

        let target = rng.bytes(80);
        let got = url_id(spec, &target);
        if let Some(id) = got {
            assert_clean_id(spec, id, &target);
        }
        let reference = haproxy_url_scan(spec, &target).and_then(|raw| clean(raw, spec.len));
        assert_eq!(got, reference, "{target:?}");
        if let Some(id) = url_param_id(spec, &target) {
            assert_clean_id(spec, id, &target);
        }
        if let Some(id) = header_id(spec, &views) {
            assert!(within(id, views[0]));
            assert_eq!(clean(id, spec.len), Some(id));
        }
    }
}

#[test]
fn many_cookies_stop_at_the_bound() {
    let mut rng = Rng(7);
    let spec = any_cookie();
    for _ in 0..50 {
        let header: Vec<u8> = (0..40)
            .flat_map(|i| format!("c{i}={}; ", rng.below(1000)).into_bytes())
            .collect();
        assert_eq!(
            request_cookie_ids(&spec, &[&header]).count(),
            MAX_COOKIE_IDS
        );
    }
}
