use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put, PutRequest,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_store::{
    Attrs, Condition, Index, Item, ItemError, ItemStore, Key, Query, QueryPage, Write,
};

const PK: &str = "pk";
const SK: &str = "sk";

/// The item store on one DynamoDB table with a string partition key `pk` and sort key `sk`
/// (see `KEYS.md` for what lives where), and the global secondary indexes `gsi1` and `gsi2`
/// (partition keys `gsi1pk`, `gsi2pk`, sort key `sk`, every attribute projected). Reads of the
/// table are strongly consistent, of an index eventually consistent; a batch of one write is a
/// PutItem/DeleteItem, larger batches are one TransactWriteItems.
#[derive(Clone)]
pub struct DynamoItems {
    client: Client,
    table: String,
}

/// Attempts per DynamoDB call, the first included. Throttling (a hot partition, on-demand
/// capacity still growing) is retried with the SDK's back-off, as the AWS SDK for Java does for
/// DynamoDB (ten retries); with the SDK's default of three attempts, a run of 30 % throttled
/// calls gives up on 2.7 % of them, which fails most 500-row imports part-way.
pub const DYNAMO_ATTEMPTS: u32 = 8;

/// How long one attempt may take before it is given up (and tried again): a DynamoDB call
/// answers in milliseconds; an attempt this slow met a network fault.
pub const DYNAMO_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a call may take, all its attempts and back-off together: the bound the functions'
/// time budgets count on for each store call (`local/tests/template_timeouts.rs`).
pub const DYNAMO_CALL_TIMEOUT: Duration = Duration::from_secs(4);
/// The first retry's back-off (doubling, with jitter), as the AWS SDK for Java uses for
/// DynamoDB: with the standard mode's 1 s, eight attempts would wait half a minute on average.
pub const DYNAMO_INITIAL_BACKOFF: Duration = Duration::from_millis(50);

/// A DynamoDB client from `config`, making up to [`DYNAMO_ATTEMPTS`] attempts per call (from
/// [`DYNAMO_INITIAL_BACKOFF`]), each within [`DYNAMO_ATTEMPT_TIMEOUT`], all within
/// [`DYNAMO_CALL_TIMEOUT`].
pub fn dynamo_client(config: &aws_config::SdkConfig) -> Client {
    let retries = config
        .retry_config()
        .cloned()
        .unwrap_or_else(aws_config::retry::RetryConfig::standard)
        .with_max_attempts(DYNAMO_ATTEMPTS)
        .with_initial_backoff(DYNAMO_INITIAL_BACKOFF);
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(DYNAMO_ATTEMPT_TIMEOUT)
        .operation_timeout(DYNAMO_CALL_TIMEOUT)
        .build();
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .retry_config(retries)
            .timeout_config(timeouts)
            .build(),
    )
}

impl DynamoItems {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn backend(e: impl Into<gatehouse_domain::Cause>) -> ItemError {
    ItemError::Backend(e.into())
}

/// The SDK's error kept whole: its sources name the service's reason (the log shows the chain).
fn sdk_error<E, R>(e: SdkError<E, R>) -> ItemError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    ItemError::Backend(Box::new(e))
}

/// JSON → DynamoDB attribute value.
fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect()),
        Value::Object(map) => {
            AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect())
        }
    }
}

/// DynamoDB attribute value → JSON. Sets and binaries are never written by Gatehouse.
fn from_attr(attr: &AttributeValue) -> Result<Value, ItemError> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => {
            if let Ok(i) = n.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = n.parse::<u64>() {
                Value::from(u)
            } else {
                n.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| backend(format!("unreadable number {n}")))?
            }
        }
        AttributeValue::L(items) => {
            Value::Array(items.iter().map(from_attr).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_attr(v)?)))
                .collect::<Result<_, ItemError>>()?,
        ),
        other => return Err(backend(format!("unexpected attribute type {other:?}"))),
    })
}

