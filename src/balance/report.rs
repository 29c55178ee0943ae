//! The harness's output: a text table (one row per cell, then one per depth for every
//! genre together) or JSON lines (one object per cell, the same fields).

use super::{Cell, Options, Report};

fn genre_name(c: &Cell) -> &'static str {
    c.genre.map_or("all", |g| g.id())
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Rounds a share or a ratio for printing, so JSON carries no float noise.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The table `venture-world --balance` prints.
pub fn table(opts: &Options, report: &Report) -> String {
    let mut out = format!(
        "balance: policy {}, {} player(s), seeds {}..{}, {} s per run\n",
        opts.policy.name(),
        opts.players,
        opts.first_seed,
        opts.first_seed
            .saturating_add(opts.seeds as u64)
            .saturating_sub(1),
        opts.seconds
    );
    out.push_str(&format!(
        "{:<10} {:>5} {:>5} {:>9} {:>10} {:>11} {:>10} {:>6} {:>7} {:>8}\n",
        "genre",
        "depth",
        "runs",
        "alive_60s",
        "alive_300s",
        "first_death",
        "kills/life",
        "level",
        "stairs",
        "cleared"
    ));
    for c in report.cells.iter().chain(&report.overall) {
        out.push_str(&format!(
            "{:<10} {:>5} {:>5} {:>9} {:>10} {:>10}s {:>10.2} {:>6} {:>7} {:>8}\n",
            genre_name(c),
            c.depth,
            c.runs,
            pct(c.alive_60s),
            pct(c.alive_300s),
            c.median_first_death_s,
            c.kills_per_life,
            c.median_level_300s,
            pct(c.reached_stairs),
            pct(c.cleared),
        ));
    }
    out
}

/// One JSON object per cell (genre "all" for the per-depth rows), one per line.
pub fn json_lines(opts: &Options, report: &Report) -> String {
    let mut out = String::new();
    for c in report.cells.iter().chain(&report.overall) {
        let v = serde_json::json!({
            "policy": opts.policy.name(),
            "players": opts.players,
            "seconds": opts.seconds,
            "genre": genre_name(c),
            "depth": c.depth,
            "runs": c.runs,
            "alive_60s": round3(c.alive_60s),
            "alive_300s": round3(c.alive_300s),
            "median_first_death_s": c.median_first_death_s,
            "kills_per_life": round3(c.kills_per_life),
            "median_level_300s": c.median_level_300s,
            "reached_stairs": round3(c.reached_stairs),
            "cleared": round3(c.cleared),
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}
