//! Applications registered for OpenID Connect sign-in.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl ClientStore for Records {
    async fn create_client(&self, client: &Client) -> Result<(), WriteError> {
        match self
            .write(vec![put(
                keys::client(&client.org, &client.id),
                encode(client),
                Some(Condition::NotExists),
            )])
            .await
        {
            Err(ItemError::ConditionFailed { .. }) => Err(WriteError::AlreadyExists),
            other => other.map_err(write_error),
        }
    }

    async fn client(&self, org: &OrgDomain, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.get(&keys::client(org, id)).await
    }

    async fn clients(&self, org: &OrgDomain) -> Result<Vec<Client>, StoreError> {
        let mut clients: Vec<Client> = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .items
                .query(&Query {
                    index: None,
                    pk: keys::clients_pk(org),
                    sk_prefix: String::new(),
                    after,
                    limit: 100,
                    descending: false,
                })
                .await
                .map_err(unavailable)?;
            for item in page.items {
                clients.push(decode(item.attrs)?);
            }
            match page.last_sk {
                Some(sk) => after = Some(sk),
                None => break,
            }
        }
        clients.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(clients)
    }

    async fn update_client(&self, client: &Client) -> Result<(), WriteError> {
        let (attrs, unchanged) = versioned(client, client.version);
        self.write(vec![put(
            keys::client(&client.org, &client.id),
            attrs,
            Some(unchanged),
        )])
        .await
        .map_err(write_error)
    }

    async fn delete_client(&self, client: &Client) -> Result<(), WriteError> {
        self.write(vec![Write::Delete {
            key: keys::client(&client.org, &client.id),
            condition: Some(Condition::Equals(VERSION.into(), json!(client.version))),
        }])
        .await
        .map_err(write_error)
    }
}
