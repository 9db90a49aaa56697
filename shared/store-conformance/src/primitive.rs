//! The item-store primitive: reads, conditions, all-or-nothing batches, indexes, ordered prefix queries, additions, concurrent conditional writes.

use crate::fixtures::*;
#[allow(unused_imports)]
use crate::*;

pub async fn missing_items_read_as_none(store: Arc<dyn ItemStore>) {
    assert_eq!(store.get(&Key::new(unique("T"), "x")).await.unwrap(), None);
}

pub async fn put_then_get_round_trips_every_json_type(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let it = item(
        &pk,
        "a#1",
        json!({
            "text": "Zoë 🦀 <&>", "empty": "", "int": 9_007_199_254_740_993_i64, "neg": -42,
            "yes": true, "no": false, "nothing": null,
            "list": [1, "two", {"three": [3]}], "map": {"nested": {"deep": "value"}}, "empty_list": [], "empty_map": {}
        }),
    );
    store.write(vec![put(it.clone(), None)]).await.unwrap();
    assert_eq!(store.get(&it.key).await.unwrap(), Some(it.clone()));
    // A second put replaces the whole item.
    let replaced = item(&pk, "a#1", json!({"only": 1}));
    store
        .write(vec![put(replaced.clone(), None)])
        .await
        .unwrap();
    assert_eq!(store.get(&it.key).await.unwrap(), Some(replaced));
}

pub async fn put_if_absent_refuses_a_second_put(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let first = item(&pk, "k", json!({"n": 1}));
    store
        .write(vec![put(first.clone(), Some(Condition::NotExists))])
        .await
        .unwrap();
    let second = item(&pk, "k", json!({"n": 2}));
    let err = store
        .write(vec![put(second, Some(Condition::NotExists))])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ItemError::ConditionFailed { index: 0 }),
        "{err:?}"
    );
    assert_eq!(store.get(&first.key).await.unwrap(), Some(first));
}

pub async fn batches_are_all_or_nothing_and_name_the_failing_write(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let existing = item(&pk, "taken", json!({"v": 0}));
    store
        .write(vec![put(existing.clone(), None)])
        .await
        .unwrap();
    let batch = vec![
        put(
            item(&pk, "new-1", json!({"v": 1})),
            Some(Condition::NotExists),
        ),
        put(item(&pk, "new-2", json!({"v": 2})), None),
        put(
            item(&pk, "taken", json!({"v": 3})),
            Some(Condition::NotExists),
        ),
    ];
    let err = store.write(batch).await.unwrap_err();
    assert!(
        matches!(err, ItemError::ConditionFailed { index: 2 }),
        "{err:?}"
    );
    assert_eq!(
        store.get(&Key::new(&pk, "new-1")).await.unwrap(),
        None,
        "nothing of a failed batch is written"
    );
    assert_eq!(store.get(&Key::new(&pk, "new-2")).await.unwrap(), None);
    assert_eq!(store.get(&existing.key).await.unwrap(), Some(existing));
    // The same batch without the failing condition applies whole.
    let batch = vec![
        put(
            item(&pk, "new-1", json!({"v": 1})),
            Some(Condition::NotExists),
        ),
        Write::Delete {
            key: Key::new(&pk, "taken"),
            condition: Some(Condition::Exists),
        },
    ];
    store.write(batch).await.unwrap();
    assert!(store.get(&Key::new(&pk, "new-1")).await.unwrap().is_some());
    assert_eq!(store.get(&Key::new(&pk, "taken")).await.unwrap(), None);
}

