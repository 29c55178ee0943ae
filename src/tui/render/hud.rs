//! The sidebar (HP, mana, level, XP, gold, depth and genre, status effects, spells with
//! their cooldowns, the current target's health), the message log and the bottom line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use venture_play::keys::spell_keys;
use venture_play::names::{seconds, status_name};
use venture_sim::content::spellbook;
use venture_sim::player::{Player, MAX_MANA};
use venture_sim::stats::xp_to_next;
use venture_sim::status::StatusKind;
use venture_sim::World;

use crate::tui::theme;
use venture_play::text::{inert, inert_cut, wrap};
use venture_play::view::{ColorMode, LogKind, ViewState};

/// A bar of `width` cells filled in proportion to `value / max`.
pub fn bar(value: i64, max: i64, width: usize) -> String {
    let max = max.max(1);
    let filled = ((value.clamp(0, max) * width as i64 + max - 1) / max) as usize;
    let filled = if value <= 0 { 0 } else { filled.min(width) };
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn label(mode: ColorMode, text: &str) -> Span<'static> {
    Span::styled(text.to_string(), theme::fg(mode, 245))
}

fn player_lines(
    world: &World,
    p: &Player,
    mode: ColorMode,
    bar_w: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let rate = world.config().tick_rate;
    let stats = p.stats();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            inert_cut(&p.name, 16),
            theme::fg(mode, 226).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("  Lv {}", p.level)),
    ])];
    lines.push(Line::from(vec![
        label(mode, "HP "),
        Span::styled(
            bar(p.hp as i64, stats.max_hp as i64, bar_w),
            theme::fg(mode, 160),
        ),
        Span::raw(format!(" {}/{}", p.hp.max(0), stats.max_hp)),
    ]));
    lines.push(Line::from(vec![
        label(mode, "MP "),
        Span::styled(
            bar(p.mana as i64, MAX_MANA as i64, bar_w),
            theme::fg(mode, 33),
        ),
        Span::raw(format!(" {}/{}", p.mana, MAX_MANA)),
    ]));
    let xp = match xp_to_next(p.level) {
        Some(next) => format!("{}/{} (next in {})", p.xp, next, next.saturating_sub(p.xp)),
        None => format!("{} (max level)", p.xp),
    };
    lines.push(Line::from(vec![label(mode, "XP "), Span::raw(xp)]));
    lines.push(Line::from(vec![
        label(mode, "Gold "),
        Span::styled(p.gold.to_string(), theme::fg(mode, 220)),
    ]));
    lines.push(Line::from(vec![
        label(mode, "Depth "),
        Span::raw(format!("{}  {}", world.depth(), world.config().genre)),
    ]));
    if p.shield > 0 {
        lines.push(Line::from(vec![
            label(mode, "Shield "),
            Span::styled(
                format!("{} ({})", p.shield, seconds(p.shield_ticks, rate)),
                theme::fg(mode, 45),
            ),
        ]));
    }
    if let Some(a) = world
        .allies()
        .iter()
        .find(|a| world.player(a.owner as usize).is_some_and(|o| o.id == p.id))
    {
        lines.push(Line::from(vec![
            label(mode, "Ally "),
            Span::styled(
                format!("fighting for you ({})", seconds(a.ticks_left, rate)),
                theme::fg(mode, 114),
            ),
        ]));
    }
    if !p.alive() {
        lines.push(Line::from(Span::styled(
            format!("DEAD: respawn in {}", seconds(p.respawn_in, rate)),
            theme::fg(mode, 196).add_modifier(Modifier::BOLD),
        )));
    }
    lines.push(Line::from(label(mode, "Effects")));
    if p.statuses.is_empty() {
        lines.push(Line::from(label(mode, " none")));
    }
    for s in &p.statuses {
        let color = match s.kind {
            StatusKind::Burning
            | StatusKind::Poison
            | StatusKind::Weakness
            | StatusKind::Vulnerability => 203,
            _ => 114,
        };
        lines.push(Line::from(Span::styled(
            format!(
                " {} {}",
                status_name(s.kind),
                seconds(s.remaining_ticks, rate)
            ),
            theme::fg(mode, color),
        )));
    }
    lines.push(Line::from(label(mode, "Spells")));
    let genre = world.config().genre;
    for (i, cd) in p.spell_cd.iter().enumerate() {
        let Some(sp) = spellbook(genre, i) else {
            continue;
        };
        let state = if *cd > 0 {
            Span::styled(seconds(*cd, rate), theme::fg(mode, 244))
        } else if p.mana < sp.mana_cost {
            Span::styled("no mana", theme::fg(mode, 244))
        } else {
            Span::styled("ready", theme::fg(mode, 114))
        };
        let number = format!(" {} ", i + 1);
        let cost = format!(" {}mp ", sp.mana_cost);
        // The name gives way on a narrow sidebar, so the cost and the state stay readable.
        let fixed = number.len() + cost.len() + state.content.chars().count();
        let name_w = width.saturating_sub(fixed).clamp(4, 13);
        lines.push(Line::from(vec![
            Span::raw(number),
            Span::raw(inert_cut(&sp.name, name_w)),
            Span::raw(cost),
            state,
        ]));
    }
    lines
}

