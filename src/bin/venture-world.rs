//! venture-world: generates a level and shows it (ASCII with a legend, or JSON), and can run
//! a scripted simulation to print its checksum sequence (used by the cross-process
//! determinism test), or (`--balance`) play many games with bots and print how they fared
//! (`venture::balance`).

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;
use venture::balance::{self, Policy};
use venture::flags::{Parsed, Spec, Valid};
use venture_sim::gen::GeneratorKind;
use venture_sim::script::scripted_frame;
use venture_sim::{Genre, SimConfig, Tile, World};

venture::flag_table! {
    /// `venture-world`'s flags, one row each (see `venture::flags`).
    pub struct Args {
        seed: u64 = value("seed", "SEED", "12345", Valid::Range(0, u64::MAX as i128), "world seed"),
        genre: Genre = value("genre", "GENRE", "fantasy", Valid::Parses(Genre::valid_list), "genre"),
        depth: u32 = value("depth", "N", "1", Valid::Range(1, u32::MAX as i128), "dungeon depth"),
        difficulty: String = value("difficulty", "D", "0.5",
            Valid::Check(difficulty_ok, "a number from 0.0 to 10.0, at most 3 decimals"),
            "difficulty"),
        size: String = value("size", "WxH", "100x100",
            Valid::Check(size_ok, "WxH, e.g. 100x100, each side 20 to 1024"), "map size"),
        generator: Option<String> = optional("generator", "NAME", Valid::Any,
            "force a terrain generator: bsp, caves, maze, forest, city, composite"),
        json: bool = switch("json", "print one JSON object instead of the ASCII map"),
        png: Option<std::path::PathBuf> = optional("png", "FILE", Valid::NonEmpty("a file path"),
            "also write the map as a PNG picture to this file (one colour per tile kind; markers for spawn, exit, monsters, bosses and items)"),
        png_scale: u32 = value("png-scale", "N", "6", Valid::Range(1, 16), "pixels per tile in the PNG"),
        simulate: Option<u64> = optional("simulate", "TICKS", Valid::Range(0, u64::MAX as i128),
            "run this many ticks of scripted bots and print each tick's checksum"),
        players: Option<u8> = optional("players", "N", Valid::Range(0, 64),
            "bots for -simulate (default 4) or -balance (default 1)"),
        balance: bool = switch("balance", "play seeds x the 5 genres x depths with bots and print how they fared (a table; -json for JSON lines; -png FILE for a chart)"),
        policy: Option<String> = optional("policy", "NAME", Valid::Check(policy_ok, "novice or fighter"),
            "-balance: the bot, novice (a new player) or fighter (a skilled one); default novice"),
        seeds: Option<u32> = optional("seeds", "N", Valid::Range(1, 100_000),
            "-balance: seeds per (genre, depth); default 10"),
        first_seed: Option<u64> = optional("first-seed", "S", Valid::Range(0, u64::MAX as i128),
            "-balance: the first seed; default 1"),
        depths: Option<String> = optional("depths", "A-B",
            Valid::Check(depths_ok, "a depth or a range, e.g. 3 or 1-5, from 1 to 100"),
            "-balance: starting depths; default 1-5"),
        seconds: Option<u32> = optional("seconds", "N", Valid::Range(1, 3600),
            "-balance: game time per run; default 300"),
    }
}

const SPEC: Spec = Spec {
    program: "venture-world",
    about: "Generate a Venture level and print it.",
    note: "Exit status: 0 success; 1 the PNG cannot be written; 2 on a usage error.",
};

fn size_ok(s: &str) -> bool {
    parse_size(s).is_some()
}

fn parse_size(s: &str) -> Option<(u16, u16)> {
    let (w, h) = s.split_once(['x', 'X'])?;
    Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
}

fn policy_ok(s: &str) -> bool {
    Policy::parse(s).is_ok()
}

fn depths_ok(s: &str) -> bool {
    balance::parse_depths(s).is_ok()
}

fn difficulty_ok(s: &str) -> bool {
    parse_permille(s).is_some()
}

