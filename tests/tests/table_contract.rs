//! The `Table` contract: every behaviour of the port, run against both adapters (the embedded
//! store, and DynamoDB on the local emulator), so that they cannot drift apart.

use chrono::Duration;
use clientwatch::ports::{
    Clock, Condition, Cursor, Index, IndexKey, Item, Key, Query, SortKey, Table, TableError, TxOp,
    Update,
};
use clientwatch_tests::Harness;
use serde_json::{Map, Value, json};

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(&clientwatch_tests::Harness::new(clientwatch_tests::Store::Embedded).await).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(&clientwatch_tests::Harness::new(clientwatch_tests::Store::DynamoDb).await).await;
            })*
        }
    };
}

contract!(
    a_missing_item_is_none,
    an_item_reads_back_exactly_as_written,
    put_if_absent_refuses_to_overwrite,
    put_if_version_guards_against_lost_updates,
    put_if_exists_refuses_a_missing_item,
    a_condition_on_a_data_attribute,
    update_creates_sets_removes_and_counts,
    update_with_a_failed_condition_changes_nothing,
    a_capped_counter_never_passes_its_cap_under_concurrency,
    delete_returns_the_old_item_and_honours_its_condition,
    query_selects_by_prefix_in_both_directions,
    query_selects_ranges,
    pages_follow_a_cursor_to_the_end,
    a_cursor_is_bound_to_its_partition,
    a_secondary_index_is_sparse_ordered_and_follows_changes,
    a_transaction_writes_everything,
    a_failed_transaction_writes_nothing_and_names_the_failed_condition,
    a_transaction_refuses_repeated_items_and_oversize,
    transactions_together_each_apply_whole_or_not_at_all,
    batch_get_returns_items_in_order_across_many_calls,
    batch_put_writes_across_many_calls_and_refuses_repeats,
    batch_delete_removes_across_many_calls_and_ignores_absent_keys,
    expired_items_are_gone_for_every_read_and_condition,
    an_update_may_set_when_the_item_expires,
    invalid_keys_and_reserved_names_are_refused_before_writing,
);

fn data(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn item(pk: &str, sk: &str, value: Value) -> Item {
    Item::new(Key::new(pk, sk), data(value))
}

fn sks(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.sk.as_str()).collect()
}

/// Everything stored in a partition, in sort-key order.
async fn partition(h: &Harness, pk: &str) -> Vec<Item> {
    h.table.query(Query::partition(pk)).await.unwrap().items
}

async fn seed(table: &dyn Table, pk: &str, sks: &[&str]) {
    let items = sks
        .iter()
        .map(|sk| item(pk, sk, json!({"n": sk})))
        .collect();
    table.batch_put(items).await.unwrap();
}

async fn a_missing_item_is_none(h: &Harness) {
    assert_eq!(h.table.get(&Key::new("T#1", "NOPE")).await.unwrap(), None);
}

async fn an_item_reads_back_exactly_as_written(h: &Harness) {
    let written = item(
        "T#1",
        "CLIENT",
        json!({
            "name": "Ana Smith", "count": 3, "negative": -7, "ratio": 0.15, "ok": true,
            "nothing": null, "empty": "", "list": [1, "two", {"three": [3]}],
            "nested": {"deep": {"deeper": "yes"}, "none": []}, "unicode": "Māori ☕"
        }),
    )
    .with_index(Index::Gsi1, IndexKey::new("S#IND-1", "T#1"))
    .with_index(Index::Gsi2, IndexKey::new("DAY#2026-11-23", "x"))
    .with_expiry(h.clock.now().timestamp() + 3600)
    .with_version(5);
    h.table.put(written.clone(), Condition::None).await.unwrap();
    assert_eq!(h.table.get(&written.key).await.unwrap(), Some(written));
}

async fn put_if_absent_refuses_to_overwrite(h: &Harness) {
    let first = item("T#1", "TENANT", json!({"name": "first"}));
    h.table.put(first.clone(), Condition::Absent).await.unwrap();
    let second = item("T#1", "TENANT", json!({"name": "second"}));
    let err = h.table.put(second, Condition::Absent).await.unwrap_err();
    assert!(
        matches!(err, TableError::ConditionFailed(ref k) if *k == first.key),
        "{err:?}"
    );
    assert_eq!(h.table.get(&first.key).await.unwrap(), Some(first));
}

