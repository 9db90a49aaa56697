//! The storage conformance suite on DynamoDB (moto's server), each test on its own table.

use std::sync::Arc;

use gatehouse_store::ItemStore;

async fn fresh_table() -> Arc<dyn ItemStore> {
    let (items, _) = gatehouse_e2e::dynamo_table().await;
    items
}

gatehouse_store_conformance::conformance_suite!(fresh_table);

/// 5,000 invitations on a table of their own, in a region no other test uses: moto copies a
/// region's every table on each transaction, so a big table would slow every other test. The
/// table is deleted afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filtered_lists_cost_one_page_among_5000_invitations() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(gatehouse_e2e::aws_endpoint())
        .region(aws_config::Region::new("eu-west-3"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = gatehouse_e2e::unique("gatehouse-scale-");
    gatehouse_aws::create_table(&client, &table)
        .await
        .expect("create the table on moto");
    let items = Arc::new(gatehouse_aws::DynamoItems::new(client.clone(), &table));
    let run = tokio::spawn(
        gatehouse_store_conformance::filtered_lists_cost_one_page_among_5000_invitations(items),
    )
    .await;
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .expect("delete the table");
    if let Err(failure) = run {
        std::panic::resume_unwind(failure.into_panic());
    }
}