/// An item as a DynamoDB stream record's `NewImage` carries it (DynamoDB JSON:
/// `{"pk": {"S": "…"}, "ttl": {"N": "…"}, …}`).
pub fn item_from_stream_image(image: &Value) -> Result<Item, ItemError> {
    fn attr(value: &Value) -> Result<AttributeValue, ItemError> {
        let (kind, inner) = value
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
            .ok_or_else(|| backend("not a DynamoDB JSON attribute"))?;
        Ok(match (kind.as_str(), inner) {
            ("S", Value::String(s)) => AttributeValue::S(s.clone()),
            ("N", Value::String(n)) => AttributeValue::N(n.clone()),
            ("BOOL", Value::Bool(b)) => AttributeValue::Bool(*b),
            ("NULL", _) => AttributeValue::Null(true),
            ("L", Value::Array(items)) => {
                AttributeValue::L(items.iter().map(attr).collect::<Result<_, _>>()?)
            }
            ("M", Value::Object(map)) => AttributeValue::M(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), attr(v)?)))
                    .collect::<Result<_, ItemError>>()?,
            ),
            (other, _) => return Err(backend(format!("unexpected attribute type {other}"))),
        })
    }
    let map = image
        .as_object()
        .ok_or_else(|| backend("a stream image is an object"))?;
    let attrs = map
        .iter()
        .map(|(k, v)| Ok((k.clone(), attr(v)?)))
        .collect::<Result<HashMap<_, _>, ItemError>>()?;
    from_item(attrs)
}

/// An item as a stream record's `NewImage` would carry it (for tests that play the stream).
pub fn stream_image(item: &Item) -> Value {
    fn json(attr: &AttributeValue) -> Value {
        match attr {
            AttributeValue::S(s) => serde_json::json!({ "S": s }),
            AttributeValue::N(n) => serde_json::json!({ "N": n }),
            AttributeValue::Bool(b) => serde_json::json!({ "BOOL": b }),
            AttributeValue::L(items) => {
                serde_json::json!({ "L": items.iter().map(json).collect::<Vec<_>>() })
            }
            AttributeValue::M(map) => serde_json::json!({
                "M": map.iter().map(|(k, v)| (k.clone(), json(v))).collect::<serde_json::Map<_, _>>()
            }),
            _ => serde_json::json!({ "NULL": true }),
        }
    }
    Value::Object(
        item_attrs(item)
            .iter()
            .map(|(k, v)| (k.clone(), json(v)))
            .collect(),
    )
}

fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

fn item_attrs(item: &Item) -> HashMap<String, AttributeValue> {
    let mut attrs = key_attrs(&item.key);
    for (k, v) in &item.attrs {
        attrs.insert(k.clone(), to_attr(v));
    }
    attrs
}

fn from_item(mut attrs: HashMap<String, AttributeValue>) -> Result<Item, ItemError> {
    let take = |attrs: &mut HashMap<String, AttributeValue>, name: &str| match attrs.remove(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(backend(format!("item without a string {name}"))),
    };
    let pk = take(&mut attrs, PK)?;
    let sk = take(&mut attrs, SK)?;
    let mut out = Attrs::new();
    for (k, v) in &attrs {
        out.insert(k.clone(), from_attr(v)?);
    }
    Ok(Item {
        key: Key { pk, sk },
        attrs: out,
    })
}

