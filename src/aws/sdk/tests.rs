use super::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_REGION", "eu-west-1"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
];

fn env(extra: &[(&str, &str)]) -> SdkEnv {
    SdkEnv::from_vars(CREDENTIALS.iter().chain(extra).copied())
}

fn endpoint(env: &SdkEnv, service_id: &str) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id(service_id)
        .env(ENDPOINT_URL)
        .profile("endpoint_url")
        .build()
        .expect("a complete key");
    env.endpoint_urls().expect("valid flags").load_config(key)
}

#[test]
fn the_embedded_roots_are_the_five_amazon_trust_services_certificates() {
    let certificates = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS)
        .collect::<Result<Vec<_>, _>>()
        .expect("valid PEM");
    assert_eq!(certificates.len(), 5);
}

#[test]
fn reads_region_and_credentials_as_lambda_sets_them() {
    let config = env(&[("AWS_SESSION_TOKEN", "token")])
        .sdk_config()
        .expect("complete")
        .build();
    assert_eq!(config.region().map(Region::as_ref), Some("eu-west-1"));
    assert!(config.credentials_provider().is_some());
    assert!(config.http_client().is_some());
    assert_eq!(config.use_fips(), None);
}

#[test]
fn falls_back_to_aws_default_region() {
    let env = SdkEnv::from_vars([
        ("AWS_DEFAULT_REGION", "us-west-2"),
        ("AWS_ACCESS_KEY_ID", "a"),
        ("AWS_SECRET_ACCESS_KEY", "b"),
    ]);
    let config = env.sdk_config().expect("complete").build();
    assert_eq!(config.region().map(Region::as_ref), Some("us-west-2"));
}

#[test]
fn names_what_is_missing() {
    let missing_region = SdkEnv::from_vars([("AWS_ACCESS_KEY_ID", "a")]).sdk_config();
    assert!(matches!(missing_region, Err(SdkEnvError::MissingRegion)));
    let missing_secret =
        SdkEnv::from_vars([("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "a")]).sdk_config();
    let error = missing_secret.expect_err("no secret key");
    assert!(error
        .to_string()
        .starts_with("AWS_SECRET_ACCESS_KEY is not set"));
    let empty_key = env(&[("AWS_ACCESS_KEY_ID", "")]).sdk_config();
    assert!(matches!(
        empty_key,
        Err(SdkEnvError::MissingCredentials("AWS_ACCESS_KEY_ID"))
    ));
}

#[test]
fn reads_fips_and_dual_stack_and_refuses_other_words() {
    let config = env(&[
        ("AWS_USE_FIPS_ENDPOINT", "true"),
        ("AWS_USE_DUALSTACK_ENDPOINT", "FALSE"),
    ])
    .sdk_config()
    .expect("valid")
    .build();
    assert_eq!(config.use_fips(), Some(true));
    assert_eq!(config.use_dual_stack(), Some(false));
    let error = env(&[("AWS_USE_FIPS_ENDPOINT", "yes")])
        .sdk_config()
        .expect_err("not a boolean");
    assert_eq!(
        error.to_string(),
        r#"AWS_USE_FIPS_ENDPOINT must be true or false, not "yes""#
    );
}

#[test]
fn a_service_endpoint_overrides_the_global_one() {
    let env = env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("AWS_ENDPOINT_URL_CODECOMMIT", "http://127.0.0.1:6000"),
    ]);
    assert_eq!(
        endpoint(&env, "CodeCommit").as_deref(),
        Some("http://127.0.0.1:6000")
    );
    assert_eq!(
        endpoint(&env, "CodeBuild").as_deref(),
        Some("http://127.0.0.1:5000")
    );
    assert_eq!(endpoint(&self::env(&[]), "CodeBuild"), None);
}

#[test]
fn service_ids_with_spaces_use_underscores() {
    let env = env(&[("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm")]);
    assert_eq!(
        endpoint(&env, "Secrets Manager").as_deref(),
        Some("http://sm")
    );
}

#[test]
fn configured_endpoints_can_be_ignored() {
    let env = env(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
    ]);
    assert_eq!(endpoint(&env, "CodeBuild"), None);
}

#[test]
fn trusts_the_embedded_roots_unless_an_endpoint_may_not_chain_to_them() {
    assert_eq!(env(&[]).roots(), Roots::AmazonTrustServices);
    assert_eq!(
        env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")]).roots(),
        Roots::AmazonTrustServices
    );
    assert_eq!(
        env(&[("AWS_ENDPOINT_URL_CODEBUILD", "https://proxy.internal")]).roots(),
        Roots::System
    );
    assert_eq!(
        env(&[
            ("AWS_ENDPOINT_URL_CODEBUILD", "https://proxy.internal"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ])
        .roots(),
        Roots::AmazonTrustServices
    );
    assert_eq!(env(&[("AWS_REGION", "cn-north-1")]).roots(), Roots::System);
    assert_eq!(
        env(&[("SSL_CERT_FILE", "/etc/pki/tls/certs/ca-bundle.crt")]).roots(),
        Roots::System
    );
}