async fn put_if_version_guards_against_lost_updates(h: &Harness) {
    let key = Key::new("T#1#C#1", "CLIENT");
    h.table
        .put(
            item("T#1#C#1", "CLIENT", json!({"name": "v1"})),
            Condition::Absent,
        )
        .await
        .unwrap();
    let read = h.table.get(&key).await.unwrap().unwrap();
    // Two writers read version 1; the first to write wins, the second is told.
    let mine = Item::new(key.clone(), data(json!({"name": "mine"}))).with_version(read.version + 1);
    let theirs =
        Item::new(key.clone(), data(json!({"name": "theirs"}))).with_version(read.version + 1);
    h.table
        .put(mine, Condition::VersionIs(read.version))
        .await
        .unwrap();
    let err = h
        .table
        .put(theirs, Condition::VersionIs(read.version))
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed(_)), "{err:?}");
    let now = h.table.get(&key).await.unwrap().unwrap();
    assert_eq!((now.version, now.data["name"].clone()), (2, json!("mine")));
}

async fn put_if_exists_refuses_a_missing_item(h: &Harness) {
    let err = h
        .table
        .put(item("T#1", "GHOST", json!({})), Condition::Exists)
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed(_)), "{err:?}");
    assert_eq!(h.table.get(&Key::new("T#1", "GHOST")).await.unwrap(), None);
}

async fn a_condition_on_a_data_attribute(h: &Harness) {
    let key = Key::new("INV#1", "INVITE");
    h.table
        .put(
            item("INV#1", "INVITE", json!({"status": "active"})),
            Condition::None,
        )
        .await
        .unwrap();
    let revoke = || {
        Update::default()
            .set("status", "revoked")
            .when(Condition::AttrEquals("status".into(), json!("active")))
    };
    h.table.update(&key, revoke()).await.unwrap();
    let err = h.table.update(&key, revoke()).await.unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed(_)), "{err:?}");
}

async fn update_creates_sets_removes_and_counts(h: &Harness) {
    let key = Key::new("T#1", "COUNTERS");
    let created = h
        .table
        .update(
            &key,
            Update::default()
                .add("hits", 2)
                .set("label", "x")
                .set("temp", true),
        )
        .await
        .unwrap();
    assert_eq!(
        created.data,
        data(json!({"hits": 2, "label": "x", "temp": true}))
    );
    assert_eq!(created.version, 1);
    let updated = h
        .table
        .update(
            &key,
            Update::default()
                .add("hits", 3)
                .remove("temp")
                .set("label", json!({"a": [1]})),
        )
        .await
        .unwrap();
    assert_eq!(updated.data, data(json!({"hits": 5, "label": {"a": [1]}})));
    assert_eq!(updated.version, 2);
    assert_eq!(h.table.get(&key).await.unwrap(), Some(updated));
}

async fn update_with_a_failed_condition_changes_nothing(h: &Harness) {
    let key = Key::new("T#1", "MISSING");
    let err = h
        .table
        .update(&key, Update::default().set("x", 1).when(Condition::Exists))
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed(_)), "{err:?}");
    assert_eq!(h.table.get(&key).await.unwrap(), None);
}

async fn a_capped_counter_never_passes_its_cap_under_concurrency(h: &Harness) {
    let key = Key::new("T#1", "ROLECOUNT");
    let attempts = (0..12).map(|_| {
        let table = h.table.clone();
        let key = key.clone();
        tokio::spawn(async move {
            table
                .update(
                    &key,
                    Update::default()
                        .add("roles", 1)
                        .when(Condition::Below("roles".into(), 5)),
                )
                .await
        })
    });
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(TableError::ConditionFailed(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 5);
    assert_eq!(
        h.table.get(&key).await.unwrap().unwrap().data["roles"],
        json!(5)
    );
}

async fn delete_returns_the_old_item_and_honours_its_condition(h: &Harness) {
    let stored = item("T#1", "ROLE#1", json!({"name": "Primary"})).with_version(3);
    h.table.put(stored.clone(), Condition::None).await.unwrap();
    let err = h
        .table
        .delete(&stored.key, Condition::VersionIs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed(_)), "{err:?}");
    let old = h
        .table
        .delete(&stored.key, Condition::VersionIs(3))
        .await
        .unwrap();
    assert_eq!(old, Some(stored.clone()));
    assert_eq!(h.table.get(&stored.key).await.unwrap(), None);
    assert_eq!(
        h.table.delete(&stored.key, Condition::None).await.unwrap(),
        None
    );
}

