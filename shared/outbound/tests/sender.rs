//! What a delivery may reach, tried against real sockets on the loopback interface and a
//! resolver that answers as a hostile DNS would: forbidden addresses refused at registration
//! and at every attempt (names included, and a name that changes its answer), redirects never
//! followed, a silent endpoint given up on, and an endless answer read no further than 4 KiB.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse_domain::webhooks::{OutgoingDelivery, SendOutcome, WebhookSender, WebhookUrl};
use gatehouse_outbound::{HttpsSender, Resolve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A DNS that answers each question with the next of its answers (the last one again after).
struct Hostile(Mutex<Vec<Vec<&'static str>>>);

#[async_trait::async_trait]
impl Resolve for Hostile {
    async fn resolve(&self, _: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let mut answers = self.0.lock().unwrap();
        let answer = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        Ok(answer
            .iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), port))
            .collect())
    }
}

fn sender(answers: Vec<Vec<&'static str>>) -> HttpsSender {
    HttpsSender::new().with_resolver(Arc::new(Hostile(Mutex::new(answers))))
}

fn delivery(url: &str) -> OutgoingDelivery {
    OutgoingDelivery {
        url: WebhookUrl::parse(url, true).unwrap(),
        headers: vec![("webhook-id", "0".repeat(32))],
        body: b"{}".to_vec(),
    }
}

/// A server on the loopback interface answering every request with `answer` (after reading it),
/// counting the requests it saw.
async fn server(answer: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn names_that_resolve_to_forbidden_addresses_are_refused() {
    for answer in [
        vec!["10.0.0.7"],
        vec!["169.254.169.254"],
        vec!["127.0.0.1"],
        vec!["::1"],
        vec!["fd00::1"],
        vec!["::ffff:192.168.1.1"],
        // One bad address among good ones is enough to refuse.
        vec!["93.184.216.34", "172.16.0.1"],
    ] {
        let url = WebhookUrl::parse("https://hooks.example.com/in", false).unwrap();
        let refused = sender(vec![answer.clone()]).check(&url, false).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|why| why.contains("may not reach")),
            "{answer:?}: {refused:?}"
        );
        let sent = sender(vec![answer.clone()])
            .send(&delivery("https://hooks.example.com/in"), false)
            .await;
        assert!(
            matches!(&sent, SendOutcome::Failed(why) if why.contains("may not reach")),
            "{answer:?}: {sent:?}"
        );
    }
    let url = WebhookUrl::parse("https://hooks.example.com/in", false).unwrap();
    assert!(sender(vec![vec!["93.184.216.34"]])
        .check(&url, false)
        .await
        .is_ok());
    assert_eq!(
        sender(vec![vec![]]).check(&url, false).await,
        Err("the host does not resolve".into())
    );
}

#[tokio::test]
async fn a_name_that_answers_differently_at_delivery_is_refused_then() {
    // Public at registration, the loopback interface a moment later (DNS rebinding): the
    // attempt connects to nothing.
    let (port, seen) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let rebinding = sender(vec![vec!["93.184.216.34"], vec!["127.0.0.1"]]);
    let url = format!("http://localhost:{port}/in");
    let registered =
        WebhookUrl::parse(&format!("https://hooks.example.com:{port}/in"), false).unwrap();
    assert!(rebinding.check(&registered, false).await.is_ok());
    let mut attempt = delivery(&url);
    attempt.url = registered;
    let sent = rebinding.send(&attempt, false).await;
    assert!(
        matches!(&sent, SendOutcome::Failed(why) if why.contains("127.0.0.1")),
        "{sent:?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 0, "nothing was reached");
}

#[tokio::test]
async fn a_redirect_is_an_answer_never_followed() {
    let (target_port, target_seen) = server(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let redirect: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{target_port}/elsewhere\r\ncontent-length: 0\r\n\r\n"
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (port, seen) = server(redirect).await;
    let sent = HttpsSender::new()
        .send(&delivery(&format!("http://127.0.0.1:{port}/in")), true)
        .await;
    assert_eq!(sent, SendOutcome::Answered(307));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(target_seen.load(Ordering::SeqCst), 0, "not followed");
}

#[tokio::test]
async fn a_silent_endpoint_is_given_up_on_and_an_endless_answer_read_no_further() {
    // Accepts, reads, never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let sent = HttpsSender::new()
        .with_timeout(Duration::from_millis(300))
        .send(&delivery(&format!("http://127.0.0.1:{port}/in")), true)
        .await;
    assert!(
        matches!(&sent, SendOutcome::Failed(why) if why.contains("no answer")),
        "{sent:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A 200 whose body never ends: the status is taken, the rest left unread.
    let endless = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = endless.local_addr().unwrap().port();
    let written = Arc::new(AtomicUsize::new(0));
    let counted = written.clone();
    tokio::spawn(async move {
        let (mut socket, _) = endless.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = socket.read(&mut buf).await;
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 1024, "x".repeat(1024));
        while socket.write_all(chunk.as_bytes()).await.is_ok() {
            counted.fetch_add(1024, Ordering::SeqCst);
        }
    });
    let sent = HttpsSender::new()
        .with_timeout(Duration::from_secs(5))
        .send(&delivery(&format!("http://127.0.0.1:{port}/in")), true)
        .await;
    assert_eq!(sent, SendOutcome::Answered(200));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        written.load(Ordering::SeqCst) < 4 << 20,
        "the answer was not read to its end"
    );
}

#[tokio::test]
async fn plain_http_to_the_loopback_interface_only_where_allowed() {
    let (port, seen) = server(b"HTTP/1.1 204 No Content\r\n\r\n").await;
    let url = format!("http://127.0.0.1:{port}/in");
    let refused = HttpsSender::new().send(&delivery(&url), false).await;
    assert!(matches!(refused, SendOutcome::Failed(_)), "{refused:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    let sent = HttpsSender::new().send(&delivery(&url), true).await;
    assert_eq!(sent, SendOutcome::Answered(204));
}
