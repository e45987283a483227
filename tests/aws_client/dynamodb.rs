//! DynamoDB through `Aws::dynamodb`, against moto: conditional puts, gets,
//! updates with placeholders, deletes, paged and filtered queries, every
//! attribute type round-tripping, and a missing table.

use super::*;

#[test]
fn put_item_with_attribute_not_exists_refuses_a_second_put_of_the_same_key() {
    let aws = user_aws();
    let db = aws.dynamodb(Deadline::NONE);
    let mut item = key("id", &unique("put"));
    item.insert("qty".into(), Value::from(1));
    let only_new = Expr::new().condition("attribute_not_exists(id)");
    db.put_item(&moto().table, &item, &only_new)
        .expect("the first put");
    let again = db.put_item(&moto().table, &item, &only_new).unwrap_err();
    assert_error(&again, "ConditionalCheckFailedException", 400);
    assert_eq!(again.service, "dynamodb");
    assert!(again.request_id.is_some(), "{again:?}");
}

#[test]
fn get_item_returns_the_item_or_none() {
    let aws = user_aws();
    let db = aws.dynamodb(Deadline::NONE);
    let id = unique("get");
    let mut item = key("id", &id);
    item.insert("note".into(), Value::from("hello"));
    db.put_item(&moto().table, &item, &Expr::new()).unwrap();
    let found = db.get_item(&moto().table, &key("id", &id)).unwrap();
    assert_eq!(found, Some(item));
    let missing = db
        .get_item(&moto().table, &key("id", &unique("absent")))
        .unwrap();
    assert_eq!(missing, None);
}

#[test]
fn update_item_adds_through_name_and_value_placeholders_and_returns_all_new() {
    let aws = user_aws();
    let db = aws.dynamodb(Deadline::NONE);
    let id = unique("update");
    let mut item = key("id", &id);
    item.insert("qty".into(), Value::from(2));
    item.insert("note".into(), Value::from("kept"));
    db.put_item(&moto().table, &item, &Expr::new()).unwrap();
    let updated = db
        .update_item(
            &moto().table,
            &key("id", &id),
            "SET #q = #q + :n",
            &Expr::new().name("#q", "qty").value(":n", 3),
        )
        .unwrap();
    assert_eq!(updated["qty"].as_n::<u32>(), Some(5));
    // ALL_NEW: the whole item, not only what changed.
    assert_eq!(updated["note"].as_s(), Some("kept"));
    assert_eq!(updated["id"].as_s(), Some(id.as_str()));
}

#[test]
fn delete_item_returns_the_old_item_then_none() {
    let aws = user_aws();
    let db = aws.dynamodb(Deadline::NONE);
    let id = unique("delete");
    let mut item = key("id", &id);
    item.insert("qty".into(), Value::from(7));
    db.put_item(&moto().table, &item, &Expr::new()).unwrap();
    let old = db
        .delete_item(&moto().table, &key("id", &id), &Expr::new())
        .unwrap();
    assert_eq!(old, Some(item));
    let again = db
        .delete_item(&moto().table, &key("id", &id), &Expr::new())
        .unwrap();
    assert_eq!(again, None);
    assert_eq!(db.get_item(&moto().table, &key("id", &id)).unwrap(), None);
}

#[test]
fn query_filters_limits_descends_and_pages_with_last_evaluated_key() {
    let aws = user_aws();
    let db = aws.dynamodb(Deadline::NONE);
    let table = &moto().items_table;
    let pk = unique("query");
    for (n, sk) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let mut item = key("pk", &pk);
        item.insert("sk".into(), Value::from(*sk));
        item.insert("n".into(), Value::from(n));
        db.put_item(table, &item, &Expr::new()).unwrap();
    }
    // Another partition, which the key condition must leave out.
    let mut other = key("pk", &unique("query-other"));
    other.insert("sk".into(), Value::from("z"));
    db.put_item(table, &other, &Expr::new()).unwrap();

    // sk > "a", highest first, two items read per page, "d" (n = 3)
    // filtered out after reading: DynamoDB applies Limit before the
    // filter, and so does moto.
    let query = Query::new("pk = :pk AND sk > :s")
        .value(":pk", pk.as_str())
        .value(":s", "a")
        .filter("#n <> :skip")
        .name("#n", "n")
        .value(":skip", 3)
        .limit(2)
        .descending();
    let sks = |items: &[Item]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["sk"].as_s().unwrap().to_string())
            .collect()
    };

    let first = db.query(table, &query).unwrap();
    assert_eq!(sks(&first.items), ["e"]);
    let after_first = first.last_evaluated_key.expect("a second page");
    assert_eq!(after_first["sk"].as_s(), Some("d"));
    assert_eq!(after_first["pk"].as_s(), Some(pk.as_str()));

    let second = db
        .query(table, &query.clone().start_after(after_first))
        .unwrap();
    assert_eq!(sks(&second.items), ["c", "b"]);
    assert_eq!(second.items[0]["n"].as_n::<u32>(), Some(2));
    let after_second = second.last_evaluated_key.expect("a full page has a key");

    let last = db.query(table, &query.start_after(after_second)).unwrap();
    assert!(last.items.is_empty(), "{:?}", last.items);
    assert_eq!(last.last_evaluated_key, None);
}

#[test]
fn every_attribute_type_round_trips_through_put_and_get() {
    let aws = user_aws();
    let db = aws.dynamodb(Deadline::NONE);
    let id = unique("types");
    let all_bytes: Vec<u8> = (0..=255).collect();
    let mut map = Item::new();
    map.insert("inner".into(), Value::from("deep"));
    map.insert(
        "list".into(),
        Value::L(vec![Value::Null, Value::from(1.5), Value::Bool(true)]),
    );
    let mut item = key("id", &id);
    item.insert("s".into(), Value::from("text with ünïcode and \"quotes\""));
    item.insert("n".into(), Value::from(-42));
    item.insert(
        "n_big".into(),
        Value::N("12345678901234567890123456789".into()),
    );
    item.insert("b".into(), Value::B(all_bytes.clone()));
    item.insert("bool".into(), Value::Bool(false));
    item.insert("null".into(), Value::Null);
    item.insert("m".into(), Value::M(map));
    item.insert(
        "l".into(),
        Value::L(vec![Value::from("x"), Value::from(2), Value::B(vec![0])]),
    );
    item.insert("ss".into(), Value::Ss(vec!["a".into(), "b".into()]));
    item.insert("ns".into(), Value::Ns(vec!["1".into(), "2.5".into()]));
    item.insert("bs".into(), Value::Bs(vec![vec![1], vec![2, 255]]));
    db.put_item(&moto().table, &item, &Expr::new()).unwrap();
    let back = db
        .get_item(&moto().table, &key("id", &id))
        .unwrap()
        .expect("the item");
    assert_eq!(sorted_sets(&back), sorted_sets(&item));
    assert_eq!(back["b"].as_b(), Some(&all_bytes[..]));
}

#[test]
fn a_missing_table_is_resource_not_found() {
    let aws = user_aws();
    let e = aws
        .dynamodb(Deadline::NONE)
        .get_item("no-such-table", &key("id", "x"))
        .unwrap_err();
    assert_error(&e, "ResourceNotFoundException", 400);
    assert!(!e.message.is_empty(), "{e:?}");
}
