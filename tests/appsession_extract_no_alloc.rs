//! The request-side extraction of `persist::appsession::extract` borrows only: counted with
//! a thread-local counting allocator (its own test binary, so the allocator is isolated).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tether::persist::appsession::extract::{
    header_id, request_cookie_ids, set_cookie_id, url_id, url_param_id, CookieName, IdSource,
    IdSpec, SetCookieId, UrlMode,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

fn spec(source: IdSource) -> IdSpec {
    IdSpec {
        source,
        len: 52,
        url_mode: UrlMode::PathParameters,
    }
}

#[test]
fn extraction_does_not_allocate() {
    let exact = spec(IdSource::Cookie(CookieName::Exact(b"JSESSIONID".to_vec())));
    let any = spec(IdSource::Cookie(CookieName::Any));
    let header = spec(IdSource::Header("X-Id".into()));
    let param = spec(IdSource::UrlParam("sid".into()));
    let cookies: [&[u8]; 2] = [b"$Version=1; a=1; JSESSIONID=\"q;x\"", b"JSESSIONID=B, b=2"];
    let mut found = 0;
    let n = allocations_in(|| {
        found += request_cookie_ids(&exact, &cookies).count();
        found += request_cookie_ids(&any, &cookies).count();
        found += usize::from(url_id(&exact, b"/app;jsessionid=ABC?x=1").is_some());
        found += usize::from(url_param_id(&param, b"/p?a=1&sid=XYZ#f").is_some());
        found += usize::from(header_id(&header, &[b"  abc  "]).is_some());
        let line = b"JSESSIONID=x; Path=/; Expires=Thu, 01-Jan-1970 00:00:01 GMT";
        found +=
            usize::from(set_cookie_id(&exact, line, 1_700_000_000) == SetCookieId::Deleted(b""));
    });
    assert_eq!(found, 2 + 4 + 1 + 1 + 1 + 1);
    assert_eq!(n, 0);
}
