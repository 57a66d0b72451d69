//! One call step on the demo's main menu: `engine::step` plus TwiML
//! rendering, the work a callback does besides IO. Target ≤ 20 µs.
//!
//! Run: `cargo bench --bench engine`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard::engine::{self, Event, Start};
use switchboard::provider::{BaseUrls, twilio};

fn bench(c: &mut Criterion) {
    let set = switchboard::flow::load_dir(std::path::Path::new("flows")).expect("flows");
    let p = switchboard::compile::compile(&set)
        .program
        .expect("the demo compiles");
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().expect("a time");
    let urls = BaseUrls::new("https://ivr.example.com", "twilio");
    let start = Start {
        call_id: "CA0123456789abcdef0123456789abcdef".into(),
        caller: "+15550001111".into(),
        called: "+18005550100".into(),
        history: vec![],
        language: None,
    };
    // Answer the language menu: the call now waits at the main menu.
    let at_language = engine::start(&p, start, now);
    let at_menu = engine::step(&p, &at_language.state, Event::Digits("1".into()), now).state;

    c.bench_function("step_and_render/main_menu_press_2", |b| {
        b.iter(|| {
            let s = engine::step(&p, black_box(&at_menu), Event::Digits("2".into()), now);
            twilio::render(&s.actions, &p, &s.state.call_id, s.state.step, &urls)
        })
    });
    c.bench_function("step_and_render/language_menu_press_1", |b| {
        b.iter(|| {
            let s = engine::step(
                &p,
                black_box(&at_language.state),
                Event::Digits("1".into()),
                now,
            );
            twilio::render(&s.actions, &p, &s.state.call_id, s.state.step, &urls)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