/// A condition as a DynamoDB condition expression with its placeholders.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        // Reuse the placeholder if the name is already there.
        if let Some((p, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return p.clone();
        }
        self.names.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn render(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::Exists => format!("attribute_exists({})", self.name(PK)),
            Condition::NotExists => format!("attribute_not_exists({})", self.name(PK)),
            Condition::Equals(attr, v) => {
                let n = self.name(attr);
                let v = self.value(to_attr(v));
                format!("{n} = {v}")
            }
            Condition::Below(attr, limit) => {
                let n = self.name(attr);
                let v = self.value(AttributeValue::N(limit.to_string()));
                // `<` on a missing or non-number attribute is false, as the contract says.
                format!("{n} < {v}")
            }
            Condition::AtLeast(attr, limit) => {
                let n = self.name(attr);
                let v = self.value(AttributeValue::N(limit.to_string()));
                format!("{n} >= {v}")
            }
            Condition::Lacks(attr) => {
                let pk = self.name(PK);
                let n = self.name(attr);
                format!("(attribute_exists({pk}) AND attribute_not_exists({n}))")
            }
            // An empty All always holds and an empty Any never does, as in `Condition::holds`.
            Condition::All(cs) if cs.is_empty() => {
                let pk = self.name(PK);
                format!("(attribute_exists({pk}) OR attribute_not_exists({pk}))")
            }
            Condition::Any(cs) if cs.is_empty() => {
                let pk = self.name(PK);
                format!("(attribute_exists({pk}) AND attribute_not_exists({pk}))")
            }
            Condition::All(cs) => {
                let parts: Vec<String> = cs.iter().map(|c| self.render(c)).collect();
                format!("({})", parts.join(" AND "))
            }
            Condition::Any(cs) => {
                let parts: Vec<String> = cs.iter().map(|c| self.render(c)).collect();
                format!("({})", parts.join(" OR "))
            }
        }
    }

    /// `SET a = :x, … ADD n :d, …` for [`Write::Update`].
    fn update(&mut self, add: &[(String, i64)], set: &Attrs) -> String {
        let sets: Vec<String> = set
            .iter()
            .map(|(name, value)| {
                let n = self.name(name);
                let v = self.value(to_attr(value));
                format!("{n} = {v}")
            })
            .collect();
        let adds: Vec<String> = add
            .iter()
            .map(|(name, delta)| {
                let n = self.name(name);
                let v = self.value(AttributeValue::N(delta.to_string()));
                format!("{n} {v}")
            })
            .collect();
        let mut clauses = Vec::new();
        if !sets.is_empty() {
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !adds.is_empty() {
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn rendered(condition: Option<&Condition>) -> (Option<String>, Expression) {
    let mut expr = Expression::default();
    let text = condition.map(|c| expr.render(c));
    (text, expr)
}

impl DynamoItems {
    async fn write_one(&self, write: &Write) -> Result<(), ItemError> {
        let (condition, mut expr) = rendered(write.condition());
        let result = match write {
            Write::Put { item, .. } => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item_attrs(item)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_conditional_check_failed_exception() => {
                        ItemError::ConditionFailed { index: 0 }
                    }
                    _ => sdk_error(e),
                }),
            Write::Delete { key, .. } => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| match e.as_service_error() {
                    Some(s) if s.is_conditional_check_failed_exception() => {
                        ItemError::ConditionFailed { index: 0 }
                    }
                    _ => sdk_error(e),
                }),
            Write::Check { .. } => return self.write_many(std::slice::from_ref(write)).await,
            Write::Update { key, add, set, .. } => {
                let update = expr.update(add, set);
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .update_expression(update)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| match e.as_service_error() {
                        Some(s) if s.is_conditional_check_failed_exception() => {
                            ItemError::ConditionFailed { index: 0 }
                        }
                        _ => sdk_error(e),
                    })
            }
        };
        result
    }

    async fn write_many(&self, writes: &[Write]) -> Result<(), ItemError> {
        let mut items = Vec::with_capacity(writes.len());
        for w in writes {
            let (condition, mut expr) = rendered(w.condition());
            let item = match w {
                Write::Update { key, add, set, .. } => {
                    let update = expr.update(add, set);
                    TransactWriteItem::builder().update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attrs(key)))
                            .update_expression(update)
                            .set_condition_expression(condition)
                            .set_expression_attribute_names(expr.names())
                            .set_expression_attribute_values(expr.values())
                            .build()
                            .map_err(backend)?,
                    )
                }
                Write::Put { item, .. } => TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item_attrs(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(backend)?,
                ),
                Write::Delete { key, .. } => TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(backend)?,
                ),
                Write::Check { key, .. } => TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attrs(key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(backend)?,
                ),
            };
            items.push(item.build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    let reasons = cancel.cancellation_reasons();
                    if let Some(index) = reasons
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"))
                    {
                        ItemError::ConditionFailed { index }
                    } else if reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"))
                    {
                        ItemError::Conflict
                    } else {
                        sdk_error(e)
                    }
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    ItemError::Conflict
                }
                _ => sdk_error(e),
            }),
        }
    }
}