fn main() -> ExitCode {
    let args: Args = match SPEC.parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("venture-world: {e}");
            return ExitCode::from(2);
        }
    };
    if args.balance {
        return run_balance(&args);
    }
    if let Some(flag) = balance_only_flag(&args) {
        eprintln!("venture-world: -{flag} needs -balance (run with -help for usage)");
        return ExitCode::from(2);
    }
    let config = match build_config(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("venture-world: {msg}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let world = match World::new(&config) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("venture-world: {e}");
            return ExitCode::from(2);
        }
    };
    let generation_us = started.elapsed().as_micros();
    if let Some(ticks) = args.simulate {
        simulate(world, ticks, args.players.unwrap_or(4) as usize);
        return ExitCode::SUCCESS;
    }
    if let Some(path) = &args.png {
        if let Err(e) = venture::worldpng::write_png(&world, path, args.png_scale) {
            eprintln!("venture-world: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    if args.json {
        print_json(&world, generation_us);
    } else {
        print_ascii(&world, generation_us);
    }
    ExitCode::SUCCESS
}

/// The first harness-only flag given without `-balance`, if any.
fn balance_only_flag(args: &Args) -> Option<&'static str> {
    [
        ("policy", args.policy.is_some()),
        ("seeds", args.seeds.is_some()),
        ("first-seed", args.first_seed.is_some()),
        ("depths", args.depths.is_some()),
        ("seconds", args.seconds.is_some()),
    ]
    .into_iter()
    .find_map(|(name, given)| given.then_some(name))
}