async fn query_selects_by_prefix_in_both_directions(h: &Harness) {
    seed(
        &*h.table,
        "T#1",
        &["CONTACT#b", "CONTACT#a", "CONTACT#c", "CLIENT", "OPP#1"],
    )
    .await;
    seed(&*h.table, "T#2", &["CONTACT#z"]).await;
    let contacts = Query::partition("T#1").sk(SortKey::BeginsWith("CONTACT#".into()));
    let page = h.table.query(contacts.clone()).await.unwrap();
    assert_eq!(sks(&page.items), ["CONTACT#a", "CONTACT#b", "CONTACT#c"]);
    assert_eq!(page.next, None);
    let page = h.table.query(contacts.descending()).await.unwrap();
    assert_eq!(sks(&page.items), ["CONTACT#c", "CONTACT#b", "CONTACT#a"]);
    let all = h.table.query(Query::partition("T#1")).await.unwrap();
    assert_eq!(
        sks(&all.items),
        ["CLIENT", "CONTACT#a", "CONTACT#b", "CONTACT#c", "OPP#1"]
    );
}

async fn query_selects_ranges(h: &Harness) {
    let days = [
        "D#2026-11-01",
        "D#2026-11-15",
        "D#2026-11-30",
        "D#2026-12-01",
    ];
    seed(&*h.table, "T#1", &days).await;
    let q = |sk| Query::partition("T#1").sk(sk);
    let between = SortKey::Between("D#2026-11-01".into(), "D#2026-11-30".into());
    let page = h.table.query(q(between.clone())).await.unwrap();
    assert_eq!(sks(&page.items), &days[..3]);
    let page = h.table.query(q(between).descending()).await.unwrap();
    assert_eq!(
        sks(&page.items),
        ["D#2026-11-30", "D#2026-11-15", "D#2026-11-01"]
    );
    let page = h
        .table
        .query(q(SortKey::From("D#2026-11-15".into())))
        .await
        .unwrap();
    assert_eq!(sks(&page.items), &days[1..]);
    let page = h
        .table
        .query(q(SortKey::UpTo("D#2026-11-15".into())))
        .await
        .unwrap();
    assert_eq!(sks(&page.items), &days[..2]);
}

async fn pages_follow_a_cursor_to_the_end(h: &Harness) {
    let all: Vec<String> = (0..7).map(|i| format!("HIT#{i:02}")).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    seed(&*h.table, "T#1#D#2026-11-23", &refs).await;
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        let mut pages = 0;
        loop {
            let mut q = Query::partition("T#1#D#2026-11-23")
                .limit(3)
                .after(cursor.take());
            if descending {
                q = q.descending();
            }
            let page = h.table.query(q).await.unwrap();
            pages += 1;
            seen.extend(page.items.iter().map(|i| i.key.sk.clone()));
            match page.next {
                Some(next) => cursor = Some(Cursor::parse(next.as_str()).unwrap()),
                None => break,
            }
        }
        let mut expected = all.clone();
        if descending {
            expected.reverse();
        }
        assert_eq!(seen, expected);
        assert_eq!(pages, 3);
    }
    // A page that ends exactly at the last item says there is nothing more.
    let page = h
        .table
        .query(Query::partition("T#1#D#2026-11-23").limit(7))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next), (7, None));
}

async fn a_cursor_is_bound_to_its_partition(h: &Harness) {
    seed(&*h.table, "T#1", &["A", "B", "C"]).await;
    seed(&*h.table, "T#2", &["A", "B", "C"]).await;
    let page = h
        .table
        .query(Query::partition("T#1").limit(1))
        .await
        .unwrap();
    let foreign = Query::partition("T#2").after(page.next.clone());
    assert!(matches!(
        h.table.query(foreign).await,
        Err(TableError::BadCursor)
    ));
    let own = h
        .table
        .query(Query::partition("T#1").after(page.next))
        .await
        .unwrap();
    assert_eq!(sks(&own.items), ["B", "C"]);
    assert!(matches!(
        Cursor::parse("garbage!"),
        Err(TableError::BadCursor)
    ));
}

