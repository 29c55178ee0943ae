//! A level as a PNG picture for designers: one colour per tile kind, scaled up, with
//! markers for the spawn (green), the exit (white), monsters (red), bosses (large magenta)
//! and items on the ground (yellow).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use venture_sim::{Tile, Vec2, World};

fn colour(t: Tile) -> [u8; 3] {
    match t {
        Tile::Wall => [40, 40, 48],
        Tile::Floor => [150, 140, 120],
        Tile::Corridor => [120, 112, 96],
        Tile::Door => [150, 90, 40],
        Tile::ShallowWater => [90, 150, 210],
        Tile::DeepWater => [30, 70, 160],
        Tile::Tree => [40, 120, 50],
        Tile::StairsUp => [60, 220, 90],
        Tile::StairsDown => [250, 250, 250],
        Tile::TrapDoor => [180, 60, 60],
        Tile::SecretDoor => [120, 80, 140],
        Tile::Bridge => [170, 120, 70],
        Tile::Lava => [240, 100, 20],
        Tile::Pit => [10, 10, 10],
    }
}

struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn fill(&mut self, x0: i64, y0: i64, size: i64, c: [u8; 3]) {
        for y in y0.max(0)..(y0 + size).min(self.h as i64) {
            for x in x0.max(0)..(x0 + size).min(self.w as i64) {
                let i = (y as usize * self.w + x as usize) * 3;
                self.rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }
}

/// Writes `world`'s level to `path`, `scale` pixels per tile.
pub fn write_png(world: &World, path: &Path, scale: u32) -> Result<(), String> {
    let map = world.map();
    let s = scale as usize;
    let mut canvas = Canvas {
        w: map.width() as usize * s,
        h: map.height() as usize * s,
        rgb: Vec::new(),
    };
    canvas.rgb = vec![0; canvas.w * canvas.h * 3];
    for y in 0..map.height() as i32 {
        for x in 0..map.width() as i32 {
            canvas.fill(
                x as i64 * s as i64,
                y as i64 * s as i64,
                s as i64,
                colour(map.get(x, y)),
            );
        }
    }
    let marker = |c: &mut Canvas, pos: Vec2, size: i64, colour: [u8; 3]| {
        let px = pos.x as i64 * s as i64 / venture_sim::SUB as i64;
        let py = pos.y as i64 * s as i64 / venture_sim::SUB as i64;
        c.fill(px - size / 2, py - size / 2, size.max(1), colour);
    };
    let dot = (s as i64 * 2 / 3).max(1);
    for item in world.ground_items() {
        marker(&mut canvas, item.pos, dot, [250, 220, 40]);
    }
    let templates = venture_sim::content::templates(world.config().genre);
    for m in world.monsters() {
        let boss = templates
            .get(m.template as usize)
            .is_some_and(|t| t.is_boss);
        if boss {
            marker(&mut canvas, m.pos, dot * 2, [230, 40, 230]);
        } else {
            marker(&mut canvas, m.pos, dot, [220, 30, 30]);
        }
    }
    let (sx, sy) = world.level().spawn;
    marker(
        &mut canvas,
        Vec2::tile_centre(sx, sy),
        s as i64 * 2,
        [60, 220, 90],
    );
    let (ex, ey) = world.level().exit;
    marker(
        &mut canvas,
        Vec2::tile_centre(ex, ey),
        s as i64 * 2,
        [250, 250, 250],
    );

    let file = File::create(path).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(BufWriter::new(file), canvas.w as u32, canvas.h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&canvas.rgb)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}
