//! What the deploy template must hold for a first real account, beyond what cfn-lint and
//! checkov check (issue 23):
//!
//! - an encrypted SNS topic is encrypted with a key its publishers may use: with the AWS-managed
//!   `alias/aws/sns`, CloudWatch cannot deliver an alarm and SES not a bounce, and nothing says so;
//! - the table and the bucket keep their data when the stack is deleted or a change would
//!   replace them.

mod template;

use template::{of_type, resources, value};

/// The key policy's statements of a key block, each as its lines joined.
fn statements(block: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in block {
        if line.trim_start().starts_with("- Sid:") {
            out.push(String::new());
        }
        if let Some(s) = out.last_mut() {
            s.push_str(line.trim());
            s.push('\n');
        }
    }
    out
}

#[test]
fn every_topic_is_encrypted_with_a_key_its_publishers_may_use() {
    let all = resources();
    let topics = of_type(&all, "AWS::SNS::Topic");
    assert!(topics.len() >= 2, "the alarm and mail-event topics");
    // Who publishes to each topic: alarms (CloudWatch) and SES's bounces and complaints.
    let publishers = |topic: &str| -> Vec<&'static str> {
        let refers = |(_, block): &&(String, Vec<String>)| {
            block.iter().any(|l| {
                l.contains(&format!("!Ref {topic}]")) || l.contains(&format!("!Ref {topic} }}"))
            })
        };
        let mut out = Vec::new();
        if of_type(&all, "AWS::CloudWatch::Alarm").iter().any(refers) {
            out.push("cloudwatch.amazonaws.com");
        }
        if of_type(&all, "AWS::SES::ConfigurationSetEventDestination")
            .iter()
            .any(refers)
        {
            out.push("ses.amazonaws.com");
        }
        out
    };
    for (topic, block) in topics {
        let key =
            value(block, "KmsMasterKeyId").unwrap_or_else(|| panic!("{topic} is not encrypted"));
        assert!(
            !key.contains("alias/aws/"),
            "{topic} uses an AWS-managed key ({key}), which its publishers cannot use"
        );
        let key_id = key
            .strip_prefix("!Ref ")
            .unwrap_or_else(|| panic!("{topic}'s key is a key of this template: {key}"));
        let (_, key_block) = all
            .iter()
            .find(|(id, _)| id == key_id)
            .unwrap_or_else(|| panic!("{key_id} is a resource"));
        assert_eq!(value(key_block, "Type"), Some("AWS::KMS::Key"), "{key_id}");
        assert_eq!(
            value(key_block, "EnableKeyRotation"),
            Some("true"),
            "{key_id} rotates"
        );
        let publishers = publishers(topic);
        assert!(!publishers.is_empty(), "{topic} has a publisher");
        for service in publishers {
            let granted = statements(key_block).into_iter().any(|s| {
                s.contains("Effect: Allow")
                    && s.contains(service)
                    && s.contains("kms:Decrypt")
                    && s.contains("kms:GenerateDataKey*")
            });
            assert!(
                granted,
                "{key_id}'s policy lets {service} use it, so that it can publish to {topic}"
            );
        }
    }
}

#[test]
fn the_table_and_the_bucket_keep_their_data_when_the_stack_goes() {
    let all = resources();
    let kept: Vec<_> = of_type(&all, "AWS::DynamoDB::Table")
        .into_iter()
        .chain(of_type(&all, "AWS::S3::Bucket"))
        .collect();
    assert!(kept.len() >= 2);
    for (id, block) in kept {
        assert_eq!(value(block, "DeletionPolicy"), Some("Retain"), "{id}");
        assert_eq!(value(block, "UpdateReplacePolicy"), Some("Retain"), "{id}");
    }
}