#[async_trait]
impl ItemStore for DynamoItems {
    async fn get(&self, key: &Key) -> Result<Option<Item>, ItemError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item.map(from_item).transpose()
    }

    /// BatchGetItem (strongly consistent), 100 keys a request, each key asked once; unprocessed
    /// keys are asked again after a pause.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, ItemError> {
        let mut found: HashMap<Key, Item> = HashMap::new();
        let mut distinct: Vec<&Key> = Vec::new();
        for key in keys {
            if !distinct.contains(&key) {
                distinct.push(key);
            }
        }
        for chunk in distinct.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(|k| key_attrs(k)).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(backend)?,
            );
            let mut pause = std::time::Duration::from_millis(20);
            for attempt in 0.. {
                let Some(request) = pending.take() else {
                    break;
                };
                if attempt == 8 {
                    return Err(backend("DynamoDB left keys unprocessed after 8 retries"));
                }
                if attempt > 0 {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                for attrs in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let item = from_item(attrs)?;
                    found.insert(item.key.clone(), item);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(!query.descending)
            .limit(i32::try_from(query.limit.clamp(1, 1000)).unwrap_or(1000))
            .expression_attribute_values(":pk", AttributeValue::S(query.pk.clone()));
        let mut request = if let Some(index) = query.index {
            if !query.sk_prefix.is_empty() {
                return Err(backend("an index query takes no sort-key prefix"));
            }
            // An index's sort keys are unique within a partition, so a page continues after its
            // last sort key by a key condition (ExclusiveStartKey would need the table's key too).
            let request = request
                .index_name(index.name())
                .expression_attribute_names("#pk", index.attribute());
            match &query.after {
                Some(after) => request
                    .key_condition_expression(if query.descending {
                        "#pk = :pk AND #sk < :after"
                    } else {
                        "#pk = :pk AND #sk > :after"
                    })
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":after", AttributeValue::S(after.clone())),
                None => request.key_condition_expression("#pk = :pk"),
            }
        } else {
            let request = request
                .consistent_read(true)
                .expression_attribute_names("#pk", PK);
            let request = if query.sk_prefix.is_empty() {
                request.key_condition_expression("#pk = :pk")
            } else {
                request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(
                        ":prefix",
                        AttributeValue::S(query.sk_prefix.clone()),
                    )
            };
            match &query.after {
                Some(after) => request.set_exclusive_start_key(Some(key_attrs(&Key::new(
                    query.pk.clone(),
                    after.clone(),
                )))),
                None => request,
            }
        };
        if query.index.is_some() {
            request = request.consistent_read(false);
        }
        let out = request.send().await.map_err(sdk_error)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let last_sk = match out.last_evaluated_key {
            Some(mut k) => match k.remove(SK) {
                Some(AttributeValue::S(s)) => Some(s),
                _ => None,
            },
            None => None,
        };
        Ok(QueryPage { items, last_sk })
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        match writes.len() {
            0 => Ok(()),
            1 => self.write_one(&writes[0]).await,
            n if n <= 100 => self.write_many(&writes).await,
            _ => Err(backend("a batch holds at most 100 writes")),
        }
    }

    /// BatchWriteItem, 25 items a request; unprocessed items are sent again after a pause.
    async fn put_many(&self, items: Vec<Item>) -> Result<(), ItemError> {
        for chunk in items.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item_attrs(item)))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(backend)
                })
                .collect::<Result<_, _>>()?;
            let mut pause = std::time::Duration::from_millis(50);
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(backend("DynamoDB left items unprocessed after 8 retries"));
                }
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        Ok(())
    }
}

/// Creates Gatehouse's table (on-demand billing, TTL on `ttl`), as the deploy template does.
/// For tests and local runs against a DynamoDB-compatible endpoint.
pub async fn create_table(client: &Client, table: &str) -> Result<(), ItemError> {
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(backend)
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(backend)
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .set_attribute_definitions(Some(
            Index::ALL
                .iter()
                .map(|index| attr(index.attribute()))
                .chain([attr(PK), attr(SK)])
                .collect::<Result<Vec<_>, _>>()?,
        ))
        .set_global_secondary_indexes(Some(
            Index::ALL
                .iter()
                .map(|index| {
                    GlobalSecondaryIndex::builder()
                        .index_name(index.name())
                        .key_schema(key(index.attribute(), KeyType::Hash)?)
                        .key_schema(key(SK, KeyType::Range)?)
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()
                        .map_err(backend)
                })
                .collect::<Result<Vec<_>, _>>()?,
        ))
        .send()
        .await
        .map_err(sdk_error)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .map_err(backend)?,
        )
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// Counts the DynamoDB requests a client sends, by operation (`GetItem`, `TransactWriteItems`, …),
/// every attempt included. Register it with `aws_sdk_dynamodb::config::Builder::interceptor`.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl RequestCounter {
    pub fn take(&self) -> HashMap<String, usize> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit_once('.').map(|(_, op)| op.to_string()))
            .unwrap_or_else(|| "unknown".into());
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(operation)
            .or_default() += 1;
        Ok(())
    }
}
