//! DynamoDB on its JSON protocol (`DynamoDB_20120810.*`): `PutItem`,
//! `GetItem`, `UpdateItem`, `DeleteItem` and `Query`, with condition,
//! key-condition, filter and update expressions and their placeholders.
//!
//! ```no_run
//! use tiny_lambda::aws::{Aws, Deadline};
//! use tiny_lambda::aws::dynamodb::{Expr, Item, Query, Value};
//!
//! let aws = Aws::from_env()?;
//! let db = aws.dynamodb(Deadline::NONE);
//! let mut item = Item::new();
//! item.insert("id".into(), Value::from("o-1"));
//! item.insert("qty".into(), Value::from(2));
//! // Only if no item has that key yet.
//! db.put_item("orders", &item, &Expr::new().condition("attribute_not_exists(id)"))?;
//! let key = Item::from([("id".into(), Value::from("o-1"))]);
//! let updated = db.update_item("orders", &key, "SET #q = #q + :one",
//!     &Expr::new().name("#q", "qty").value(":one", 1))?;
//! assert_eq!(updated["qty"].as_n::<u32>(), Some(3));
//! let page = db.query("orders", &Query::new("id = :id").value(":id", "o-1"))?;
//! # Ok::<(), tiny_lambda::aws::Error>(())
//! ```
//!
//! A failed condition is an [`Error`] with the code
//! `ConditionalCheckFailedException`.

use std::string::{String, ToString};
use std::time::Duration;
use std::vec::Vec;

use miniserde::json::{Number, Object, Value as Json};

use super::{Aws, Deadline, Error, JsonService};

mod value;

pub use value::{Item, Value, item_from_json, item_to_json};

const SERVICE: JsonService = JsonService {
    name: "dynamodb",
    variable: "AWS_ENDPOINT_URL_DYNAMODB",
    target_prefix: "DynamoDB_20120810.",
    content_type: "application/x-amz-json-1.0",
};

/// Placeholders and a condition for one request: `ConditionExpression` for
/// a put, update or delete, `FilterExpression` for a query;
/// `ExpressionAttributeNames` (`#name`) and `ExpressionAttributeValues`
/// (`:value`) for every expression of the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expr {
    condition: Option<String>,
    names: Vec<(String, String)>,
    values: Item,
}

impl Expr {
    /// No condition, no placeholders.
    pub fn new() -> Expr {
        Expr::default()
    }

    /// The condition (a filter, in a [`Query`]).
    pub fn condition(mut self, expression: impl Into<String>) -> Expr {
        self.condition = Some(expression.into());
        self
    }

    /// `#placeholder` stands for `attribute` (a reserved word, say).
    pub fn name(mut self, placeholder: impl Into<String>, attribute: impl Into<String>) -> Expr {
        self.names.push((placeholder.into(), attribute.into()));
        self
    }

    /// `:placeholder` stands for `value`.
    pub fn value(mut self, placeholder: impl Into<String>, value: impl Into<Value>) -> Expr {
        self.values.insert(placeholder.into(), value.into());
        self
    }

    /// Add the expression fields to a request body; `condition_field` names
    /// what the condition is in this request.
    fn write(&self, body: &mut Object, condition_field: &str) {
        if let Some(condition) = &self.condition {
            body.insert(condition_field.to_string(), Json::String(condition.clone()));
        }
        if !self.names.is_empty() {
            let mut names = Object::new();
            for (placeholder, attribute) in &self.names {
                names.insert(placeholder.clone(), Json::String(attribute.clone()));
            }
            body.insert("ExpressionAttributeNames".to_string(), Json::Object(names));
        }
        if !self.values.is_empty() {
            body.insert(
                "ExpressionAttributeValues".to_string(),
                item_to_json(&self.values),
            );
        }
    }
}

/// A `Query`: the key condition, and what narrows or orders the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    key_condition: String,
    expr: Expr,
    index: Option<String>,
    limit: Option<u32>,
    forward: bool,
    consistent: bool,
    start: Option<Item>,
}

impl Query {
    /// Items whose key matches `key_condition` (`pk = :pk AND sk > :from`).
    pub fn new(key_condition: impl Into<String>) -> Query {
        Query {
            key_condition: key_condition.into(),
            expr: Expr::new(),
            index: None,
            limit: None,
            forward: true,
            consistent: false,
            start: None,
        }
    }

    /// `:placeholder` stands for `value`.
    pub fn value(mut self, placeholder: impl Into<String>, value: impl Into<Value>) -> Query {
        self.expr = self.expr.value(placeholder, value);
        self
    }

    /// `#placeholder` stands for `attribute`.
    pub fn name(mut self, placeholder: impl Into<String>, attribute: impl Into<String>) -> Query {
        self.expr = self.expr.name(placeholder, attribute);
        self
    }

    /// Keep only the items that also match `expression` (after reading them).
    pub fn filter(mut self, expression: impl Into<String>) -> Query {
        self.expr = self.expr.condition(expression);
        self
    }

    /// Query a secondary index instead of the table.
    pub fn index(mut self, name: impl Into<String>) -> Query {
        self.index = Some(name.into());
        self
    }

    /// Read at most this many items.
    pub fn limit(mut self, limit: u32) -> Query {
        self.limit = Some(limit);
        self
    }

    /// Sort keys from the highest down.
    pub fn descending(mut self) -> Query {
        self.forward = false;
        self
    }

    /// A strongly consistent read.
    pub fn consistent(mut self) -> Query {
        self.consistent = true;
        self
    }

    /// Go on from a page's [`Page::last_evaluated_key`].
    pub fn start_after(mut self, key: Item) -> Query {
        self.start = Some(key);
        self
    }
}

