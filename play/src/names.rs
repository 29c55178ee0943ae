//! Small lookups and texts shared by the narrator and the screens of both clients.

use venture_sim::player::EntityId;
use venture_sim::status::StatusKind;
use venture_sim::World;

/// The name of ground item `id`, or "an item" when it is gone.
pub fn item_name(world: &World, id: EntityId) -> String {
    world
        .ground_items()
        .iter()
        .find(|g| g.id == id)
        .map_or_else(|| "an item".to_string(), |g| g.item.name.clone())
}

/// `ticks` at `rate` Hz as seconds with one decimal, rounded up (`0.8s`): cooldowns,
/// effects, respawns.
pub fn seconds(ticks: u32, rate: u32) -> String {
    let tenths = (u64::from(ticks) * 10).div_ceil(u64::from(rate.max(1)));
    format!("{}.{}s", tenths / 10, tenths % 10)
}

/// A status effect's name on screen.
pub fn status_name(k: StatusKind) -> &'static str {
    match k {
        StatusKind::Burning => "Burning",
        StatusKind::Poison => "Poisoned",
        StatusKind::Regeneration => "Regen",
        StatusKind::Strength => "Strength",
        StatusKind::Weakness => "Weakness",
        StatusKind::Fortify => "Fortify",
        StatusKind::Vulnerability => "Vulnerable",
    }
}
