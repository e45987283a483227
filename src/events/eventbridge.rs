//! EventBridge (formerly CloudWatch Events): the envelope every event bus
//! event comes in, with `detail` typed by you or left as a `Value`.
//!
//! Scheduled events live here too, not behind a feature of their own: an
//! EventBridge rule on a schedule (and EventBridge Scheduler's default target
//! input) sends this envelope with `detail-type` `Scheduled Event` and an
//! empty `detail`. Use [`ScheduledEvent`] and [`EventBridgeEvent::is_scheduled`].

use alloc::string::String;
use alloc::vec::Vec;

use miniserde::json::Value;
use miniserde::{Deserialize, Serialize};

/// The `detail-type` of a scheduled event.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// An event from an event bus. `D` is the type of `detail`: a struct of yours
/// deriving `Deserialize`, or [`Value`] (the default) for any JSON.
///
/// Also `Serialize`, to build events for `PutEvents` or for tests.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventBridgeEvent<D = Value> {
    /// `version`: `0`.
    pub version: String,
    /// `id`: unique per event.
    pub id: String,
    /// `detail-type`, e.g. `EC2 Instance State-change Notification`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `source`, e.g. `aws.ec2` or your application's name.
    pub source: String,
    /// `account`.
    pub account: String,
    /// `time`, ISO 8601.
    pub time: String,
    /// `region`.
    pub region: String,
    /// `resources`: ARNs the event is about.
    pub resources: Vec<String>,
    /// `detail`.
    pub detail: D,
}

/// A scheduled event: `detail-type` `Scheduled Event`, `detail` `{}`.
pub type ScheduledEvent = EventBridgeEvent<Value>;

impl<D> EventBridgeEvent<D> {
    /// True when a schedule sent this event.
    pub fn is_scheduled(&self) -> bool {
        self.detail_type == SCHEDULED_EVENT
    }
}