pub async fn conditions_compare_values_and_numbers(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let key = Key::new(&pk, "c");
    store
        .write(vec![put(
            item(
                &pk,
                "c",
                json!({"owner": "invitation", "expires_at": 100, "version": 3}),
            ),
            None,
        )])
        .await
        .unwrap();
    let attempt = |condition: Condition| {
        let store = store.clone();
        let pk = pk.clone();
        async move {
            store
                .write(vec![put(
                    item(
                        &pk,
                        "c",
                        json!({"owner": "invitation", "expires_at": 100, "version": 3}),
                    ),
                    Some(condition),
                )])
                .await
        }
    };
    assert!(attempt(Condition::Equals("version".into(), json!(3)))
        .await
        .is_ok());
    assert!(attempt(Condition::Equals("version".into(), json!(2)))
        .await
        .is_err());
    assert!(attempt(Condition::Equals("missing".into(), json!(3)))
        .await
        .is_err());
    // Lacks: the item exists without the attribute.
    assert!(attempt(Condition::Lacks("missing".into())).await.is_ok());
    assert!(attempt(Condition::Lacks("version".into())).await.is_err());
    assert!(
        store
            .write(vec![put(
                item(&pk, "nothing-here", json!({})),
                Some(Condition::Lacks("version".into())),
            )])
            .await
            .is_err(),
        "a missing item lacks nothing"
    );
    assert!(
        attempt(Condition::Equals("owner".into(), json!("invitation")))
            .await
            .is_ok()
    );
    assert!(attempt(Condition::Equals("owner".into(), json!("user")))
        .await
        .is_err());
    assert!(attempt(Condition::Below("expires_at".into(), 101))
        .await
        .is_ok());
    assert!(attempt(Condition::Below("expires_at".into(), 100))
        .await
        .is_err());
    assert!(attempt(Condition::Below("missing".into(), 100))
        .await
        .is_err());
    assert!(attempt(Condition::Any(vec![
        Condition::NotExists,
        Condition::Below("expires_at".into(), 50)
    ]))
    .await
    .is_err());
    assert!(attempt(Condition::Any(vec![
        Condition::NotExists,
        Condition::Below("expires_at".into(), 150)
    ]))
    .await
    .is_ok());
    assert!(attempt(Condition::All(vec![
        Condition::Exists,
        Condition::Equals("version".into(), json!(3))
    ]))
    .await
    .is_ok());
    assert!(attempt(Condition::All(vec![
        Condition::Exists,
        Condition::Equals("version".into(), json!(4))
    ]))
    .await
    .is_err());
    assert!(store.get(&key).await.unwrap().is_some());
}

pub async fn deletes_and_checks_honour_conditions(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    store
        .write(vec![put(item(&pk, "d", json!({"owner": "a"})), None)])
        .await
        .unwrap();
    let err = store
        .write(vec![Write::Delete {
            key: Key::new(&pk, "d"),
            condition: Some(Condition::Equals("owner".into(), json!("b"))),
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, ItemError::ConditionFailed { index: 0 }));
    assert!(store.get(&Key::new(&pk, "d")).await.unwrap().is_some());
    // A failing check stops the batch; a holding one lets it through.
    let err = store
        .write(vec![
            put(item(&pk, "e", json!({})), None),
            Write::Check {
                key: Key::new(&pk, "d"),
                condition: Condition::NotExists,
            },
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, ItemError::ConditionFailed { index: 1 }));
    assert_eq!(store.get(&Key::new(&pk, "e")).await.unwrap(), None);
    store
        .write(vec![
            Write::Check {
                key: Key::new(&pk, "d"),
                condition: Condition::Equals("owner".into(), json!("a")),
            },
            put(item(&pk, "f", json!({})), None),
        ])
        .await
        .unwrap();
    assert!(store.get(&Key::new(&pk, "f")).await.unwrap().is_some());
    store
        .write(vec![Write::Delete {
            key: Key::new(&pk, "d"),
            condition: None,
        }])
        .await
        .unwrap();
    assert_eq!(store.get(&Key::new(&pk, "d")).await.unwrap(), None);
    // Deleting what is not there is not an error without a condition.
    store
        .write(vec![Write::Delete {
            key: Key::new(&pk, "gone"),
            condition: None,
        }])
        .await
        .unwrap();
}

/// The sort keys of index partition `pk`, read `limit` at a time.
pub(crate) async fn index_sks(
    store: &dyn ItemStore,
    index: Index,
    pk: &str,
    limit: usize,
    descending: bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .query(&Query {
                index: Some(index),
                pk: pk.to_string(),
                sk_prefix: String::new(),
                after: after.clone(),
                limit,
                descending,
            })
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        for item in &page.items {
            // Items come whole, as the table holds them.
            assert_eq!(
                item.attrs.get(index.attribute()),
                Some(&json!(pk)),
                "{item:?}"
            );
            assert_eq!(store.get(&item.key).await.unwrap().as_ref(), Some(item));
        }
        seen.extend(page.items.into_iter().map(|i| i.key.sk));
        match page.last_sk {
            Some(sk) => after = Some(sk),
            None => return seen,
        }
    }
}

