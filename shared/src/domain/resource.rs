//! What every partner-managed resource shares: an id, the partner's `spec` (what they send),
//! a version for optimistic concurrency (the API's ETag), and creation and change times; and
//! how a spec is read from JSON and changed by a merge patch. Stored by
//! [`crate::records::resource`].

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Error, Result};

/// The largest resource, as JSON: the store's item limit (400 KiB) less room for its keys,
/// index attributes and the store's own encoding.
pub const MAX_RESOURCE_BYTES: usize = 360 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource<T> {
    pub id: String,
    pub spec: T,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set from the item's version when read; not stored in the data.
    #[serde(skip)]
    pub version: u64,
}

impl<T: Serialize> Resource<T> {
    /// The resource as the API shows it: the spec's fields beside id, version and times.
    pub fn view(&self) -> Value {
        let mut view = match serde_json::to_value(&self.spec) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        view.insert("id".into(), Value::from(self.id.clone()));
        view.insert("version".into(), Value::from(self.version));
        view.insert("created_at".into(), serde_json::json!(self.created_at));
        view.insert("updated_at".into(), serde_json::json!(self.updated_at));
        Value::Object(view)
    }
}

/// Reads a spec from JSON, naming the offending field by its path (`contacts[2].email`).
pub fn parse<T: DeserializeOwned>(value: Value) -> Result<T> {
    super::input::fields(value)
}

/// The spec `current` becomes under a merge `patch`, checked like a new one.
pub fn patched<T: Serialize + DeserializeOwned>(current: &T, patch: &Value) -> Result<T> {
    if !patch.is_object() {
        return Err(Error::invalid("body", "a merge patch is a JSON object"));
    }
    let mut doc =
        serde_json::to_value(current).map_err(|e| Error::invalid("body", e.to_string()))?;
    merge_patch(&mut doc, patch);
    parse(doc)
}

/// RFC 7396 JSON merge patch: objects merge key by key, `null` removes, anything else replaces.
pub use json_patch::merge as merge_patch;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "keep": [1]});
        merge_patch(
            &mut doc,
            &json!({"a": "z", "c": {"f": null}, "new": {"x": 1}}),
        );
        assert_eq!(
            doc,
            json!({"a": "z", "c": {"d": "e"}, "keep": [1], "new": {"x": 1}})
        );
        merge_patch(&mut doc, &json!({"keep": [2, 3]}));
        assert_eq!(doc["keep"], json!([2, 3]));
    }
}
