//! One call step on the demo's main menu, rendered by every provider:
//! `engine::step` plus the provider's document, the work a callback does
//! besides IO, and one queue hold document (`engine::hold` and its render).
//! No provider's may cost more than twice Twilio's; `scripts/provider-bench.sh`
//! runs this side by side (alternating the order) and prints the ratios.
//!
//! Run: `cargo bench --bench providers` (set `PROVIDER_BENCH_REVERSED=1` to
//! measure the providers in the opposite order).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard::engine::{self, Event, Start};
use switchboard::provider::capability::Kind;
use switchboard::provider::{BaseUrls, Document, Provider};

fn provider(kind: Kind) -> Box<dyn Provider> {
    use switchboard::provider::{plivo, signalwire, telnyx, twilio, vxml};
    match kind {
        Kind::Twilio => Box::new(twilio::Twilio::new(None)),
        Kind::Plivo => Box::new(plivo::Plivo::new(None, None)),
        Kind::Telnyx => Box::new(telnyx::Telnyx::new(None).expect("no key")),
        Kind::SignalWire => Box::new(signalwire::SignalWire::new(None)),
        Kind::Vxml => Box::new(vxml::VoiceXml::new(None)),
    }
}

fn bench(c: &mut Criterion) {
    let set = switchboard::flow::load_dir(std::path::Path::new("flows")).expect("flows");
    let p = switchboard::compile::compile(&set)
        .program
        .expect("the demo compiles");
    let now: jiff::Timestamp = "2026-03-02T15:00:00Z".parse().expect("a time");
    let start = Start {
        call_id: "CA0123456789abcdef0123456789abcdef".into(),
        caller: "+15550001111".into(),
        called: "+18005550100".into(),
        history: vec![],
        language: None,
    };
    let at_language = engine::start(&p, start, now);
    let at_menu = engine::step(&p, &at_language.state, Event::Digits("1".into()), now).state;
    let general = p
        .group_by_name("general")
        .expect("the demo's general group");
    let waiting = engine::Waiting {
        waited: std::time::Duration::from_secs(0),
        position: Some(3),
        expected: Some(std::time::Duration::from_secs(240)),
        ours: false,
    };
    let mut kinds = Kind::ALL.to_vec();
    if std::env::var_os("PROVIDER_BENCH_REVERSED").is_some() {
        kinds.reverse();
    }
    for kind in kinds {
        let provider = provider(kind);
        let urls = BaseUrls::new("https://ivr.example.com", kind.name());
        c.bench_function(
            &format!("providers/{}/main_menu_press_2", kind.name()),
            |b| {
                b.iter(|| {
                    let s = engine::step(&p, black_box(&at_menu), Event::Digits("2".into()), now);
                    provider.render(&Document {
                        actions: &s.actions,
                        program: &p,
                        call_id: &s.state.call_id,
                        step: s.state.step,
                        urls: &urls,
                        hold: None,
                    })
                })
            },
        );
        c.bench_function(&format!("providers/{}/hold", kind.name()), |b| {
            b.iter(|| {
                let actions = engine::hold(&p, general, &p.default_language, black_box(&waiting));
                provider.render(&Document {
                    actions: &actions,
                    program: &p,
                    call_id: "CA0123456789abcdef0123456789abcdef",
                    step: 4,
                    urls: &urls,
                    hold: Some("general"),
                })
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