/// One page of a query's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The items, in sort-key order.
    pub items: Vec<Item>,
    /// Where the next page starts, if there is one.
    pub last_evaluated_key: Option<Item>,
}

/// DynamoDB, with the deadline its calls must keep: from [`Aws::dynamodb`].
pub struct DynamoDb<'a> {
    aws: &'a Aws,
    deadline: Deadline,
}

impl<'a> DynamoDb<'a> {
    pub(super) fn new(aws: &'a Aws, deadline: Deadline) -> DynamoDb<'a> {
        DynamoDb { aws, deadline }
    }

    /// `PutItem`: write `item`, replacing any with the same key, if the
    /// condition in `expr` (if any) holds.
    pub fn put_item(&self, table: &str, item: &Item, expr: &Expr) -> Result<(), Error> {
        let mut body = table_body(table);
        body.insert("Item".to_string(), item_to_json(item));
        expr.write(&mut body, "ConditionExpression");
        self.call("PutItem", body).map(drop)
    }

    /// `GetItem`: the item with this key, or `None`.
    pub fn get_item(&self, table: &str, key: &Item) -> Result<Option<Item>, Error> {
        let mut body = table_body(table);
        body.insert("Key".to_string(), item_to_json(key));
        let answer = self.call("GetItem", body)?;
        self.optional_item(&answer, "Item")
    }

    /// `UpdateItem` with `update` (`SET a = :a REMOVE b`), if the condition
    /// in `expr` holds; returns the whole item as it is afterwards.
    pub fn update_item(
        &self,
        table: &str,
        key: &Item,
        update: &str,
        expr: &Expr,
    ) -> Result<Item, Error> {
        let mut body = table_body(table);
        body.insert("Key".to_string(), item_to_json(key));
        body.insert(
            "UpdateExpression".to_string(),
            Json::String(update.to_string()),
        );
        body.insert(
            "ReturnValues".to_string(),
            Json::String("ALL_NEW".to_string()),
        );
        expr.write(&mut body, "ConditionExpression");
        let answer = self.call("UpdateItem", body)?;
        self.optional_item(&answer, "Attributes")
            .map(Option::unwrap_or_default)
    }

    /// `DeleteItem`, if the condition in `expr` holds; returns the item
    /// that was deleted, or `None` if there was none.
    pub fn delete_item(&self, table: &str, key: &Item, expr: &Expr) -> Result<Option<Item>, Error> {
        let mut body = table_body(table);
        body.insert("Key".to_string(), item_to_json(key));
        body.insert(
            "ReturnValues".to_string(),
            Json::String("ALL_OLD".to_string()),
        );
        expr.write(&mut body, "ConditionExpression");
        let answer = self.call("DeleteItem", body)?;
        self.optional_item(&answer, "Attributes")
    }

    /// `Query`: one page of the items `query` selects.
    pub fn query(&self, table: &str, query: &Query) -> Result<Page, Error> {
        let mut body = table_body(table);
        body.insert(
            "KeyConditionExpression".to_string(),
            Json::String(query.key_condition.clone()),
        );
        query.expr.write(&mut body, "FilterExpression");
        if let Some(index) = &query.index {
            body.insert("IndexName".to_string(), Json::String(index.clone()));
        }
        if let Some(limit) = query.limit {
            body.insert("Limit".to_string(), Json::Number(Number::U64(limit.into())));
        }
        if !query.forward {
            body.insert("ScanIndexForward".to_string(), Json::Bool(false));
        }
        if query.consistent {
            body.insert("ConsistentRead".to_string(), Json::Bool(true));
        }
        if let Some(start) = &query.start {
            body.insert("ExclusiveStartKey".to_string(), item_to_json(start));
        }
        let answer = self.call("Query", body)?;
        let items = match answer.get("Items") {
            None => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .map(|item| item_from_json(item).map_err(|e| malformed("Query", &e)))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(malformed("Query", "Items is not a list")),
        };
        Ok(Page {
            items,
            last_evaluated_key: self.optional_item(&answer, "LastEvaluatedKey")?,
        })
    }

    fn call(&self, operation: &str, body: Object) -> Result<Object, Error> {
        self.aws
            .json_object(self.deadline, &SERVICE, operation, body, Duration::ZERO)
    }

    fn optional_item(&self, answer: &Object, field: &str) -> Result<Option<Item>, Error> {
        match answer.get(field) {
            None | Some(Json::Null) => Ok(None),
            Some(item) => item_from_json(item)
                .map(Some)
                .map_err(|e| malformed(field, &e)),
        }
    }
}

fn table_body(table: &str) -> Object {
    let mut body = Object::new();
    body.insert("TableName".to_string(), Json::String(table.to_string()));
    body
}

fn malformed(what: &str, why: &str) -> Error {
    Error::local(
        SERVICE.name,
        "MalformedResponse",
        [what, ": ", why].concat(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniserde::json;

    #[test]
    fn expressions_become_the_request_fields() {
        let mut body = Object::new();
        Expr::new()
            .condition("attribute_not_exists(#i)")
            .name("#i", "id")
            .value(":q", 3)
            .write(&mut body, "ConditionExpression");
        assert_eq!(
            json::to_string(&Json::Object(body)),
            r##"{"ConditionExpression":"attribute_not_exists(#i)","ExpressionAttributeNames":{"#i":"id"},"ExpressionAttributeValues":{":q":{"N":"3"}}}"##
        );
        let mut empty = Object::new();
        Expr::new().write(&mut empty, "ConditionExpression");
        assert!(empty.is_empty());
    }
}
