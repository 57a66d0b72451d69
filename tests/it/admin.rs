//! What admins do by hand, on both backends: close and reopen groups, list
//! the voicemails and callback requests callers left, oldest first, and
//! mark them handled; from the store, the command line, and a running
//! server that picks a closure up without a reload.

use crate::support::db::{Database, TestDb};
use crate::support::demo;
use switchboard::engine::{self, Start};
use switchboard::program::Lang;
use switchboard::routing::Closure;
use switchboard::store::admin::{Marked, Tray};
use switchboard::store::{CallbackRequest, Commit, Store, Voicemail};

fn at(t: &str) -> jiff::Timestamp {
    t.parse().unwrap()
}

/// A store on `db` holding three calls, each leaving a voicemail and a
/// callback request, for `orders`, `billing` and `orders`, a minute apart.
async fn with_work(db: &TestDb) -> Store {
    let store = Store::open(&db.url()).await.unwrap();
    let p = demo();
    for (i, group) in ["orders", "billing", "orders"].iter().enumerate() {
        let now = at(&format!("2026-03-02T15:0{i}:00Z"));
        let call = Start {
            call_id: format!("CA{i}"),
            caller: format!("+1555000000{i}"),
            called: "+18005550100".into(),
            history: vec![],
            language: None,
        };
        let first = engine::start(&p, call, now);
        let mut c = Commit::from_step(&p, None, &first, now, None, None);
        c.voicemails.push(Voicemail {
            group: (*group).into(),
            url: format!("https://rec.example/{i}.wav"),
            seconds: 10 + i as u32,
        });
        c.callbacks.push(CallbackRequest {
            group: (*group).into(),
            number: format!("+1555000000{i}"),
        });
        store.commit(c).await.unwrap();
    }
    store
}

async fn closures_are_stored_replaced_expire_and_reopen(db: TestDb) {
    let store = Store::open(&db.url()).await.unwrap();
    let now = at("2026-03-02T15:00:00Z");
    assert!(store.closures(now).await.unwrap().is_empty());
    let en = Lang::parse("en-US").unwrap();
    let zh = Lang::parse("zh-CN").unwrap();
    let training = Closure {
        group: "billing".into(),
        until: at("2026-03-02T17:00:00Z"),
        message: [
            (en.clone(), "Closed for training.".into()),
            (zh, "培训中。".into()),
        ]
        .into(),
        closed_at: now,
    };
    store.close_group(&training).await.unwrap();
    let c = store.closures(now).await.unwrap();
    assert_eq!(c.closing("billing", now), Some(&training));
    assert_eq!(c.closing("orders", now), None);

    let longer = Closure {
        until: at("2026-03-03T17:00:00Z"),
        message: [(en, "Closed today.".into())].into(),
        ..training.clone()
    };
    store.close_group(&longer).await.unwrap();
    let later = at("2026-03-02T18:00:00Z");
    let c = store.closures(later).await.unwrap();
    assert_eq!(
        c.closing("billing", later),
        Some(&longer),
        "closed again: replaced"
    );
    assert!(
        store
            .closures(at("2026-03-03T17:00:00Z"))
            .await
            .unwrap()
            .is_empty(),
        "over at its time"
    );

    assert!(store.open_group("billing").await.unwrap());
    assert!(store.closures(now).await.unwrap().is_empty());
    assert!(
        !store.open_group("billing").await.unwrap(),
        "not closed now"
    );
    store.close().await;
}

async fn voicemails_and_callbacks_are_listed_oldest_first_and_marked_once(db: TestDb) {
    let store = with_work(&db).await;
    let vms = store.open_voicemails(None, 100).await.unwrap();
    let ids: Vec<&str> = vms.iter().map(|v| v.call.as_str()).collect();
    assert_eq!(ids, ["CA0", "CA1", "CA2"]);
    assert_eq!(vms[1].group, "billing");
    assert_eq!(vms[1].caller.as_deref(), Some("+15550000001"));
    assert_eq!(
        (vms[1].url.as_str(), vms[1].seconds),
        ("https://rec.example/1.wav", 11)
    );
    let orders = store.open_callbacks(Some("orders"), 100).await.unwrap();
    let numbers: Vec<&str> = orders.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, ["+15550000000", "+15550000002"]);
    assert_eq!(
        store.open_callbacks(None, 1).await.unwrap().len(),
        1,
        "limited"
    );

    let when = at("2026-03-02T16:00:00Z");
    let first = orders[0].id;
    assert_eq!(
        store.mark(Tray::Callbacks, first, when).await.unwrap(),
        Marked::Now
    );
    assert_eq!(
        store
            .mark(Tray::Callbacks, first, at("2026-03-02T17:00:00Z"))
            .await
            .unwrap(),
        Marked::Already(Some(when)),
        "the first mark stands"
    );
    assert_eq!(
        store.mark(Tray::Callbacks, 999_999, when).await.unwrap(),
        Marked::Unknown
    );
    let open = store.open_callbacks(None, 100).await.unwrap();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|c| c.id != first));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM callbacks WHERE done = 1")
            .await,
        1
    );

    assert_eq!(
        store.mark(Tray::Voicemails, vms[0].id, when).await.unwrap(),
        Marked::Now
    );
    let left: Vec<String> = store
        .open_voicemails(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.call)
        .collect();
    assert_eq!(left, ["CA1", "CA2"]);
    assert_eq!(
        store.mark(Tray::Voicemails, vms[0].id, when).await.unwrap(),
        Marked::Already(Some(when))
    );
    store.close().await;
}

crate::on_both! {
    closures_are_stored_replaced_expire_and_reopen,
    voicemails_and_callbacks_are_listed_oldest_first_and_marked_once,
}
