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

/// The outputs' names and blocks.
fn outputs() -> Vec<(String, Vec<String>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in template.lines().skip_while(|l| *l != "Outputs:").skip(1) {
        if !line.is_empty() && !line.starts_with(' ') {
            break;
        }
        if line.len() - line.trim_start().len() == 2 && line.trim().ends_with(':') {
            out.push((line.trim().trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some((_, block)) = out.last_mut() {
            block.push(line.to_string());
        }
    }
    out
}

/// Mail that arrives: the identity is the stack's, signs with DKIM, bounces to its own MAIL FROM,
/// and the DNS records to publish are in the outputs; the send rate starts at the sandbox's.
#[test]
fn the_stack_makes_the_mail_identity_and_says_what_to_publish() {
    let all = resources();
    let identities = of_type(&all, "AWS::SES::EmailIdentity");
    assert_eq!(identities.len(), 1, "one SES identity");
    let (id, block) = identities[0];
    assert_eq!(value(block, "EmailIdentity"), Some("!Ref MailDomain"));
    assert_eq!(
        value(block, "Condition"),
        Some("ManagesMailIdentity"),
        "optional"
    );
    let text = block.join("\n");
    for wanted in [
        "SigningEnabled: true",
        "NextSigningKeyLength: RSA_2048_BIT",
        "MailFromDomain: !Sub \"mail.${MailDomain}\"",
        "ConfigurationSetName: !Ref MailConfigurationSet",
    ] {
        assert!(text.contains(wanted), "{id}: {wanted}");
    }
    let outputs = outputs();
    let output = |name: &str| {
        outputs
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("output {name}"))
            .1
            .join("\n")
    };
    let dkim = output("MailDkimRecords");
    for i in 1..=3 {
        assert!(
            dkim.contains(&format!("${{MailIdentity.DkimDNSTokenName{i}}} CNAME ${{MailIdentity.DkimDNSTokenValue{i}}}")),
            "DKIM record {i}"
        );
    }
    let mail_from = output("MailFromRecords");
    assert!(mail_from.contains("MX 10 feedback-smtp.${AWS::Region}.amazonses.com"));
    assert!(mail_from.contains("v=spf1 include:amazonses.com ~all"));
    assert!(output("MailDmarcRecord").contains("_dmarc.${MailDomain} TXT \"v=DMARC1; p=none"));
    // Until SES grants production access, the account sends 1 message a second.
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
    )
    .unwrap();
    let rate = template
        .split("\n  SesMaxSendRate:\n")
        .nth(1)
        .and_then(|rest| {
            rest.lines()
                .find_map(|l| l.trim().strip_prefix("Default: "))
        })
        .expect("SesMaxSendRate has a default");
    assert_eq!(rate, "1", "the sandbox's rate unless set");
}

/// A domain: with DomainName and CertificateArn the API is served there, and the links in mail
/// start with it unless PublicUrl says otherwise; every function is told the same URL.
#[test]
fn a_custom_domain_serves_the_api_and_becomes_the_public_url() {
    let all = resources();
    let domains = of_type(&all, "AWS::ApiGatewayV2::DomainName");
    assert_eq!(domains.len(), 1);
    let (_, domain) = domains[0];
    assert_eq!(value(domain, "Condition"), Some("HasCustomDomain"));
    assert_eq!(value(domain, "DomainName"), Some("!Ref DomainName"));
    assert_eq!(value(domain, "CertificateArn"), Some("!Ref CertificateArn"));
    assert_eq!(value(domain, "SecurityPolicy"), Some("TLS_1_2"));
    let mappings = of_type(&all, "AWS::ApiGatewayV2::ApiMapping");
    assert_eq!(mappings.len(), 1);
    let (_, mapping) = mappings[0];
    assert_eq!(value(mapping, "ApiId"), Some("!Ref Api"));
    assert_eq!(value(mapping, "DomainName"), Some("!Ref ApiDomain"));
    let expected = r#"!If [HasPublicUrl, !Ref PublicUrl, !If [HasCustomDomain, !Sub "https://${DomainName}", ""]]"#;
    let mut told = 0;
    for (id, block) in of_type(&all, "AWS::Serverless::Function") {
        if let Some(url) = value(block, "GATEHOUSE_PUBLIC_URL") {
            assert_eq!(url, expected, "{id}");
            told += 1;
        }
    }
    assert!(told >= 12, "the functions that make links: {told}");
}
