//! The baseline of the cold-start bench: a hello-world `lambda_http` function built like
//! Gatehouse's (same profile, same runtime crates), doing nothing at init.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(|_req| async {
        Ok::<_, std::convert::Infallible>(lambda_http::Response::new(lambda_http::Body::from(
            "hello",
        )))
    }))
    .await
}
