//! Allocation budget of the hot path, measured with a counting global allocator (test
//! binary only; counts are per thread so parallel tests do not interfere).
//!
//! - no Cookie header, or none of ours: no allocation at all;
//! - the common hit (`SRV=s1` alone, insert+indirect): only the edits Vec;
//! - an undated insertion: nothing (the precomputed HeaderValue is shared).

use super::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(|c| c.get());
    f();
    ALLOCS.with(|c| c.get()) - before
}

#[test]
fn request_without_our_cookie_does_not_allocate() {
    let p = insert_indirect();
    let c = ctx();
    let none: [&[u8]; 0] = [];
    let other: [&[u8]; 2] = [b"a=1; b=2; session=xyz", b"theme=dark"];
    assert_eq!(
        allocations(|| drop(analyse_request(&p, &none, &c, |_| false))),
        0
    );
    assert_eq!(
        allocations(|| drop(analyse_request(&p, &other, &c, |_| false))),
        0
    );
    // rewrite/passive/insert-without-indirect hits edit nothing: no allocation either
    let passive = policy(CookieMode::Insert, |_| {});
    let hit: [&[u8]; 1] = [b"a=1; SRV=s1; b=2"];
    assert_eq!(
        allocations(|| drop(analyse_request(&passive, &hit, &c, |_| false))),
        0
    );
}

#[test]
fn common_hit_allocates_only_the_edit_list() {
    let p = insert_indirect();
    let c = ctx();
    let hit: [&[u8]; 1] = [b"SRV=s1"];
    assert_eq!(
        allocations(|| drop(analyse_request(&p, &hit, &c, |_| false))),
        1
    );
    // with other cookies: the edit list and the replacement value
    let mixed: [&[u8]; 1] = [b"a=1; SRV=s1; b=2"];
    assert_eq!(
        allocations(|| drop(analyse_request(&p, &mixed, &c, |_| false))),
        2
    );
}

#[test]
fn undated_insertion_and_plain_responses_do_not_allocate() {
    let p = insert_indirect();
    let sc: [&[u8]; 1] = [b"other=1; path=/"];
    let r = rctx(Some(S1));
    assert_eq!(allocations(|| drop(analyse_response(&p, &sc, &r))), 0);
    let mut direct = rctx(Some(S1));
    direct.direct = true;
    assert_eq!(allocations(|| drop(analyse_response(&p, &sc, &direct))), 0);
}