async fn a_secondary_index_is_sparse_ordered_and_follows_changes(h: &Harness) {
    let watched = |c: &str, t: &str| {
        item(&format!("T#{t}#C#{c}"), "MONITOR", json!({"client": c})).with_index(
            Index::Gsi1,
            IndexKey::new("S#IND-9", format!("T#{t}#C#{c}")),
        )
    };
    for (c, t) in [("3", "b"), ("1", "a"), ("2", "a")] {
        h.table.put(watched(c, t), Condition::None).await.unwrap();
    }
    h.table
        .put(
            item("T#a#C#4", "MONITOR", json!({"client": "4"})),
            Condition::None,
        )
        .await
        .unwrap();
    let q = Query::index(Index::Gsi1, "S#IND-9");
    let page = h.table.query(q.clone()).await.unwrap();
    let pks: Vec<&str> = page.items.iter().map(|i| i.key.pk.as_str()).collect();
    assert_eq!(pks, ["T#a#C#1", "T#a#C#2", "T#b#C#3"], "sparse and ordered");
    // Pages through the index, newest first.
    let first = h
        .table
        .query(q.clone().descending().limit(2))
        .await
        .unwrap();
    assert_eq!(first.items[0].key.pk, "T#b#C#3");
    let rest = h
        .table
        .query(q.clone().descending().limit(2).after(first.next))
        .await
        .unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|i| i.key.pk.as_str())
            .collect::<Vec<_>>(),
        ["T#a#C#1"]
    );
    assert_eq!(rest.next, None);
    // Moving an item to another index key moves it in the index; deleting removes it.
    let moved = watched("1", "a").with_index(Index::Gsi1, IndexKey::new("S#IND-7", "T#a#C#1"));
    h.table.put(moved, Condition::None).await.unwrap();
    h.table
        .delete(&Key::new("T#a#C#2", "MONITOR"), Condition::None)
        .await
        .unwrap();
    let page = h
        .table
        .query(q.sk(SortKey::BeginsWith("T#".into())))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].key.pk, "T#b#C#3");
    let moved = h
        .table
        .query(Query::index(Index::Gsi1, "S#IND-7"))
        .await
        .unwrap();
    assert_eq!(moved.items.len(), 1);
}

async fn a_transaction_writes_everything(h: &Harness) {
    h.table
        .put(item("T#1", "OLD", json!({})), Condition::None)
        .await
        .unwrap();
    h.table
        .put(item("T#1", "COUNT", json!({"n": 1})), Condition::None)
        .await
        .unwrap();
    h.table
        .put(item("T#1", "TENANT", json!({})), Condition::None)
        .await
        .unwrap();
    h.table
        .transact(vec![
            TxOp::Put(item("T#1", "NEW", json!({"a": 1})), Condition::Absent),
            TxOp::Update(Key::new("T#1", "COUNT"), Update::default().add("n", 1)),
            TxOp::Delete(Key::new("T#1", "OLD"), Condition::Exists),
            TxOp::Check(Key::new("T#1", "TENANT"), Condition::Exists),
        ])
        .await
        .unwrap();
    let page = h.table.query(Query::partition("T#1")).await.unwrap();
    assert_eq!(sks(&page.items), ["COUNT", "NEW", "TENANT"]);
    assert_eq!(page.items[0].data["n"], json!(2));
}

async fn a_failed_transaction_writes_nothing_and_names_the_failed_condition(h: &Harness) {
    h.table
        .put(item("T#1", "TAKEN", json!({"v": "kept"})), Condition::None)
        .await
        .unwrap();
    let err = h
        .table
        .transact(vec![
            TxOp::Put(item("T#1", "FRESH", json!({})), Condition::Absent),
            TxOp::Update(Key::new("T#1", "COUNT"), Update::default().add("n", 1)),
            TxOp::Put(
                item("T#1", "TAKEN", json!({"v": "overwritten"})),
                Condition::Absent,
            ),
            TxOp::Check(Key::new("T#1", "TENANT"), Condition::Exists),
        ])
        .await
        .unwrap_err();
    match err {
        TableError::TransactionFailed { failed } => assert_eq!(failed, vec![2, 3]),
        other => panic!("expected a failed transaction, got {other:?}"),
    }
    let page = h.table.query(Query::partition("T#1")).await.unwrap();
    assert_eq!(sks(&page.items), ["TAKEN"]);
    assert_eq!(page.items[0].data["v"], json!("kept"));
}

