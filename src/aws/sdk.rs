//! The AWS SDK's configuration, read from the environment as Lambda sets it.
//!
//! The SDK's own loader (`aws-config`) walks a chain of sources (profile
//! files, SSO, web identity, container and instance metadata) and its default
//! HTTPS client reads every certificate in the system's store. Under Lambda
//! the region and the role's credentials are environment variables and every
//! endpoint is an AWS one, so the function reads just those variables and
//! trusts the Amazon Trust Services roots that AWS endpoints chain to: a
//! cold start does no file or network I/O before its first request.
//!
//! Variables read, with the SDK's meaning: `AWS_REGION` (else
//! `AWS_DEFAULT_REGION`); `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`; `AWS_ENDPOINT_URL_<SERVICE>` (`CODEBUILD`,
//! `CODECOMMIT`, ...) else `AWS_ENDPOINT_URL`, unless
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`; `AWS_USE_FIPS_ENDPOINT` and
//! `AWS_USE_DUALSTACK_ENDPOINT`. The system's certificate store is used
//! instead of the embedded roots where they may not suffice: in the China
//! regions, with an `https` endpoint override, or when `SSL_CERT_FILE` or
//! `SSL_CERT_DIR` names one.

use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::HttpClientError;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::region::Region;
use aws_types::sdk_config::{self, SdkConfig, SharedCredentialsProvider, SharedHttpClient};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use std::collections::HashMap;
use thiserror::Error;

/// Amazon Root CA 1-4 and the Starfield Services Root CA G2 that
/// cross-signs them: the roots of every AWS endpoint's certificate outside
/// the China regions.
const AMAZON_TRUST_SERVICES_ROOTS: &[u8] = include_bytes!("sdk/amazon-trust-services.pem");

/// The variable that names the endpoint of every service, and the prefix of
/// the per-service ones.
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// What is wrong with the SDK's variables.
#[derive(Debug, Error)]
pub enum SdkEnvError {
    /// Neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
    #[error("AWS_REGION is not set (nor AWS_DEFAULT_REGION): it names the region of the AWS APIs to call")]
    MissingRegion,
    /// Credentials are incomplete or absent.
    #[error("{0} is not set: the credentials are read from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, as Lambda sets them")]
    MissingCredentials(&'static str),
    /// A boolean variable holds something else.
    #[error("{name} must be true or false, not {value:?}")]
    NotABoolean {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The HTTPS client could not be configured.
    #[error("cannot configure the HTTPS client: {0}")]
    Tls(#[from] HttpClientError),
}

/// The root certificates the HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The Amazon Trust Services roots, embedded in the binary.
    AmazonTrustServices,
    /// The system's certificate store, read when the first client connects.
    System,
}

/// The SDK's variables of one environment: those named `AWS_*` and
/// `SSL_CERT_*`.
#[derive(Debug, Clone, Default)]
pub struct SdkEnv {
    vars: HashMap<String, String>,
}

impl SdkEnv {
    /// The process's environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// The relevant variables of `vars` (the last value of a name counts);
    /// empty values count as unset.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .filter(|(name, _)| name.starts_with("AWS_") || name.starts_with("SSL_CERT_"))
            .collect();
        vars.retain(|_, value| !value.is_empty());
        Self { vars }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    fn flag(&self, name: &'static str) -> Result<Option<bool>, SdkEnvError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(value) => Err(SdkEnvError::NotABoolean {
                name,
                value: value.to_owned(),
            }),
        }
    }

    fn region(&self) -> Option<&str> {
        self.get("AWS_REGION")
            .or_else(|| self.get("AWS_DEFAULT_REGION"))
    }

    /// The endpoint URLs the environment configures, unless told to ignore them.
    fn endpoint_urls(&self) -> Result<EndpointUrls, SdkEnvError> {
        if self.flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")? == Some(true) {
            return Ok(EndpointUrls::default());
        }
        let urls = self
            .vars
            .iter()
            .filter(|(name, _)| name.starts_with(ENDPOINT_URL))
            .map(|(name, url)| (name.clone(), url.clone()))
            .collect();
        Ok(EndpointUrls { urls })
    }

    /// The roots to trust: the embedded ones unless an endpoint may not
    /// chain to them or the system's store is named explicitly.
    pub fn roots(&self) -> Roots {
        let china = self
            .region()
            .is_some_and(|region| region.starts_with("cn-"));
        // An invalid AWS_IGNORE_CONFIGURED_ENDPOINT_URLS fails `sdk_config`.
        let https_override = self
            .endpoint_urls()
            .is_ok_and(|endpoints| endpoints.urls.values().any(|url| url.starts_with("https:")));
        let named_store = self.get("SSL_CERT_FILE").is_some() || self.get("SSL_CERT_DIR").is_some();
        if china || https_override || named_store {
            Roots::System
        } else {
            Roots::AmazonTrustServices
        }
    }

    /// A configuration builder with the region, credentials, endpoints and
    /// HTTPS client of this environment; retries and timeouts are left to
    /// the caller.
    pub fn sdk_config(&self) -> Result<sdk_config::Builder, SdkEnvError> {
        let region = self.region().ok_or(SdkEnvError::MissingRegion)?;
        let access_key = self
            .get("AWS_ACCESS_KEY_ID")
            .ok_or(SdkEnvError::MissingCredentials("AWS_ACCESS_KEY_ID"))?;
        let secret_key = self
            .get("AWS_SECRET_ACCESS_KEY")
            .ok_or(SdkEnvError::MissingCredentials("AWS_SECRET_ACCESS_KEY"))?;
        let credentials = Credentials::new(
            access_key,
            secret_key,
            self.get("AWS_SESSION_TOKEN").map(str::to_owned),
            None,
            "environment",
        );
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .http_client(https_client(self.roots())?)
            .sleep_impl(TokioSleep::new())
            .time_source(SystemTimeSource::new())
            .service_config(self.endpoint_urls()?);
        builder.set_use_fips(self.flag("AWS_USE_FIPS_ENDPOINT")?);
        builder.set_use_dual_stack(self.flag("AWS_USE_DUALSTACK_ENDPOINT")?);
        Ok(builder)
    }
}

/// The SDK's HTTPS client on rustls and ring, trusting `roots`.
pub fn https_client(roots: Roots) -> Result<SharedHttpClient, SdkEnvError> {
    let trust_store = match roots {
        Roots::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS)
        }
        Roots::System => TrustStore::default(),
    };
    let tls = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https())
}

/// `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL`, as each client asks
/// for its service's endpoint.
#[derive(Debug, Clone, Default)]
struct EndpointUrls {
    urls: HashMap<String, String>,
}

impl LoadServiceConfig for EndpointUrls {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != ENDPOINT_URL {
            return None;
        }
        // The SDK's rule: the service id upper-cased, spaces as underscores.
        let service = key.service_id().to_uppercase().replace(' ', "_");
        self.urls
            .get(&format!("{ENDPOINT_URL}_{service}"))
            .or_else(|| self.urls.get(ENDPOINT_URL))
            .cloned()
    }
}

#[cfg(test)]
mod tests;
