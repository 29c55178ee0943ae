//! What an Agones allocation asks of the world (pure): a GameServer object from
//! `GET /watch/gameserver` either is not allocated yet, or is, and then its annotations
//! `venture.dev/seed` and `venture.dev/genre` (set by the `GameServerAllocation`'s
//! `spec.metadata.annotations`) choose the world. Either may be absent: the flags or their
//! defaults hold. A value that does not parse is reported and the flag's value is used, so
//! a typo in an allocation request never leaves a fleet server without a world.

use std::collections::BTreeMap;

use serde_json::Value;
use venture_sim::Genre;

/// The annotation that chooses the seed (a decimal integer, `i64`).
pub const SEED_ANNOTATION: &str = "venture.dev/seed";
/// The annotation that chooses the genre (`fantasy`, `scifi`, ...).
pub const GENRE_ANNOTATION: &str = "venture.dev/genre";

/// A GameServer seen Allocated, with its annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation {
    pub annotations: BTreeMap<String, String>,
}

/// The world an allocation chose, from its annotations and the flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldChoice {
    /// `Some` when the allocation set a valid seed.
    pub seed: Option<i64>,
    /// `Some` when the allocation set a valid genre.
    pub genre: Option<Genre>,
    /// Annotations that were present but invalid, one sentence each.
    pub errors: Vec<String>,
}

impl Allocation {
    /// `Some` when `game_server` (the SDK's GameServer JSON) is in state `Allocated`.
    pub fn from_game_server(game_server: &Value) -> Option<Allocation> {
        if game_server["status"]["state"].as_str() != Some("Allocated") {
            return None;
        }
        let annotations = game_server["object_meta"]["annotations"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Some(Allocation { annotations })
    }

    /// The seed and genre the annotations choose.
    pub fn world_choice(&self) -> WorldChoice {
        let mut errors = Vec::new();
        let seed = self.annotations.get(SEED_ANNOTATION).and_then(|raw| {
            raw.trim()
                .parse::<i64>()
                .map_err(|_| {
                    errors.push(format!(
                        "annotation {SEED_ANNOTATION} {raw:?} is not an integer from {} to {}",
                        i64::MIN,
                        i64::MAX
                    ))
                })
                .ok()
        });
        let genre = self.annotations.get(GENRE_ANNOTATION).and_then(|raw| {
            raw.parse::<Genre>()
                .map_err(|e| errors.push(format!("annotation {GENRE_ANNOTATION}: {e}")))
                .ok()
        });
        WorldChoice {
            seed,
            genre,
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gs(state: &str, annotations: Value) -> Value {
        json!({"object_meta": {"name": "gs-1", "annotations": annotations}, "status": {"state": state}})
    }

    #[test]
    fn only_an_allocated_game_server_is_an_allocation() {
        for state in ["Scheduled", "RequestReady", "Ready", "Reserved", "Shutdown"] {
            assert_eq!(Allocation::from_game_server(&gs(state, json!({}))), None);
        }
        assert_eq!(Allocation::from_game_server(&json!({})), None);
        let a = Allocation::from_game_server(&gs("Allocated", json!({"a": "b"}))).unwrap();
        assert_eq!(a.annotations["a"], "b");
        // No annotations at all is still an allocation.
        let bare = json!({"status": {"state": "Allocated"}});
        assert_eq!(
            Allocation::from_game_server(&bare),
            Some(Allocation::default())
        );
    }

    #[test]
    fn annotations_choose_the_world_and_bad_values_are_reported() {
        let choice = |ann: Value| {
            Allocation::from_game_server(&gs("Allocated", ann))
                .unwrap()
                .world_choice()
        };
        let c = choice(json!({"venture.dev/seed": "424242", "venture.dev/genre": "SciFi"}));
        assert_eq!((c.seed, c.genre), (Some(424242), Some(Genre::Scifi)));
        assert!(c.errors.is_empty());
        let c = choice(json!({"venture.dev/seed": "-7"}));
        assert_eq!((c.seed, c.genre), (Some(-7), None));
        let c = choice(json!({}));
        assert_eq!((c.seed, c.genre, c.errors.len()), (None, None, 0));
        let c = choice(json!({"venture.dev/seed": "twelve", "venture.dev/genre": "western"}));
        assert_eq!((c.seed, c.genre), (None, None));
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert!(
            c.errors[0].contains("venture.dev/seed \"twelve\""),
            "{:?}",
            c.errors
        );
        assert!(c.errors[1].contains("western"), "{:?}", c.errors);
    }
}
