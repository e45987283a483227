//! S3 event notifications: objects created, removed, restored, replicated,
//! tagged, in a bucket that notifies the function.

use alloc::string::String;
use alloc::vec::Vec;

use miniserde::Deserialize;

/// The event. S3 sends one record per event today, in a `Records` array.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Event {
    /// `Records`.
    #[serde(rename = "Records")]
    pub records: Vec<S3EventRecord>,
}

/// One notification.
#[derive(Debug, Clone, Deserialize)]
pub struct S3EventRecord {
    /// `eventVersion`, e.g. `2.1`.
    #[serde(rename = "eventVersion")]
    pub event_version: String,
    /// `eventSource`: `aws:s3`.
    #[serde(rename = "eventSource")]
    pub event_source: String,
    /// `awsRegion`.
    #[serde(rename = "awsRegion")]
    pub aws_region: String,
    /// `eventTime`, ISO 8601.
    #[serde(rename = "eventTime")]
    pub event_time: String,
    /// `eventName`, e.g. `ObjectCreated:Put`, `ObjectRemoved:Delete`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    /// `userIdentity`: who caused it.
    #[serde(rename = "userIdentity")]
    pub user_identity: Option<S3UserIdentity>,
    /// `requestParameters`.
    #[serde(rename = "requestParameters")]
    pub request_parameters: Option<S3RequestParameters>,
    /// `responseElements`: S3's request ids, for AWS support.
    #[serde(rename = "responseElements")]
    pub response_elements: Option<S3ResponseElements>,
    /// `s3`: the bucket and the object.
    pub s3: S3Entity,
}

/// `userIdentity`.
#[derive(Debug, Clone, Deserialize)]
pub struct S3UserIdentity {
    /// `principalId`.
    #[serde(rename = "principalId")]
    pub principal_id: String,
}

/// `requestParameters`.
#[derive(Debug, Clone, Deserialize)]
pub struct S3RequestParameters {
    /// `sourceIPAddress`.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
}

/// `responseElements`.
#[derive(Debug, Clone, Deserialize)]
pub struct S3ResponseElements {
    /// `x-amz-request-id`.
    #[serde(rename = "x-amz-request-id")]
    pub x_amz_request_id: Option<String>,
    /// `x-amz-id-2`.
    #[serde(rename = "x-amz-id-2")]
    pub x_amz_id_2: Option<String>,
}

/// `s3`.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    /// `s3SchemaVersion`.
    #[serde(rename = "s3SchemaVersion")]
    pub schema_version: String,
    /// `configurationId`: the notification configuration's name.
    #[serde(rename = "configurationId")]
    pub configuration_id: String,
    /// `bucket`.
    pub bucket: S3Bucket,
    /// `object`.
    pub object: S3Object,
}

/// `s3.bucket`.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Bucket {
    /// `name`.
    pub name: String,
    /// `ownerIdentity`.
    #[serde(rename = "ownerIdentity")]
    pub owner_identity: Option<S3UserIdentity>,
    /// `arn`.
    pub arn: String,
}

/// `s3.object`.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Object {
    /// `key`: URL-encoded as S3 sends it (`+` for a space); see
    /// [`S3Object::decoded_key`].
    pub key: String,
    /// `size` in bytes; absent for removals.
    pub size: Option<u64>,
    /// `eTag`; absent for removals.
    #[serde(rename = "eTag")]
    pub e_tag: Option<String>,
    /// `versionId`, in a versioned bucket.
    #[serde(rename = "versionId")]
    pub version_id: Option<String>,
    /// `sequencer`: orders events for the same key.
    pub sequencer: String,
}

impl S3Object {
    /// The key as stored in the bucket, to pass to `GetObject`: S3 sends it
    /// form-encoded (`%2F` for `/`, `+` for a space).
    pub fn decoded_key(&self) -> String {
        super::percent_decode(&self.key, true)
    }
}
