//! The storage conformance suite on DynamoDB (moto's server), each test on its own table.

use std::sync::Arc;

use gatehouse_store::ItemStore;

async fn fresh_table() -> Arc<dyn ItemStore> {
    let (items, _) = gatehouse_e2e::dynamo_table().await;
    items
}

gatehouse_store::conformance_suite!(fresh_table);
