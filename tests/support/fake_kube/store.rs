//! The fake's objects, stored as JSON by (group, resource, namespace, name), with one
//! resource version counter for the whole store (etcd's revision) and a log of every
//! change for watches.
//!
//! Writes through these methods are what a controller does: the object is stored as
//! given (status included), with a new `resourceVersion`; no generation rule applies.

use super::patch::merge_patch;
use super::resources::{self, Generation, ResourceType};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

type Key = (&'static str, &'static str, String, String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub revision: u64,
    pub kind: EventType,
    pub resource: &'static ResourceType,
    pub namespace: String,
    /// Before the change (`None` when added).
    pub old: Option<Value>,
    /// After the change; for a deletion, the last state with the deletion's revision.
    pub new: Value,
}

#[derive(Default)]
pub struct Store {
    objects: BTreeMap<Key, Value>,
    revision: u64,
    uids: u64,
    pub(crate) events: Vec<Event>,
}

/// The resource a test names (`rollouts`, `rollout`, `ro`, `Rollout`,
/// `rollouts.argoproj.io`); a name the fake does not serve is a mistake in the test.
pub fn resource(name: &str) -> &'static ResourceType {
    resources::lookup(name)
        .unwrap_or_else(|| panic!("the fake API server serves no resource called {name:?}"))
}

fn key(rt: &'static ResourceType, namespace: &str, name: &str) -> Key {
    (
        rt.group,
        rt.resource,
        namespace.to_string(),
        name.to_string(),
    )
}

/// RFC 3339 in UTC, as Kubernetes writes timestamps.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Store {
    /// The store's current revision: the `resourceVersion` of the last write.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn get(&self, resource_name: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&key(resource(resource_name), namespace, name))
    }

    pub(crate) fn get_typed(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
    ) -> Option<&Value> {
        self.objects.get(&key(rt, namespace, name))
    }

    /// Every object of a resource, in a namespace (`""`: all namespaces), by name.
    pub fn list(&self, resource_name: &str, namespace: &str) -> Vec<&Value> {
        self.list_typed(resource(resource_name), namespace)
    }

    pub(crate) fn list_typed(&self, rt: &'static ResourceType, namespace: &str) -> Vec<&Value> {
        self.objects
            .iter()
            .filter(|((g, r, ns, _), _)| {
                *g == rt.group && *r == rt.resource && (namespace.is_empty() || ns == namespace)
            })
            .map(|(_, v)| v)
            .collect()
    }

    /// The namespaces that hold an object.
    pub fn namespaces(&self) -> std::collections::BTreeSet<String> {
        self.objects
            .keys()
            .map(|(_, _, ns, _)| ns.clone())
            .collect()
    }

    /// Stores a manifest as it is (status included), as if it had been created earlier:
    /// the resource comes from `apiVersion` and `kind`, the namespace from
    /// `metadata.namespace` (`default` when absent). Fills in what the API server sets
    /// on create (uid, creationTimestamp, generation 1 where the kind has one) unless
    /// given, and a new resourceVersion. Replaces an object of the same name.
    pub fn put(&mut self, manifest: Value) -> Value {
        let api_version = manifest["apiVersion"].as_str().unwrap_or_default();
        let kind = manifest["kind"].as_str().unwrap_or_default();
        let rt = resources::by_kind(api_version, kind)
            .unwrap_or_else(|| panic!("the fake API server serves no {kind} in {api_version:?}"));
        let mut obj = manifest;
        if obj["metadata"]["namespace"].as_str().is_none() {
            obj["metadata"]["namespace"] = json!("default");
        }
        let namespace = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("a manifest to store needs metadata.name"))
            .to_string();
        self.fill_create_fields(rt, &mut obj);
        self.write(rt, &namespace, &name, Some(obj))
            .unwrap_or(Value::Null)
    }

    /// What the API server sets on every new object.
    pub(crate) fn fill_create_fields(&mut self, rt: &ResourceType, obj: &mut Value) {
        if obj["metadata"]["uid"].as_str().is_none() {
            self.uids += 1;
            obj["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", self.uids));
        }
        if obj["metadata"]["creationTimestamp"].as_str().is_none() {
            obj["metadata"]["creationTimestamp"] = json!(now_rfc3339());
        }
        if rt.generation != Generation::None && obj["metadata"]["generation"].as_u64().is_none() {
            obj["metadata"]["generation"] = json!(1);
        }
    }

    /// Changes a stored object in place, like a controller; returns false when there is
    /// no such object. A change bumps its resourceVersion; no change, no write.
    pub fn update(
        &mut self,
        resource_name: &str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> bool {
        let rt = resource(resource_name);
        let Some(old) = self.get_typed(rt, namespace, name) else {
            return false;
        };
        let mut new = old.clone();
        change(&mut new);
        self.write(rt, namespace, name, Some(new));
        true
    }

    /// Applies a JSON merge patch to a stored object, like a controller (status and all).
    pub fn merge(
        &mut self,
        resource_name: &str,
        namespace: &str,
        name: &str,
        patch: Value,
    ) -> bool {
        self.update(resource_name, namespace, name, |obj| {
            merge_patch(obj, &patch)
        })
    }

    pub fn delete(&mut self, resource_name: &str, namespace: &str, name: &str) -> Option<Value> {
        let rt = resource(resource_name);
        self.remove(rt, namespace, name)
    }

    pub(crate) fn remove(
        &mut self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
    ) -> Option<Value> {
        let old = self.objects.get(&key(rt, namespace, name))?.clone();
        self.write(rt, namespace, name, None);
        Some(old)
    }

    /// Stores `new` (or deletes, for `None`) with the next revision and logs the event.
    /// A write that changes nothing is skipped, as the API server skips it (etcd keeps
    /// the object and its resourceVersion). Returns the stored object.
    pub(crate) fn write(
        &mut self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
        new: Option<Value>,
    ) -> Option<Value> {
        let k = key(rt, namespace, name);
        let old = self.objects.get(&k).cloned();
        match new {
            Some(mut obj) => {
                if let Some(old) = &old {
                    let mut same = obj.clone();
                    same["metadata"]["resourceVersion"] =
                        old["metadata"]["resourceVersion"].clone();
                    if &same == old {
                        return Some(old.clone());
                    }
                }
                self.revision += 1;
                obj["metadata"]["resourceVersion"] = json!(self.revision.to_string());
                self.objects.insert(k, obj.clone());
                self.events.push(Event {
                    revision: self.revision,
                    kind: if old.is_some() {
                        EventType::Modified
                    } else {
                        EventType::Added
                    },
                    resource: rt,
                    namespace: namespace.to_string(),
                    old,
                    new: obj.clone(),
                });
                Some(obj)
            }
            None => {
                let mut last = old?;
                self.objects.remove(&k);
                self.revision += 1;
                last["metadata"]["resourceVersion"] = json!(self.revision.to_string());
                self.events.push(Event {
                    revision: self.revision,
                    kind: EventType::Deleted,
                    resource: rt,
                    namespace: namespace.to_string(),
                    old: None,
                    new: last,
                });
                None
            }
        }
    }

    /// Events after `revision`.
    pub(crate) fn events_after(&self, revision: u64) -> &[Event] {
        let start = self.events.partition_point(|e| e.revision <= revision);
        &self.events[start..]
    }
}
