//! `venture-world --balance --png FILE`: the table as a chart. One panel per genre (and
//! one for every genre together), one group of bars per depth: alive at 60 s (green),
//! alive at 300 s (blue), stairs taken (yellow), level cleared (magenta), each from 0 to
//! 100%; a grey line marks 80%. Labels use a built-in 3x5 pixel font.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use super::{Cell, Report};

const SCALE: usize = 2;
const BAR_W: usize = 8;
const BAR_H: usize = 100;
const GAP: usize = 10;
const MARGIN: usize = 24;
const COLOURS: [[u8; 3]; 4] = [
    [60, 200, 90],
    [70, 120, 230],
    [240, 200, 40],
    [210, 70, 210],
];
const LEGEND: [&str; 4] = ["alive 60s", "alive 300s", "stairs", "cleared"];

/// 3x5 glyphs, one row of three bits per entry (most significant bit on the left).
fn glyph(c: char) -> [u8; 5] {
    match c.to_ascii_lowercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'a' => [2, 5, 7, 5, 5],
        'b' => [6, 5, 6, 5, 6],
        'c' => [3, 4, 4, 4, 3],
        'd' => [6, 5, 5, 5, 6],
        'e' => [7, 4, 6, 4, 7],
        'f' => [7, 4, 6, 4, 4],
        'g' => [3, 4, 5, 5, 3],
        'h' => [5, 5, 7, 5, 5],
        'i' => [7, 2, 2, 2, 7],
        'j' => [1, 1, 1, 5, 2],
        'k' => [5, 5, 6, 5, 5],
        'l' => [4, 4, 4, 4, 7],
        'm' => [5, 7, 7, 5, 5],
        'n' => [6, 5, 5, 5, 5],
        'o' => [2, 5, 5, 5, 2],
        'p' => [6, 5, 6, 4, 4],
        'q' => [2, 5, 5, 6, 3],
        'r' => [6, 5, 6, 5, 5],
        's' => [3, 4, 2, 1, 6],
        't' => [7, 2, 2, 2, 2],
        'u' => [5, 5, 5, 5, 7],
        'v' => [5, 5, 5, 5, 2],
        'w' => [5, 5, 7, 7, 5],
        'x' => [5, 5, 2, 5, 5],
        'y' => [5, 5, 2, 2, 2],
        'z' => [7, 1, 2, 4, 7],
        '%' => [5, 1, 2, 4, 5],
        '-' => [0, 0, 7, 0, 0],
        ':' => [0, 2, 0, 2, 0],
        ',' => [0, 0, 0, 2, 4],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        '.' => [0, 0, 0, 0, 2],
        _ => [0; 5],
    }
}

struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            rgb: vec![250; w * h * 3],
        }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: [u8; 3]) {
        for yy in y..(y + h).min(self.h) {
            for xx in x..(x + w).min(self.w) {
                let i = (yy * self.w + xx) * 3;
                self.rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    fn text(&mut self, x: usize, y: usize, s: &str) {
        for (n, ch) in s.chars().enumerate() {
            for (row, bits) in glyph(ch).iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        self.rect(
                            x + (n * 4 + col) * SCALE,
                            y + row * SCALE,
                            SCALE,
                            SCALE,
                            [20, 20, 20],
                        );
                    }
                }
            }
        }
    }
}

fn values(c: &Cell) -> [f64; 4] {
    [c.alive_60s, c.alive_300s, c.reached_stairs, c.cleared]
}

/// Draws `report` into a PNG at `path`.
pub fn write(report: &Report, title: &str, path: &Path) -> Result<(), String> {
    let panels: Vec<(String, Vec<&Cell>)> = {
        let mut names: Vec<String> = Vec::new();
        for c in &report.cells {
            let n = c.genre.map_or("all", |g| g.id()).to_string();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let mut p: Vec<(String, Vec<&Cell>)> = names
            .into_iter()
            .map(|n| {
                let cells = report
                    .cells
                    .iter()
                    .filter(|c| c.genre.map_or("all", |g| g.id()) == n)
                    .collect();
                (n, cells)
            })
            .collect();
        p.push(("all genres".into(), report.overall.iter().collect()));
        p
    };
    let depths = report.overall.len().max(1);
    let group_w = 4 * BAR_W + GAP;
    let panel_w = MARGIN + depths * group_w + GAP;
    let panel_h = BAR_H + 40;
    let w = panel_w * panels.len().min(3) + MARGIN;
    let rows = panels.len().div_ceil(3);
    let h = 60 + rows * panel_h + 20;
    let mut cv = Canvas::new(w, h);
    cv.text(MARGIN, 8, title);
    for (i, label) in LEGEND.iter().enumerate() {
        let x = MARGIN + i * 110;
        cv.rect(x, 30, 10, 10, COLOURS[i]);
        cv.text(x + 14, 30, label);
    }
    for (pi, (name, cells)) in panels.iter().enumerate() {
        let ox = MARGIN + (pi % 3) * panel_w;
        let oy = 60 + (pi / 3) * panel_h;
        cv.text(ox, oy, name);
        let base = oy + 16 + BAR_H;
        cv.rect(ox, base, depths * group_w, 1, [60, 60, 60]);
        cv.rect(
            ox,
            base - BAR_H * 8 / 10,
            depths * group_w,
            1,
            [180, 180, 180],
        );
        for (di, c) in cells.iter().enumerate() {
            let gx = ox + di * group_w;
            for (bi, v) in values(c).iter().enumerate() {
                let bh = (v.clamp(0.0, 1.0) * BAR_H as f64).round() as usize;
                cv.rect(gx + bi * BAR_W, base - bh, BAR_W - 1, bh, COLOURS[bi]);
            }
            cv.text(gx + BAR_W, base + 4, &format!("d{}", c.depth));
        }
    }
    let file = File::create(path).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&cv.rgb)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}