async fn a_transaction_refuses_repeated_items_and_oversize(h: &Harness) {
    let twice = vec![
        TxOp::Put(item("T#1", "A", json!({})), Condition::None),
        TxOp::Delete(Key::new("T#1", "A"), Condition::None),
    ];
    assert!(matches!(
        h.table.transact(twice).await,
        Err(TableError::Invalid(_))
    ));
    let many = (0..101)
        .map(|i| TxOp::Put(item("T#1", &format!("I#{i}"), json!({})), Condition::None))
        .collect();
    assert!(matches!(
        h.table.transact(many).await,
        Err(TableError::Invalid(_))
    ));
    assert!(partition(h, "T#1").await.is_empty());
}

async fn batch_get_returns_items_in_order_across_many_calls(h: &Harness) {
    let stored: Vec<Item> = (0..150)
        .filter(|i| i % 3 != 0)
        .map(|i| item("S#batch", &format!("{i:03}"), json!({"i": i})))
        .collect();
    h.table.batch_put(stored).await.unwrap();
    let mut keys: Vec<Key> = (0..150)
        .rev()
        .map(|i| Key::new("S#batch", format!("{i:03}")))
        .collect();
    keys.push(Key::new("S#batch", "001"));
    let got = h.table.batch_get(&keys).await.unwrap();
    assert_eq!(got.len(), 151);
    for (key, found) in keys.iter().zip(&got) {
        let i: i64 = key.sk.parse().unwrap();
        match found {
            Some(item) => assert_eq!(
                (item.key.clone(), item.data["i"].clone()),
                (key.clone(), json!(i))
            ),
            None => assert_eq!(i % 3, 0, "{key} should have been found"),
        }
    }
}

async fn batch_put_writes_across_many_calls_and_refuses_repeats(h: &Harness) {
    let items: Vec<Item> = (0..60)
        .map(|i| item("P#bulk", &format!("{i:02}"), json!({})))
        .collect();
    h.table.batch_put(items).await.unwrap();
    let page = h.table.query(Query::partition("P#bulk")).await.unwrap();
    assert_eq!(page.items.len(), 60);
    let repeated = vec![item("P#rep", "A", json!({})), item("P#rep", "A", json!({}))];
    assert!(matches!(
        h.table.batch_put(repeated).await,
        Err(TableError::Invalid(_))
    ));
    assert!(partition(h, "P#rep").await.is_empty());
}

async fn transactions_together_each_apply_whole_or_not_at_all(h: &Harness) {
    h.table
        .put(item("P#each", "taken", json!({"n": 0})), Condition::None)
        .await
        .unwrap();
    let pair = |a: &str, b: &str| {
        vec![
            TxOp::Put(item("P#each", a, json!({"n": 1})), Condition::Absent),
            TxOp::Put(item("P#each", b, json!({"n": 2})), Condition::Absent),
        ]
    };
    // The second one meets the item put before; the fourth one meets the first one's item.
    let results = h
        .table
        .transact_each(vec![
            pair("a1", "a2"),
            pair("b1", "taken"),
            pair("c1", "c2"),
            pair("d1", "a1"),
        ])
        .await
        .unwrap();
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    match &results[1] {
        Err(TableError::TransactionFailed { failed }) => assert_eq!(failed, &vec![1]),
        other => panic!("expected the second to fail on its condition: {other:?}"),
    }
    assert!(
        matches!(&results[3], Err(TableError::TransactionFailed { failed }) if failed == &vec![1]),
        "{results:?}"
    );
    assert_eq!(
        sks(&partition(h, "P#each").await),
        ["a1", "a2", "c1", "c2", "taken"]
    );
    assert!(h.table.transact_each(Vec::new()).await.unwrap().is_empty());
}

