//! Replays request/response exchanges recorded from a real HAProxy 2.6.12 (Debian
//! 2.6.12-1+deb12u4) by `tests/tools/crosscheck.py`: python back ends on
//! 127.0.0.1 echoing the Cookie headers they received and sending the Set-Cookie lines they
//! were asked to, behind `haproxy -db`. Each case records what HAProxy forwarded to the
//! server, which server answered, the cookie log flags (`%tsc` characters 3-4) and the
//! Set-Cookie / Cache-Control lines the client received. The file holds the reference
//! tables of sections 1.3-1.6 row by row, then random cases for 16 configurations.
//!
//! Here every case goes through `analyse_request` / `analyse_response` with the server
//! HAProxy's load balancer picked when the cookie did not choose one, and every output must
//! be byte-identical.

use super::super::*;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

const VECTORS: &str = include_str!("haproxy_2_6_12.vectors");

struct Config {
    spec: CookieSpec,
    persist: bool,
}

/// Parses the options of a HAProxy `cookie SRV <options>` line (as written by the harness).
fn parse_config(words: &str) -> Config {
    let mut spec = CookieSpec::new("SRV", CookieMode::Passive);
    let mut persist = false;
    let mut it = words.split_whitespace();
    while let Some(w) = it.next() {
        match w {
            "persist" => persist = true,
            "insert" => spec.mode = CookieMode::Insert,
            "prefix" => spec.mode = CookieMode::Prefix,
            "rewrite" => spec.mode = CookieMode::Rewrite,
            "indirect" => spec.indirect = true,
            "nocache" => spec.nocache = true,
            "postonly" => spec.postonly = true,
            "preserve" => spec.preserve = true,
            "httponly" => spec.httponly = true,
            "secure" => spec.secure = true,
            "domain" => spec.domains.push(it.next().unwrap().to_string()),
            "attr" => spec.attrs.push(it.next().unwrap().to_string()),
            "maxidle" => spec.maxidle = it.next().unwrap().parse().unwrap(),
            "maxlife" => spec.maxlife = it.next().unwrap().parse().unwrap(),
            other => panic!("unknown cookie option {other}"),
        }
    }
    Config { spec, persist }
}

/// Undoes the harness escaping: `\\` and `\xNN`.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[derive(Default)]
struct Case {
    id: String,
    config: String,
    method: String,
    now: u32,
    maint: Vec<usize>,
    rule: Option<String>,
    use_server: Option<usize>,
    cookies: Vec<Vec<u8>>,
    set_cookies: Vec<Vec<u8>>,
    resp_headers: Vec<Vec<u8>>,
    status: u16,
    fwd: Vec<Vec<u8>>,
    served: Option<usize>,
    flags: String,
    out_sc: Vec<Vec<u8>>,
    out_cc: Vec<Vec<u8>>,
}

fn server_index(name: &str) -> Option<usize> {
    match name {
        "s1" => Some(0),
        "s2" => Some(1),
        "s3" => Some(2),
        "s4" => Some(3),
        _ => None,
    }
}

/// The configurations (by id), the server cookie values, and the recorded cases.
struct Vectors {
    configs: Vec<(String, Config)>,
    servers: Vec<Option<Vec<u8>>>,
    cases: Vec<Case>,
}

fn parse_vectors() -> Vectors {
    let mut configs = Vec::new();
    let mut servers = Vec::new();
    let mut cases = Vec::new();
    let mut cur = Case::default();
    for line in VECTORS.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "config" => {
                let (id, words) = rest.split_once(' ').unwrap_or((rest, ""));
                configs.push((id.to_string(), parse_config(words)));
            }
            "servers" => {
                for s in rest.split_whitespace() {
                    let (_, v) = s.split_once('=').unwrap();
                    servers.push(if v.is_empty() {
                        None
                    } else {
                        Some(v.as_bytes().to_vec())
                    });
                }
            }
            "case" => {
                let (id, conf) = rest.split_once(' ').unwrap();
                cur = Case {
                    id: id.into(),
                    config: conf.into(),
                    ..Case::default()
                };
            }
            "method" => cur.method = rest.into(),
            "now" => cur.now = rest.parse().unwrap(),
            "maint" => cur.maint.push(server_index(rest).unwrap()),
            "rule" => cur.rule = Some(rest.into()),
            "use" => cur.use_server = server_index(rest),
            "cookie" => cur.cookies.push(unescape(rest)),
            "sc" => cur.set_cookies.push(unescape(rest)),
            "rh" => cur.resp_headers.push(unescape(rest)),
            "status" => cur.status = rest.parse().unwrap(),
            "fwd" => cur.fwd.push(unescape(rest)),
            "served" => cur.served = server_index(rest),
            "flags" => cur.flags = rest.into(),
            "out-sc" => cur.out_sc.push(unescape(rest)),
            "out-cc" => cur.out_cc.push(unescape(rest)),
            "end" => cases.push(std::mem::take(&mut cur)),
            other => panic!("unknown vector line {other}"),
        }
    }
    Vectors {
        configs,
        servers,
        cases,
    }
}