/// `-balance`: plays the games and prints the table, JSON lines and/or a chart.
fn run_balance(args: &Args) -> ExitCode {
    if args.simulate.is_some() {
        eprintln!(
            "venture-world: -balance and -simulate do not go together (run with -help for usage)"
        );
        return ExitCode::from(2);
    }
    let parsed = (|| -> Result<balance::Options, balance::BalanceError> {
        let mut opts =
            balance::Options::new(Policy::parse(args.policy.as_deref().unwrap_or("novice"))?);
        opts.depths = balance::parse_depths(args.depths.as_deref().unwrap_or("1-5"))?;
        opts.players = args.players.unwrap_or(1).max(1);
        opts.seeds = args.seeds.unwrap_or(opts.seeds);
        opts.first_seed = args.first_seed.unwrap_or(opts.first_seed);
        opts.seconds = args.seconds.unwrap_or(opts.seconds);
        Ok(opts)
    })();
    let opts = match parsed {
        Ok(o) => o,
        Err(e) => {
            eprintln!("venture-world: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let report = match balance::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("venture-world: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        print!("{}", balance::report::json_lines(&opts, &report));
    } else {
        print!("{}", balance::report::table(&opts, &report));
    }
    eprintln!(
        "venture-world: balance played {} runs in {:.1} s",
        report.cells.iter().map(|c| c.runs as u64).sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.png {
        let title = format!(
            "venture balance: {}, {} player(s), {} seeds, {} s",
            opts.policy.name(),
            opts.players,
            opts.seeds,
            opts.seconds
        );
        if let Err(e) = balance::chart::write(&report, &title, path) {
            eprintln!("venture-world: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

fn build_config(args: &Args) -> Result<SimConfig, String> {
    let genre = args.genre;
    let (w, h) = parse_size(&args.size).ok_or_else(|| {
        format!(
            "invalid --size {:?}: expected WxH, e.g. 100x100, each side 20 to 1024",
            args.size
        )
    })?;
    let difficulty_permille = parse_permille(&args.difficulty).ok_or_else(|| {
        format!(
            "invalid --difficulty {:?}: expected a number from 0.0 to 10.0",
            args.difficulty
        )
    })?;
    let generator = match &args.generator {
        None => None,
        Some(name) => Some(GeneratorKind::from_name(name).ok_or_else(|| {
            let valid: Vec<&str> = GeneratorKind::ALL.iter().map(|g| g.name()).collect();
            format!(
                "unknown generator {name:?}: valid generators are {}",
                valid.join(", ")
            )
        })?),
    };
    let config = SimConfig {
        seed: args.seed,
        genre,
        depth: args.depth,
        difficulty_permille,
        width: w,
        height: h,
        max_players: args.players.unwrap_or(4).max(1),
        generator,
        ..SimConfig::default()
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Parses a decimal like "0.5" or "2" into permille without floats (3 decimals at most).
fn parse_permille(s: &str) -> Option<u32> {
    let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if frac.len() > 3 || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    int.checked_mul(1000)?.checked_add(frac)
}

fn simulate(mut world: World, ticks: u64, players: usize) {
    for t in 1..=ticks {
        let frame = scripted_frame(world.config().seed, t, players);
        if let Err(e) = world.step(&frame) {
            eprintln!("venture-world: {e}");
            std::process::exit(1);
        }
        println!("{t} {:08x}", world.checksum());
    }
}

fn stats(world: &World) -> (usize, usize) {
    let map = world.map();
    let (sx, sy) = world.level().spawn;
    (map.walkable_count(), map.reachable_count(sx, sy))
}

fn print_ascii(world: &World, generation_us: u128) {
    let map = world.map();
    let (walkable, reachable) = stats(world);
    let mut out = String::with_capacity((map.width() as usize + 1) * map.height() as usize + 1024);
    let mut glyphs: Vec<char> = map.tiles().iter().map(|t| t.glyph()).collect();
    let w = map.width() as usize;
    let mut mark = |pos: venture_sim::Vec2, c: char| {
        let (x, y) = pos.tile();
        if let Some(g) = glyphs.get_mut(y as usize * w + x as usize) {
            *g = c;
        }
    };
    for item in world.ground_items() {
        mark(item.pos, '$');
    }
    for m in world.monsters() {
        mark(m.pos, if is_boss(world, m) { 'B' } else { 'M' });
    }
    for row in glyphs.chunks(w) {
        out.extend(row.iter());
        out.push('\n');
    }
    out.push_str("\nLegend: ");
    let used: Vec<String> = Tile::ALL
        .iter()
        .filter(|&&t| map.count(t) > 0)
        .map(|t| format!("{} {}", t.glyph(), t.name()))
        .collect();
    out.push_str(&used.join(", "));
    out.push_str(", M monster, B boss, $ item");
    let c = world.config();
    out.push_str(&format!(
        "\nseed {} genre {} depth {} generator {} size {}x{}\nrooms {} walkable {} reachable {} monsters {} bosses {} items {} generation {} us checksum {:08x}\n",
        c.seed,
        c.genre,
        c.depth,
        world.level().generator.name(),
        map.width(),
        map.height(),
        world.level().rooms.len(),
        walkable,
        reachable,
        world.monsters().len(),
        world.monsters().iter().filter(|m| is_boss(world, m)).count(),
        world.ground_items().len(),
        generation_us,
        world.checksum()
    ));
    print!("{out}");
}

fn is_boss(world: &World, m: &venture_sim::entity::Monster) -> bool {
    venture_sim::content::templates(world.config().genre)
        .get(m.template as usize)
        .is_some_and(|t| t.is_boss)
}

/// Monster counts by template name.
fn monster_names(world: &World) -> serde_json::Map<String, serde_json::Value> {
    let templates = venture_sim::content::templates(world.config().genre);
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for m in world.monsters() {
        let name = templates.get(m.template as usize).map_or("?", |t| t.name);
        *counts.entry(name).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect()
}

fn print_json(world: &World, generation_us: u128) {
    let map = world.map();
    let (walkable, reachable) = stats(world);
    let c = world.config();
    let tiles: serde_json::Map<String, serde_json::Value> = Tile::ALL
        .iter()
        .map(|&t| (t.name().to_string(), map.count(t).into()))
        .collect();
    let v = serde_json::json!({
        "seed": c.seed,
        "genre": c.genre.id(),
        "depth": c.depth,
        "generator": world.level().generator.name(),
        "width": map.width(),
        "height": map.height(),
        "rooms": world.level().rooms.len(),
        "walkable": walkable,
        "reachable": reachable,
        "spawn": [world.level().spawn.0, world.level().spawn.1],
        "exit": [world.level().exit.0, world.level().exit.1],
        "tiles": tiles,
        "monsters": world.monsters().len(),
        "bosses": world.monsters().iter().filter(|m| is_boss(world, m)).count(),
        "items": world.ground_items().len(),
        "monster_names": monster_names(world),
        "checksum": world.checksum(),
        "checksum_hex": format!("{:08x}", world.checksum()),
        "generation_us": generation_us,
    });
    println!("{v}");
}