fn target_lines(world: &World, view: &ViewState, bar_w: usize) -> Vec<Line<'static>> {
    let mode = view.colors;
    let genre = world.config().genre;
    let Some(m) = view
        .target
        .and_then(|id| world.monsters().iter().find(|m| m.id == id))
    else {
        return vec![
            Line::from(label(mode, "Target")),
            Line::from(label(mode, view.no_target)),
        ];
    };
    let tpl = m.template(genre);
    let max = m.max_hp(genre);
    let style = if tpl.is_boss {
        theme::boss(mode)
    } else {
        theme::fg(mode, theme::rarity_color(m.rarity))
    };
    vec![
        Line::from(label(mode, "Target")),
        Line::from(vec![
            Span::styled(format!(" {}", tpl.name), style),
            Span::raw(format!(
                " Lv {}{}",
                m.level,
                if tpl.is_boss { " BOSS" } else { "" }
            )),
        ]),
        Line::from(vec![
            Span::raw(" "),
            Span::styled(bar(m.hp as i64, max as i64, bar_w), theme::fg(mode, 160)),
            Span::raw(format!(" {}/{}", m.hp.max(0), max)),
        ]),
    ]
}

pub fn draw_sidebar(world: &World, view: &ViewState, area: Rect, buf: &mut Buffer) {
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme::fg(view.colors, 240));
    let inner = block.inner(area);
    block.render(area, buf);
    let bar_w = (inner.width as usize).saturating_sub(12).clamp(4, 14);
    let mut lines = match world.player(view.follow) {
        Some(p) => player_lines(world, p, view.colors, bar_w, inner.width as usize),
        None => vec![Line::from("(not in the world)")],
    };
    let target = target_lines(world, view, bar_w);
    // The target goes at the bottom; the middle (effects, spells) gives way on short screens.
    let room = inner.height as usize;
    if lines.len() + target.len() > room {
        lines.truncate(room.saturating_sub(target.len()));
    }
    while lines.len() + target.len() < room {
        lines.push(Line::default());
    }
    lines.extend(target);
    Paragraph::new(lines).render(inner, buf);
}

fn log_style(mode: ColorMode, kind: LogKind) -> Style {
    match kind {
        LogKind::Good => theme::fg(mode, 114),
        LogKind::Bad => theme::fg(mode, 203),
        LogKind::Great => theme::fg(mode, 220).add_modifier(Modifier::BOLD),
        LogKind::Info => theme::fg(mode, 250),
        LogKind::Chat => theme::fg(mode, 159),
    }
}

pub fn draw_log(view: &ViewState, area: Rect, buf: &mut Buffer) {
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme::fg(view.colors, 240));
    let inner = block.inner(area);
    block.render(area, buf);
    let n = inner.height as usize;
    let width = (inner.width as usize).max(1);
    // Long lines (a pinned server key, a chat line) wrap instead of running off the edge;
    // the newest visual lines are the ones shown.
    let mut lines: Vec<Line> = Vec::new();
    for l in view.log.iter().skip(view.log.len().saturating_sub(n)) {
        let style = log_style(view.colors, l.kind);
        for part in wrap(&inert(&l.text), width) {
            lines.push(Line::from(Span::styled(part, style)));
        }
    }
    let skip = lines.len().saturating_sub(n);
    Paragraph::new(lines.split_off(skip)).render(inner, buf);
}

/// The bottom line: the network figures when toggled on, else a notice or the key hints.
pub fn draw_bottom(world: &World, view: &ViewState, area: Rect, buf: &mut Buffer) {
    let mode = view.colors;
    let text = if view.show_net {
        let n = &view.net;
        format!(
            "net: {} | rtt {} | lead {} ticks | rollbacks {:.1}/s | confirmed tick {} | now {} | late inputs {}",
            n.carrier.unwrap_or("-"),
            n.rtt_ms.map_or("-".into(), |r| if r == 0 { "<1 ms".into() } else { format!("{r} ms") }),
            n.lead_ticks,
            n.rollbacks_per_sec,
            n.confirmed_tick,
            world.tick(),
            n.late_inputs
        )
    } else if let Some(notice) = &view.notice {
        inert(notice).into_owned()
    } else if view.spectating {
        let long = "spectating  Tab/PgDn: next player  Shift+Tab/PgUp: previous  c: free camera (arrows/WASD move it)  N: net  Q: quit";
        if long.len() <= area.width as usize {
            long.into()
        } else {
            "spectating  Tab: next player  c: free camera  N: net  Q: quit".into()
        }
    } else {
        // The long form where it fits, else the short one (80 columns and up show it whole).
        let spells = spell_keys();
        let long = format!("?: help  WASD/arrows: move  Space: attack  {spells}: spells  I: inventory  Enter: chat  N: net  Q: quit");
        if long.len() <= area.width as usize {
            long
        } else {
            format!("?: help  WASD: move  Space: attack  {spells}: spells  I: items  Enter: chat  Q: quit")
        }
    };
    Paragraph::new(Line::from(Span::styled(text, theme::fg(mode, 245)))).render(area, buf);
}