/// What the proxy does with the header list: apply the edits in place.
fn apply(list: &[Vec<u8>], edits: &[HeaderEdit]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        match edits.iter().find(|e| e.index == i).map(|e| &e.action) {
            Some(EditAction::Remove) => {}
            Some(EditAction::Replace(b)) => out.push(b.clone()),
            None => out.push(trim(v).to_vec()),
        }
    }
    out
}

/// HAProxy's H1 parser drops blanks around header values.
fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(s, |p| p + 1);
    &v[s..e]
}

fn show(list: &[Vec<u8>]) -> Vec<String> {
    list.iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn run_case(conf: &Config, servers: &[Option<Vec<u8>>], c: &Case) -> Result<(), String> {
    let policy = CookiePolicy::new(conf.spec.clone(), servers.to_vec()).unwrap();
    let rule = match c.rule.as_deref() {
        Some("force") => PersistOverride::Force,
        Some("ignore") => PersistOverride::Ignore,
        _ => PersistOverride::None,
    };
    let stopped = |i: usize| c.maint.contains(&i);
    // use-server: the rule's server is taken unless stopped (without persist/force).
    let assigned = c
        .use_server
        .filter(|&s| !stopped(s) || conf.persist || rule == PersistOverride::Force);
    let ctx = RequestContext {
        now: c.now,
        option_persist: conf.persist,
        rule,
        assigned,
    };
    let refs: Vec<&[u8]> = c.cookies.iter().map(|v| v.as_slice()).collect();
    let req = analyse_request(&policy, &refs, &ctx, stopped);

    let fwd = apply(&c.cookies, &req.edits);
    if fwd != c.fwd {
        return Err(format!(
            "forwarded {:?}, HAProxy {:?}",
            show(&fwd),
            show(&c.fwd)
        ));
    }
    if let Some(s) = req.server.or(assigned) {
        if Some(s) != c.served {
            return Err(format!("server {s}, HAProxy {:?}", c.served));
        }
    }

    let mut headers = HeaderMap::new();
    for rh in &c.resp_headers {
        let s = std::str::from_utf8(rh).unwrap();
        let (n, v) = s.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(n.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    let method: Method = c.method.parse().unwrap();
    let rctx = ResponseContext {
        now: c.now,
        served: c.served,
        direct: req.server.is_some() || assigned.is_some(),
        ignore_persist: rule == PersistOverride::Ignore,
        is_post: method == Method::POST,
        status: c.status,
        cacheable: is_cacheable(&method, c.status, &headers),
        last_date: req.last_date,
        first_date: req.first_date,
    };
    let refs: Vec<&[u8]> = c.set_cookies.iter().map(|v| v.as_slice()).collect();
    let resp = analyse_response(&policy, &refs, &rctx);
    let mut out_sc = apply(&c.set_cookies, &resp.edits);
    if let Some(v) = &resp.insert {
        out_sc.push(v.as_bytes().to_vec());
    }
    if out_sc != c.out_sc {
        return Err(format!(
            "set-cookie {:?}, HAProxy {:?}",
            show(&out_sc),
            show(&c.out_sc)
        ));
    }
    let mut out_cc: Vec<Vec<u8>> = headers
        .get_all("cache-control")
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
    if resp.cache_private {
        out_cc.push(b"private".to_vec());
    }
    if out_cc != c.out_cc {
        return Err(format!(
            "cache-control {:?}, HAProxy {:?}",
            show(&out_cc),
            show(&c.out_cc)
        ));
    }
    let flags = format!("--{}{}", req.flag.as_char(), resp.flag.as_char());
    if flags != c.flags {
        return Err(format!("flags {flags}, HAProxy {}", c.flags));
    }
    Ok(())
}

#[test]
fn every_recorded_haproxy_2_6_12_exchange_is_reproduced_byte_for_byte() {
    let Vectors {
        configs,
        servers,
        cases,
    } = parse_vectors();
    assert_eq!(configs.len(), 16);
    assert!(cases.len() > 600, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let conf = &configs.iter().find(|(id, _)| *id == c.config).unwrap().1;
        if let Err(e) = run_case(conf, &servers, c) {
            let mut msg = format!(
                "case {} ({}) cookies {:?} set-cookie {:?}: {e}",
                c.id,
                c.config,
                show(&c.cookies),
                show(&c.set_cookies)
            );
            if msg.len() > 600 {
                let mut cut = 600;
                while !msg.is_char_boundary(cut) {
                    cut -= 1;
                }
                msg.truncate(cut);
                msg.push_str("...");
            }
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
