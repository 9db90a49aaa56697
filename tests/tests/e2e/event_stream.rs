//! The event log's way out in AWS, on moto: the `events` function's code gets the table's stream
//! records (the log's items as Lambda hands them over, each batch twice: a stream delivers at
//! least once), publishes every event on an EventBridge bus (a rule there forwards them to a
//! queue the test reads) and queues each webhook delivery in SQS; the `deliveries` function's
//! code takes the queue's messages, attempts, and queues the retries. A receiver refuses the
//! first attempts. Every event reaches the endpoint once (by `webhook-id`), each request
//! verified by the Standard Webhooks reference library; with EventBridge and SQS failing
//! (the fault-injecting proxy), nothing is lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_domain::clock::Clock;
use gatehouse_domain::events::ChangeEvents;
use gatehouse_domain::webhooks::{Webhook, WebhookSecret, WebhookUrl};
use gatehouse_domain::Services;
use gatehouse_e2e::standard_webhooks::{verify, Receiver};
use gatehouse_e2e::{aws_config_at, aws_endpoint, unique, Bundle, Fault, FaultyAws};
use gatehouse_store::{Item, ItemError, ItemStore, Key, Query, QueryPage, Write};
use serde_json::{json, Value};

/// Passes everything to the table and keeps, as the stream would, each event-log item a write
/// committed.
struct StreamTap {
    inner: Arc<dyn ItemStore>,
    seen: Arc<Mutex<Vec<Item>>>,
}

#[async_trait::async_trait]
impl ItemStore for StreamTap {
    async fn get(&self, key: &Key) -> Result<Option<Item>, ItemError> {
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, ItemError> {
        self.inner.get_many(keys).await
    }
    async fn query(&self, query: &Query) -> Result<QueryPage, ItemError> {
        self.inner.query(query).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), ItemError> {
        let logged: Vec<Item> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. }
                    if item.key.pk.starts_with(gatehouse_store::EVENTS_PK_PREFIX) =>
                {
                    Some(item.clone())
                }
                _ => None,
            })
            .collect();
        self.inner.write(writes).await?;
        self.seen.lock().unwrap().extend(logged);
        Ok(())
    }
}

/// The stream batch Lambda would hand over for these items.
fn stream_batch(items: &[Item]) -> Value {
    json!({
        "Records": items.iter().enumerate().map(|(n, item)| json!({
            "eventID": n.to_string(),
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": { "pk": { "S": item.key.pk }, "sk": { "S": item.key.sk } },
                "NewImage": gatehouse_aws::stream_image(item),
                "SequenceNumber": format!("{:021}", n),
                "StreamViewType": "NEW_IMAGE"
            }
        })).collect::<Vec<_>>()
    })
}

/// The bus (with a rule forwarding everything of `source` gatehouse to an observer queue) and
/// the deliveries queue, on moto, reached through `endpoint`.
struct Aws {
    bus: gatehouse_aws::events::EventBridgeBus,
    queue: gatehouse_aws::events::SqsDeliveryQueue,
    sqs: aws_sdk_sqs::Client,
    deliveries_url: String,
    observer_url: String,
}

async fn aws(endpoint: &str) -> Aws {
    let direct = aws_config_at(&aws_endpoint(), "us-east-1").await;
    let through = aws_config_at(endpoint, "us-east-1").await;
    let events = aws_sdk_eventbridge::Client::new(&direct);
    let sqs = aws_sdk_sqs::Client::new(&direct);
    let bus = unique("gatehouse-bus-");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let queue = |name: String| {
        let sqs = sqs.clone();
        async move {
            sqs.create_queue()
                .queue_name(name)
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                    "1",
                )
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap()
        }
    };
    let deliveries_url = queue(unique("deliveries-")).await;
    let observer_url = queue(unique("observer-")).await;
    let observer_arn = sqs
        .get_queue_attributes()
        .queue_url(&observer_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("everything")
        .event_bus_name(&bus)
        .event_pattern(json!({ "source": ["gatehouse"] }).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("everything")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("observer")
                .arn(observer_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Aws {
        bus: gatehouse_aws::events::EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&through),
            bus,
        ),
        queue: gatehouse_aws::events::SqsDeliveryQueue::new(
            aws_sdk_sqs::Client::new(&through),
            deliveries_url.clone(),
        ),
        sqs,
        deliveries_url,
        observer_url,
    }
}