pub async fn indexes_follow_every_write_of_their_items(store: Arc<dyn ItemStore>) {
    let (a, b) = (unique("T"), unique("T"));
    let (red, blue, green) = (unique("I"), unique("I"), unique("I"));
    let first = Index::First.attribute();
    let second = Index::Second.attribute();
    let mut writes = Vec::new();
    for i in 0..5 {
        // Items of two table partitions share an index partition, ordered by sort key.
        let pk = if i % 2 == 0 { &a } else { &b };
        writes.push(put(
            item(
                pk,
                &format!("s{i}"),
                json!({ first: red, second: green, "i": i }),
            ),
            None,
        ));
    }
    writes.push(put(item(&a, "s9", json!({ "i": 9 })), None));
    store.write(writes).await.unwrap();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        index_sks(&*store, Index::First, &red, 2, false).await,
        s(&["s0", "s1", "s2", "s3", "s4"])
    );
    assert_eq!(
        index_sks(&*store, Index::First, &red, 2, true).await,
        s(&["s4", "s3", "s2", "s1", "s0"])
    );
    assert_eq!(
        index_sks(&*store, Index::Second, &green, 10, true).await,
        s(&["s4", "s3", "s2", "s1", "s0"])
    );
    assert!(index_sks(&*store, Index::First, &green, 10, false)
        .await
        .is_empty());

    // A put moves its item to another partition; a put without the attribute takes it out; an
    // update leaves it where it is; a delete removes it; a failed batch changes nothing.
    store
        .write(vec![
            put(item(&a, "s0", json!({ first: blue })), None),
            put(item(&b, "s1", json!({ "i": 1 })), None),
            Write::Update {
                key: Key::new(&a, "s2"),
                add: vec![("n".into(), 1)],
                set: Attrs::new(),
                condition: None,
            },
            Write::Delete {
                key: Key::new(&b, "s3"),
                condition: None,
            },
            put(item(&a, "s9", json!({ first: blue })), None),
        ])
        .await
        .unwrap();
    let refused = store
        .write(vec![
            put(item(&a, "s4", json!({ first: blue })), None),
            put(item(&a, "s0", json!({})), Some(Condition::NotExists)),
        ])
        .await;
    assert!(matches!(
        refused,
        Err(ItemError::ConditionFailed { index: 1 })
    ));
    assert_eq!(
        index_sks(&*store, Index::First, &red, 10, false).await,
        s(&["s2", "s4"])
    );
    assert_eq!(
        index_sks(&*store, Index::First, &blue, 1, false).await,
        s(&["s0", "s9"])
    );
    assert_eq!(
        index_sks(&*store, Index::Second, &green, 10, false).await,
        s(&["s2", "s4"]),
        "s0 lost its second attribute with the put"
    );
    let updated = store.get(&Key::new(&a, "s2")).await.unwrap().unwrap();
    assert_eq!(updated.attrs.get("n"), Some(&json!(1)));
}

pub async fn queries_return_a_prefix_in_order_in_pages(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let other = unique("T");
    let mut writes = Vec::new();
    for i in 0..7 {
        writes.push(put(
            item(&pk, &format!("inv#{i:02}"), json!({"i": i})),
            None,
        ));
    }
    writes.push(put(item(&pk, "user#1", json!({})), None));
    writes.push(put(item(&pk, "inu", json!({})), None));
    writes.push(put(item(&other, "inv#99", json!({})), None));
    store.write(writes).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .query(&Query {
                index: None,
                pk: pk.clone(),
                sk_prefix: "inv#".into(),
                after: after.clone(),
                limit: 3,
                descending: false,
            })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i.key.sk.clone()));
        match page.last_sk {
            Some(sk) => after = Some(sk),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("inv#{i:02}")).collect();
    assert_eq!(seen, expected);

    let newest = store
        .query(&Query {
            index: None,
            pk: pk.clone(),
            sk_prefix: "inv#".into(),
            after: None,
            limit: 2,
            descending: true,
        })
        .await
        .unwrap();
    let sks: Vec<&str> = newest.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(sks, ["inv#06", "inv#05"]);
    let next = store
        .query(&Query {
            index: None,
            pk: pk.clone(),
            sk_prefix: "inv#".into(),
            after: newest.last_sk,
            limit: 2,
            descending: true,
        })
        .await
        .unwrap();
    let sks: Vec<&str> = next.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(sks, ["inv#04", "inv#03"]);

    let all = store
        .query(&Query {
            index: None,
            pk: pk.clone(),
            sk_prefix: String::new(),
            after: None,
            limit: 100,
            descending: false,
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 9);
    assert_eq!(all.last_sk, None);
    let sks: Vec<&str> = all.items.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(
        sks[..3],
        ["inu", "inv#00", "inv#01"],
        "sort keys compare bytewise"
    );
    assert_eq!(all.items[1].attrs.get("i"), Some(&json!(0)));
}