async fn batch_delete_removes_across_many_calls_and_ignores_absent_keys(h: &Harness) {
    let items: Vec<Item> = (0..60)
        .map(|i| item("P#gone", &format!("{i:02}"), json!({})))
        .collect();
    h.table.batch_put(items).await.unwrap();
    // Every even one, and some that never were.
    let keys: Vec<Key> = (0..70)
        .filter(|i| i % 2 == 0)
        .map(|i| Key::new("P#gone", format!("{i:02}")))
        .collect();
    h.table.batch_delete(keys).await.unwrap();
    let left: Vec<String> = partition(h, "P#gone")
        .await
        .into_iter()
        .map(|i| i.key.sk)
        .collect();
    assert_eq!(
        left,
        (0..60)
            .filter(|i| i % 2 == 1)
            .map(|i| format!("{i:02}"))
            .collect::<Vec<_>>()
    );
    let repeated = vec![Key::new("P#gone", "01"), Key::new("P#gone", "01")];
    assert!(matches!(
        h.table.batch_delete(repeated).await,
        Err(TableError::Invalid(_))
    ));
    assert_eq!(
        partition(h, "P#gone").await.len(),
        30,
        "a refused batch deletes nothing"
    );
}

async fn expired_items_are_gone_for_every_read_and_condition(h: &Harness) {
    let now = h.clock.now().timestamp();
    let short = item("INV#1", "INVITE", json!({"status": "active"}))
        .with_expiry(now + 60)
        .with_index(Index::Gsi2, IndexKey::new("INVITES", "1"));
    h.table.put(short.clone(), Condition::Absent).await.unwrap();
    assert!(h.table.get(&short.key).await.unwrap().is_some());
    h.clock.advance(Duration::seconds(61));
    assert_eq!(h.table.get(&short.key).await.unwrap(), None);
    assert!(partition(h, "INV#1").await.is_empty());
    assert!(
        h.table
            .query(Query::index(Index::Gsi2, "INVITES"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        h.table
            .batch_get(std::slice::from_ref(&short.key))
            .await
            .unwrap(),
        vec![None]
    );
    let exists = h
        .table
        .update(
            &short.key,
            Update::default().set("x", 1).when(Condition::Exists),
        )
        .await;
    assert!(
        matches!(exists, Err(TableError::ConditionFailed(_))),
        "{exists:?}"
    );
    // An expired item is absent: a new one may take its key.
    let fresh = item("INV#1", "INVITE", json!({"status": "new"}));
    h.table.put(fresh.clone(), Condition::Absent).await.unwrap();
    assert_eq!(h.table.get(&fresh.key).await.unwrap(), Some(fresh));
}

/// A counter made by updates alone (the send-rate windows) expires as a written item does: the
/// expiry is set by the update, kept by a later update without one.
async fn an_update_may_set_when_the_item_expires(h: &Harness) {
    let now = h.clock.now().timestamp();
    let key = Key::new("PACE#email", "1");
    let made = h
        .table
        .update(&key, Update::default().add("n", 5).expire_at(now + 60))
        .await
        .unwrap();
    assert_eq!(made.expires_at, Some(now + 60));
    let counted = h
        .table
        .update(&key, Update::default().add("n", 2))
        .await
        .unwrap();
    assert_eq!(counted.expires_at, Some(now + 60), "kept");
    assert_eq!(counted.data.get("n"), Some(&json!(7)));
    assert_eq!(
        h.table.get(&key).await.unwrap().and_then(|i| i.expires_at),
        Some(now + 60)
    );
    h.clock.advance(Duration::seconds(61));
    assert_eq!(h.table.get(&key).await.unwrap(), None, "expired");
}

async fn invalid_keys_and_reserved_names_are_refused_before_writing(h: &Harness) {
    for bad in [
        item("", "X", json!({})),
        item("T#1", "", json!({})),
        item("T#1", "A\0B", json!({})),
        item("T#1", "R", json!({"version": 9})),
        item("T#1", "R", json!({"pk": "T#2"})),
    ] {
        let result = h.table.put(bad.clone(), Condition::None).await;
        assert!(
            matches!(result, Err(TableError::Invalid(_))),
            "{bad:?}: {result:?}"
        );
    }
    let result = h
        .table
        .update(
            &Key::new("T#1", "R"),
            Update::default().set("expires_at", 1),
        )
        .await;
    assert!(matches!(result, Err(TableError::Invalid(_))), "{result:?}");
    assert!(partition(h, "T#1").await.is_empty());
}
