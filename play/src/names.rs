//! Small lookups shared by the narrator and the screens of both clients.

use venture_sim::player::EntityId;
use venture_sim::World;

/// The name of ground item `id`, or "an item" when it is gone.
pub fn item_name(world: &World, id: EntityId) -> String {
    world
        .ground_items()
        .iter()
        .find(|g| g.id == id)
        .map_or_else(|| "an item".to_string(), |g| g.item.name.clone())
}