pub async fn concurrent_conditional_puts_have_one_winner(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = store.clone();
            let pk = pk.clone();
            tokio::spawn(async move {
                store
                    .write(vec![put(
                        item(&pk, "race", json!({"winner": n})),
                        Some(Condition::NotExists),
                    )])
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(ItemError::ConditionFailed { .. } | ItemError::Conflict) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

pub async fn updates_add_to_numbers_and_set_attributes(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let key = Key::new(&pk, "counter");
    let update = |delta: i64, at: i64, condition: Option<Condition>| Write::Update {
        key: key.clone(),
        add: vec![("n".into(), delta), ("version".into(), 1)],
        set: item(&pk, "x", json!({"at": at, "note": "kept"})).attrs,
        condition,
    };
    // An absent item is created, its numbers counted from 0.
    store.write(vec![update(1, 10, None)]).await.unwrap();
    store.write(vec![update(2, 20, None)]).await.unwrap();
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(got.attrs),
        json!({"n": 3, "version": 2, "at": 20, "note": "kept"})
    );
    // Other attributes survive; negative additions subtract.
    store
        .write(vec![put(
            item(&pk, "counter", json!({"n": 3, "version": 2, "other": true})),
            None,
        )])
        .await
        .unwrap();
    store
        .write(vec![update(
            -1,
            30,
            Some(Condition::AtLeast("n".into(), 1)),
        )])
        .await
        .unwrap();
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(got.attrs),
        json!({"n": 2, "version": 3, "other": true, "at": 30, "note": "kept"})
    );
    // A condition that fails changes nothing, alone or in a batch.
    assert!(matches!(
        store
            .write(vec![update(1, 40, Some(Condition::Below("n".into(), 2)))])
            .await,
        Err(ItemError::ConditionFailed { index: 0 })
    ));
    assert!(matches!(
        store
            .write(vec![update(1, 40, Some(Condition::AtLeast("n".into(), 3)))])
            .await,
        Err(ItemError::ConditionFailed { index: 0 })
    ));
    let other = item(&pk, "other", json!({"v": 1}));
    assert!(matches!(
        store
            .write(vec![
                update(5, 50, None),
                put(other.clone(), Some(Condition::Exists)),
            ])
            .await,
        Err(ItemError::ConditionFailed { index: 1 })
    ));
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().attrs.get("n"),
        Some(&json!(2))
    );
    // With a write to another item, both land together.
    store
        .write(vec![update(5, 60, None), put(other.clone(), None)])
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().attrs.get("n"),
        Some(&json!(7))
    );
    assert_eq!(store.get(&other.key).await.unwrap(), Some(other));
    // An absent attribute is neither below nor at least anything.
    assert!(!Condition::AtLeast("missing".into(), 0).holds(Some(&Attrs::new())));
}

pub async fn concurrent_additions_all_land(store: Arc<dyn ItemStore>) {
    let key = Key::new(unique("T"), "hits");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                store
                    .write(vec![Write::Update {
                        key,
                        add: vec![("hits".into(), 1)],
                        set: Attrs::new(),
                        condition: Some(Condition::Any(vec![
                            Condition::NotExists,
                            Condition::Below("hits".into(), 1_000),
                        ])),
                    }])
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("no addition is refused or lost");
    }
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().attrs.get("hits"),
        Some(&json!(20))
    );
}

pub async fn many_items_are_read_at_once_in_order(store: Arc<dyn ItemStore>) {
    let pk = unique("T");
    let items: Vec<Item> = (0..150)
        .map(|i| item(&pk, &format!("{i:03}"), json!({"i": i})))
        .collect();
    store.put_many(items.clone()).await.unwrap();
    let mut keys: Vec<Key> = items.iter().map(|i| i.key.clone()).rev().collect();
    keys.insert(3, Key::new(&pk, "missing"));
    keys.push(items[7].key.clone());
    let got = store.get_many(&keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, found) in keys.iter().zip(&got) {
        match found {
            Some(found) => assert_eq!(&found.key, key),
            None => assert_eq!(key.sk, "missing"),
        }
    }
    assert_eq!(got[0].as_ref(), Some(&items[149]));
    assert_eq!(got.last().unwrap().as_ref(), Some(&items[7]));
    assert_eq!(got.iter().filter(|g| g.is_none()).count(), 1);
    assert!(store.get_many(&[]).await.unwrap().is_empty());
}