/// Every message of a queue visible now (and deletes them unless `keep`).
async fn take(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

/// The deliveries function's turn: what the queue holds now, as Lambda hands it over; the
/// messages it does not name as failed are deleted (as the event source mapping does).
async fn deliveries_turn(b: &Services, aws: &Aws) -> usize {
    let messages = take(&aws.sqs, &aws.deliveries_url).await;
    let batch = json!({
        "Records": messages.iter().map(|m| json!({
            "messageId": m.message_id(),
            "receiptHandle": m.receipt_handle(),
            "body": m.body(),
            "eventSource": "aws:sqs"
        })).collect::<Vec<_>>()
    });
    let sender = gatehouse_outbound::HttpsSender::new();
    let answer = gatehouse_deliveries::handle_queue(b, &sender, &aws.queue, &batch).await;
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    for m in &messages {
        if !failed.contains(&m.message_id().unwrap()) {
            aws.sqs
                .delete_message()
                .queue_url(&aws.deliveries_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    messages.len()
}

/// An endpoint for `receiver`, registered straight in the store (the registry's checks are
/// `webhooks.rs`'; a receiver on the loopback interface is the local run's privilege, given
/// to these services).
async fn endpoint(b: &Bundle, receiver: &Receiver) -> (Services, String) {
    let secret = WebhookSecret::generate(&*b.services.random);
    let now = b.clock.now();
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let webhook = Webhook {
        id: b.services.random.webhook_id(now),
        org: b.org.clone(),
        url: WebhookUrl::parse(&url, true).unwrap(),
        types: vec![],
        description: None,
        secret: b
            .services
            .access_codes
            .seal_webhook_secret(&secret, &*b.services.random),
        previous_secret: None,
        disabled_at: None,
        failing_since: None,
        created_by: b.services.random.user_id(),
        created_at: now,
        version: 0,
    };
    b.services
        .store
        .create_webhook(&webhook, &ChangeEvents::none())
        .await
        .unwrap();
    let mut services = b.services.clone();
    services.config.webhooks_to_loopback = true;
    (services, secret.expose())
}

/// Changes through the API that make 5 events: a group; an invitation created and sent; its
/// acceptance (accepted, user created).
async fn story(b: &Bundle) {
    assert_eq!(
        b.gateway
            .post(
                "/v1/orgs/demo/groups",
                Some(&b.admin_token),
                json!({"name": "Design"})
            )
            .await
            .status,
        201
    );
    let alice = b.email("alice");
    assert_eq!(b.invite(&alice, "member", &[]).await.status, 201);
    let token = b.sign_up_token(&alice).await;
    assert_eq!(
        b.sign_up(&token, "orchard lantern seventeen").await.status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_the_bus_and_each_endpoint_once_through_the_queue() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tap = seen.clone();
    let b = Bundle::start_wrapped(
        gatehouse_e2e::Backend::Aws,
        |m| m,
        move |items| {
            Arc::new(StreamTap {
                inner: items,
                seen: tap,
            })
        },
    )
    .await;
    let aws = aws(&aws_endpoint()).await;
    let receiver = Receiver::start().await;
    receiver
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (services, secret) = endpoint(&b, &receiver).await;
    seen.lock().unwrap().clear();
    story(&b).await;
    let items = std::mem::take(&mut *seen.lock().unwrap());
    let batch = stream_batch(&items);
    let events = gatehouse_events::stream_events(&batch).unwrap();
    assert_eq!(events.len(), 5, "{events:?}");

    // The stream hands the batch over twice.
    for _ in 0..2 {
        gatehouse_events::handle_stream(&services, &aws.bus, &aws.queue, &batch)
            .await
            .unwrap();
    }
    // The bus: each event under its type, from gatehouse.
    let published = take(&aws.sqs, &aws.observer_url).await;
    let mut on_bus: Vec<(String, String)> = published
        .iter()
        .map(|m| {
            let e: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(e["source"], "gatehouse");
            assert_eq!(e["detail-type"], e["detail"]["type"]);
            assert_eq!(e["detail"]["org"], "demo");
            (
                e["detail"]["id"].as_str().unwrap().to_string(),
                e["detail-type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    on_bus.sort();
    on_bus.dedup();
    let mut expected: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.id.to_string(), e.kind.as_str().to_string()))
        .collect();
    expected.sort();
    assert_eq!(on_bus, expected, "every event on the bus, under its type");

    // First attempts refused; retries queued 5 s on (real time in the queue, the clock moved).
    let handled = deliveries_turn(&services, &aws).await;
    assert!(handled >= 5, "{handled}");
    assert_eq!(
        receiver.received().len(),
        5,
        "one attempt per event, however often queued"
    );
    receiver
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    b.advance(Duration::from_secs(10));
    let started = std::time::Instant::now();
    while receiver
        .received()
        .iter()
        .filter(|r| r.answered == 204)
        .count()
        < 5
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            receiver.received()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        deliveries_turn(&services, &aws).await;
    }
    // Nothing more comes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    deliveries_turn(&services, &aws).await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        10,
        "each event refused once, then delivered once"
    );
    let mut delivered: Vec<&str> = received
        .iter()
        .filter(|r| r.answered == 204)
        .map(|r| r.id.as_str())
        .collect();
    delivered.sort();
    let mut ids: Vec<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    assert_eq!(delivered, ids);
    for (request, verdict) in received.iter().zip(verify(&secret, &received)) {
        assert!(
            !verdict.is_null(),
            "the reference library refused {request:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eventbridge_and_sqs_failures_lose_nothing() {
    let proxy = FaultyAws::start(&aws_endpoint(), 29).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tap = seen.clone();
    let b = Bundle::start_through(&proxy.endpoint, "us-east-1", move |items| {
        Arc::new(StreamTap {
            inner: items,
            seen: tap,
        })
    })
    .await;
    let aws = aws(&proxy.endpoint).await;
    let receiver = Receiver::start().await;
    let (services, secret) = endpoint(&b, &receiver).await;
    seen.lock().unwrap().clear();
    story(&b).await;
    let batch = stream_batch(&std::mem::take(&mut *seen.lock().unwrap()));

    // The bus fails: the batch is refused (the stream hands it over again), nothing queued.
    proxy.fail("Events.PutEvents", Fault::ServerError, 1.0);
    assert!(
        gatehouse_events::handle_stream(&services, &aws.bus, &aws.queue, &batch)
            .await
            .is_err()
    );
    assert!(take(&aws.sqs, &aws.deliveries_url).await.is_empty());
    proxy.heal();
    // The queue fails after the deliveries are made: refused again; handed over again, what is
    // still pending is queued.
    proxy.fail("SQS.SendMessageBatch", Fault::ServerError, 1.0);
    assert!(
        gatehouse_events::handle_stream(&services, &aws.bus, &aws.queue, &batch)
            .await
            .is_err()
    );
    proxy.heal();
    gatehouse_events::handle_stream(&services, &aws.bus, &aws.queue, &batch)
        .await
        .unwrap();

    // A retry that cannot be queued leaves its message to come back (partial batch failure).
    receiver
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    proxy.fail("SQS.SendMessageBatch", Fault::ServerError, 1.0);
    deliveries_turn(&services, &aws).await;
    proxy.heal();
    receiver
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // Those attempts were made but not recorded: their leases hold them for a minute, then the
    // messages that came back attempt them again.
    b.advance(gatehouse_domain::usecase::deliveries::LEASE + Duration::from_secs(1));
    let started = std::time::Instant::now();
    loop {
        let mut delivered: Vec<String> = receiver
            .received()
            .iter()
            .filter(|r| r.answered == 204)
            .map(|r| r.id.clone())
            .collect();
        delivered.sort();
        delivered.dedup();
        if delivered.len() == 5 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "{:?}",
            receiver.received()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        deliveries_turn(&services, &aws).await;
    }
    let received = receiver.received();
    let ok = received.iter().filter(|r| r.answered == 204).count();
    assert_eq!(ok, 5, "each event delivered once: {received:?}");
    for (request, verdict) in received.iter().zip(verify(&secret, &received)) {
        assert!(
            !verdict.is_null(),
            "the reference library refused {request:?}"
        );
    }
    assert!(proxy.total("Events").faults > 0 && proxy.total("SQS").faults > 0);
}
